"""Customers: the workspace's end users, one customer's page, and CSV imports."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from canvas.access import admin_required
from canvas.forms import CustomerImportForm
from canvas.models import Customer, Enrollment, EnrollmentState, ImportStatus
from canvas.services.customers import customers_delete
from canvas.services.imports import (
    TEMPLATE_CSV,
    CustomerFileError,
    customer_import_error_report,
    customer_import_upload,
)
from canvas.steps.registry import all_kinds, get_kind
from canvas.tables import CUSTOMERS_PER_PAGE, CustomerTable, keyset_page

RECENT_IMPORTS = 10
RECENT_IMPORTS_LINKED = 3
ERRORS_SHOWN = 100
ENROLLMENTS_SHOWN = 100


def _id_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    # ASCII digits that fit a 64-bit id; anything else is ignored, not a 500.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def _matching(customers, search: str):
    # External ids (ignoring case: SQLite's LIKE does, PostgreSQL's would not) and emails
    # (stored lowercased) by prefix; an exact value is its own prefix. The page stops
    # at 51 matches found walking the (workspace, id) index.
    return customers.filter(
        Q(external_id__istartswith=search) | Q(email__startswith=search.lower())
    )


def customers(request):
    """Customers: search and page through the workspace's customers, newest first."""
    search = request.GET.get("q", "").strip()
    all_customers = Customer.objects.filter(workspace=request.workspace)
    page = keyset_page(
        _matching(all_customers, search) if search else all_customers,
        after=_id_param(request, "after"),
        before=_id_param(request, "before"),
        per_page=CUSTOMERS_PER_PAGE,
    )
    context = {
        "search": search,
        "page": page,
        # Counted on the first page only: pages further on are read by id, never counted.
        "total": all_customers.count() if page.newer_before is None else None,
        "recent_imports": request.workspace.customer_imports.all()[:RECENT_IMPORTS_LINKED],
        "table": CustomerTable(page.rows, workspace_slug=request.workspace.slug),
        # Only asked when the page is empty, and cheap then: EXISTS, not COUNT.
        "has_customers": bool(page.rows) or all_customers.exists(),
        "running_import": request.workspace.customer_imports.filter(
            status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]
        ).first(),
    }
    return render(request, "canvas/customers/list.html", context)


def _attribute_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(_attribute_text(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def customer_detail(request, customer_id: int):
    """One customer: identifiers, attributes and the canvases they entered."""
    customer = get_object_or_404(
        Customer.objects.select_related("last_import"), workspace=request.workspace, pk=customer_id
    )
    enrollments = list(
        Enrollment.objects.filter(customer=customer)
        .select_related("canvas__workspace", "step")
        .order_by("-entered_at", "-id")[:ENROLLMENTS_SHOWN]
    )
    for enrollment in enrollments:
        kind = get_kind(enrollment.step.kind)
        enrollment.step_kind_label = kind.label if kind else enrollment.step.kind
    context = {
        "customer": customer,
        "attributes": [(k, _attribute_text(v)) for k, v in sorted(customer.attributes.items())],
        "enrollments": enrollments,
        "active_state": EnrollmentState.ACTIVE,
        # Sections step kinds add (the Audience Sync history, for one).
        "sections": [s for kind in all_kinds() if (s := kind.customer_section(customer))],
    }
    return render(request, "canvas/customers/detail.html", context)


@admin_required
@require_POST
def customer_delete(request, customer_id: int):
    """Erase one customer (a data-erasure request), like the API's users/delete."""
    customer = get_object_or_404(Customer, workspace=request.workspace, pk=customer_id)
    customers_delete(workspace=request.workspace, customer_ids=[customer.pk])
    messages.success(request, f"Customer {customer.external_id} is erased.")
    return redirect("canvas:customers", workspace=request.workspace.slug)


@require_http_methods(["GET", "POST"])
def customer_import(request):
    """Import customers: upload a CSV, then follow its progress."""
    form = CustomerImportForm()
    status = 200
    if request.method == "POST":
        form = CustomerImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = customer_import_upload(
                    workspace=request.workspace,
                    created_by=request.user,
                    upload=form.cleaned_data["file"],
                )
            except CustomerFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect(
                    "canvas:customer_import_detail",
                    workspace=request.workspace.slug,
                    import_id=job.pk,
                )
        status = 400
    context = {
        "form": form,
        "template_csv": TEMPLATE_CSV,
        "max_size": settings.CUSTOMER_IMPORT_MAX_BYTES,
        "imports": request.workspace.customer_imports.select_related("created_by")[:RECENT_IMPORTS],
    }
    return render(request, "canvas/customers/import.html", context, status=status)


def customer_import_template(request):
    """A CSV to fill in: the header with every standard column, and two example rows."""
    response = HttpResponse(TEMPLATE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="pinsync-customers-template.csv"'
    return response


def customer_import_detail(request, import_id: int):
    """An import's progress; htmx polls the progress card until the import has finished."""
    job = get_object_or_404(
        request.workspace.customer_imports.select_related("created_by"), pk=import_id
    )
    context = {"job": job, "row_errors": job.row_errors.all()[:ERRORS_SHOWN]}
    if request.htmx:
        return render(request, "canvas/customers/_import_progress.html", context)
    return render(request, "canvas/customers/import_detail.html", context)


def customer_import_errors(request, import_id: int):
    """The skipped rows of an import, as a CSV download."""
    job = get_object_or_404(request.workspace.customer_imports, pk=import_id)
    response = StreamingHttpResponse(
        customer_import_error_report(customer_import=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="customer-import-{job.pk}-errors.csv"'
    return response
