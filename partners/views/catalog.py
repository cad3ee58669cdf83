from django.shortcuts import render


def technology_partners(request):
    """Partner Integrations › Technology Partners: the partners a workspace can connect."""
    return render(request, "partners/technology_partners.html")
