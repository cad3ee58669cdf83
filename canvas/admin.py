from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from canvas import metrics
from canvas.masking import mask_device_id, mask_email
from canvas.models import (
    ApiKey,
    Canvas,
    Customer,
    CustomerImport,
    CustomerImportRowError,
    Enrollment,
    EnrollmentState,
    Invitation,
    Membership,
    Step,
    StepMetric,
    User,
    Workspace,
)
from canvas.steps.registry import get_kind


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_by", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "workspace__name"]
    autocomplete_fields = ["user", "workspace"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "workspace",
        "role",
        "invited_by",
        "created_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "workspace__name"]
    # The token is the secret of the link: operators never need to see it.
    exclude = ["token"]
    readonly_fields = ["accepted_at", "accepted_by", "invited_by"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown by name, prefix and hash only; the raw key is never stored."""

    list_display = ["name", "workspace", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix", "workspace__name"]
    readonly_fields = ["prefix", "key_hash", "created_by", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        # Keys are created in the product, where the raw value can be shown once.
        return False


class CustomerImportRowErrorInline(admin.TabularInline):
    model = CustomerImportRowError
    fields = ["line", "external_id", "field", "reason"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        # An admin inline cannot be sliced; showing the first rows is enough to diagnose.
        ids = super().get_queryset(request).order_by("line").values_list("pk", flat=True)[:100]
        return super().get_queryset(request).filter(pk__in=list(ids))


@admin.register(CustomerImport)
class CustomerImportAdmin(admin.ModelAdmin):
    """Read-only: imports are started from the Customers page or `manage.py import_customers`."""

    list_display = [
        "file_name",
        "workspace",
        "status",
        "total_rows",
        "processed_rows",
        "created_count",
        "updated_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["file_name", "workspace__name"]
    inlines = [CustomerImportRowErrorInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- Journeys: what an operator investigates ---------------------------------------
# Read-only: canvases change in the builder, customers through the API and imports,
# and counters only with the items they count (editing any would break Entered =
# Proceeded + Exited, or skip erasure's removal from Pinterest). Cheap on millions of
# rows: no facet counts, no unfiltered count, id order only (the primary key).


class OperatorAdmin(admin.ModelAdmin):
    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False
    sortable_by = ("id",)
    ordering = ("-id",)
    list_per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _digits(term: str) -> int | None:
    term = term.strip()
    return int(term) if term.isascii() and term.isdigit() and len(term) <= 18 else None


def counters_text(step: Step, totals: dict[str, int]) -> str:
    """The step's all-time counters under the labels its card shows."""
    kind = get_kind(step.kind)
    shown = kind.metrics if kind is not None else [(name, name) for name in sorted(totals)]
    return " · ".join(f"{label} {totals.get(name, 0):,}" for name, label in shown)


def _changelist(model: str, **query: object) -> str:
    return f"{reverse(f'admin:canvas_{model}_changelist')}?{urlencode(query)}"


class StepInline(admin.TabularInline):
    model = Step
    fields = readonly_fields = ("position", "kind", "name", "counters", "link")
    ordering = ("position", "id")
    extra = 0
    max_num = 0
    can_delete = False

    @admin.display(description="counters")
    def counters(self, step: Step) -> str:
        return counters_text(step, metrics.step_totals(step_ids=[step.pk])[step.pk])

    @admin.display(description="")
    def link(self, step: Step) -> str:
        url = reverse("admin:canvas_step_change", args=[step.pk])
        return format_html('<a href="{}">Hour by hour</a>', url)


@admin.register(Canvas)
class CanvasAdmin(OperatorAdmin):
    list_display = (
        "id",
        "name",
        "workspace",
        "status",
        "entry_type",
        "launched_at",
        "stopped_at",
        "entry_completed_at",
    )
    list_select_related = ("workspace",)
    list_filter = ("status", "entry_type")
    search_fields = ("name",)
    inlines = [StepInline]
    readonly_fields = ("enrollments",)

    def get_fields(self, request, obj=None):
        return [f.name for f in Canvas._meta.fields if f.name != "id"] + ["enrollments"]

    @admin.display(description="enrollments")
    def enrollments(self, canvas: Canvas) -> str:
        return format_html(
            '<a href="{}">Customers in the canvas</a> · <a href="{}">every enrollment</a>',
            _changelist("enrollment", canvas=canvas.pk, state=EnrollmentState.ACTIVE),
            _changelist("enrollment", canvas=canvas.pk),
        )


class StepMetricInline(admin.TabularInline):
    model = StepMetric
    fields = readonly_fields = ("hour", "metric", "count")
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "counters, latest hours first"

    def get_queryset(self, request):
        # An inline cannot be sliced: the latest rows are enough to see when it moved.
        rows = super().get_queryset(request).order_by("-hour", "metric")
        ids = list(rows.values_list("pk", flat=True)[:200])
        return super().get_queryset(request).filter(pk__in=ids).order_by("-hour", "metric")


@admin.register(Step)
class StepAdmin(OperatorAdmin):
    list_display = ("id", "canvas_shown", "position", "kind", "name", "counters")
    list_select_related = ("canvas__workspace",)
    list_filter = ("kind",)
    search_fields = ("canvas__name", "name")
    fields = ("canvas", "position", "kind", "name", "config", "counters", "enrollments")
    readonly_fields = fields
    inlines = [StepMetricInline]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The page's counters in one query, not one per row.
        steps = list(changelist.result_list)
        totals = metrics.step_totals(step_ids=[step.pk for step in steps])
        for step in steps:
            step.totals = totals[step.pk]
        return changelist

    @admin.display(description="canvas")
    def canvas_shown(self, step: Step) -> str:
        return f"{step.canvas.name} ({step.canvas.workspace})"

    @admin.display(description="counters (all time)")
    def counters(self, step: Step) -> str:
        totals = getattr(step, "totals", None)
        if totals is None:
            totals = metrics.step_totals(step_ids=[step.pk])[step.pk]
        return counters_text(step, totals)

    @admin.display(description="enrollments")
    def enrollments(self, step: Step) -> str:
        url = _changelist("enrollment", step=step.pk, state=EnrollmentState.ACTIVE)
        return format_html('<a href="{}">Customers at this step</a>', url)


@admin.register(Enrollment)
class EnrollmentAdmin(OperatorAdmin):
    """One customer's trip; filter one canvas with ?canvas=<id> (links on the canvas page)."""

    list_display = (
        "id",
        "canvas",
        "step_shown",
        "customer_link",
        "state",
        "waiting",
        "due_at",
        "entered_at",
        "exited_at",
    )
    list_select_related = ("canvas", "step")
    list_filter = ("state", "waiting")
    search_fields = ("customer_id",)
    search_help_text = "A customer's id."
    fields = readonly_fields = (
        "canvas",
        "step",
        "customer_link",
        "state",
        "waiting",
        "due_at",
        "entered_at",
        "exited_at",
    )

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        customer_id = _digits(search_term)
        if customer_id is None:
            return queryset.none(), False
        return queryset.filter(customer_id=customer_id), False

    @admin.display(description="step")
    def step_shown(self, enrollment: Enrollment) -> str:
        return f"{enrollment.step} (#{enrollment.step_id})"

    @admin.display(description="customer")
    def customer_link(self, enrollment: Enrollment) -> str:
        url = reverse("admin:canvas_customer_change", args=[enrollment.customer_id])
        return format_html('<a href="{}">#{}</a>', url, enrollment.customer_id)


@admin.register(Customer)
class CustomerAdmin(OperatorAdmin):
    """Identifiers masked: operators find a customer by id or external id, never by email."""

    list_display = (
        "id",
        "workspace",
        "external_id",
        "email_masked",
        "idfa_masked",
        "gaid_masked",
        "ads_tracking_enabled",
        "created_at",
    )
    list_select_related = ("workspace",)
    list_filter = ("ads_tracking_enabled",)
    search_fields = ("=external_id",)
    search_help_text = "A customer's id or external id (exact)."
    fields = readonly_fields = (
        "workspace",
        "external_id",
        "email_masked",
        "idfa_masked",
        "gaid_masked",
        "ads_tracking_enabled",
        "attribute_names",
        "created_at",
        "updated_at",
        "enrollments",
    )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        by_external_id = Q(external_id=term)
        customer_id = _digits(term)
        return queryset.filter(
            by_external_id | Q(pk=customer_id) if customer_id else by_external_id
        ), False

    @admin.display(description="email")
    def email_masked(self, customer: Customer) -> str:
        return mask_email(customer.email)

    @admin.display(description="iOS IDFA")
    def idfa_masked(self, customer: Customer) -> str:
        return mask_device_id(customer.ios_idfa)

    @admin.display(description="Android GAID")
    def gaid_masked(self, customer: Customer) -> str:
        return mask_device_id(customer.android_gaid)

    @admin.display(description="attributes (names only)")
    def attribute_names(self, customer: Customer) -> str:
        # Free-form: their values may hold more personal data than the identifiers.
        names = customer.attributes if isinstance(customer.attributes, dict) else {}
        return ", ".join(sorted(names)) or "—"

    @admin.display(description="enrollments")
    def enrollments(self, customer: Customer) -> str:
        url = _changelist("enrollment", customer=customer.pk)
        return format_html('<a href="{}">Their canvases</a>', url)
