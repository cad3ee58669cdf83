"""Pages of the navigation whose full capability arrives in later work."""

from django.shortcuts import render


def canvas_list(request):
    """Canvas: the journeys of this workspace."""
    return render(request, "canvas/canvas_list.html")


def customers(request):
    """Customers: the brand's end users in this workspace."""
    return render(request, "canvas/customers.html")
