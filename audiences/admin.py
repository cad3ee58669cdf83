"""The operators' view of Audience Sync: the ledger, the sync items, audiences and steps.

Built for a million sync items: every list joins what it shows (list_select_related),
never counts the whole table twice (show_full_result_count), never computes facet
counts, sorts only by id, and its filters by step, canvas, audience or connection show
the latest few and take any other id typed in, instead of a dropdown of every row.
Items hold SHA-256 hashes only, and even those are shown cut short. The one write is
"Retry now" (audiences.services.sync_items_retry); everything else is read-only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from audiences.models import (
    AudienceSyncStep,
    PinterestAudience,
    SyncBatch,
    SyncItem,
)
from audiences.services import sync_items_retry
from canvas.models import Canvas
from partners.models import PinterestConnection

# Only this many of the latest steps, canvases, audiences or connections are offered as
# links in a filter; any other is typed in by id.
FILTER_CHOICES = 12
# The longest id a filter takes (Pinterest's and ours fit in 18 digits).
MAX_ID_DIGITS = 18


def short_hash(value: str) -> str:
    """A SHA-256 hex cut to its first and last characters: enough to compare, not to look up."""
    return f"{value[:8]}…{value[-4:]}" if value else "—"


class IdFilter(admin.SimpleListFilter):
    """Filter on one related row: the latest few as links, any other typed in by id.

    A RelatedFieldListFilter would list every step (or canvas) of every workspace on
    every page load; this reads FILTER_CHOICES rows, plus the one chosen.
    """

    template = "admin/audiences/id_filter.html"
    # The lookup the id filters on, e.g. "step_id" or "audience__ad_account__connection_id".
    lookup: str

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        # The rest of the query string, kept by the "type an id" form of the template.
        self.kept_params = [
            (name, value)
            for name, values in request.GET.lists()
            if name not in (self.parameter_name, "p")
            for value in values
        ]

    def chosen_id(self) -> int | None:
        value = self.value()
        if value and value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS:
            return int(value)
        return None

    def rows(self) -> QuerySet:
        """The rows offered, newest first (sliced by lookups)."""
        raise NotImplementedError

    def label(self, row: Model) -> str:
        return str(row)

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        rows = list(self.rows().order_by("-pk")[:FILTER_CHOICES])
        chosen = self.chosen_id()
        if chosen is not None and chosen not in {row.pk for row in rows}:
            rows = list(self.rows().filter(pk=chosen)) + rows
        return [(str(row.pk), self.label(row)) for row in rows]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        chosen = self.chosen_id()
        if chosen is None:
            return queryset.none()  # not an id: nothing matches (never a 500)
        return queryset.filter(**{self.lookup: chosen})


class StepFilter(IdFilter):
    title = "Audience Sync step"
    parameter_name = "step"
    lookup = "step_id"

    def rows(self) -> QuerySet:
        return AudienceSyncStep.objects.select_related("step__canvas")

    def label(self, row: Model) -> str:
        assert isinstance(row, AudienceSyncStep)
        return f"{row.step.canvas.name} › {row.step} (#{row.pk})"


class CanvasFilter(IdFilter):
    title = "canvas"
    parameter_name = "canvas"
    lookup = "step__canvas_id"

    def rows(self) -> QuerySet:
        return Canvas.objects.filter(steps__kind="audience_sync").distinct()

    def label(self, row: Model) -> str:
        return f"{row} (#{row.pk})"


class AudienceFilter(IdFilter):
    title = "audience"
    parameter_name = "audience"
    lookup = "audience_id"

    def rows(self) -> QuerySet:
        return PinterestAudience.objects.all()

    def label(self, row: Model) -> str:
        return f"{row} (#{row.pk})"


class ConnectionFilter(IdFilter):
    """The Pinterest connection (one per workspace) the rows went or go through."""

    title = "connection"
    parameter_name = "connection"
    lookup = "audience__ad_account__connection_id"

    def rows(self) -> QuerySet:
        return PinterestConnection.objects.select_related("workspace")

    def label(self, row: Model) -> str:
        assert isinstance(row, PinterestConnection)
        return f"{row.workspace.name} (#{row.pk})"


class BatchConnectionFilter(ConnectionFilter):
    lookup = "connection_id"


class HttpStatusFilter(admin.SimpleListFilter):
    """Pinterest's answer, by the statuses that mean different things (README, "Errors")."""

    title = "HTTP status"
    parameter_name = "http_status"
    _CHOICES: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {
        "200": ("2xx accepted", {"http_status__gte": 200, "http_status__lt": 300}),
        "400": ("400 bad request", {"http_status": 400}),
        "401": ("401 unauthorized", {"http_status": 401}),
        "403": ("403 forbidden", {"http_status": 403}),
        "404": ("404 not found", {"http_status": 404}),
        "429": ("429 rate limited", {"http_status": 429}),
        "5xx": ("5xx server error", {"http_status__gte": 500}),
        "none": ("No answer (timeout, connection)", {"http_status__isnull": True}),
    }

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self._CHOICES.items()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value not in self._CHOICES:
            return queryset.none()
        lookups = self._CHOICES[value][1]
        if value == "none":  # an unfinished request has no status yet either
            return queryset.filter(finished_at__isnull=False, **lookups)
        return queryset.filter(**lookups)


class OperatorAdmin(admin.ModelAdmin):
    """Read-only, and cheap on big tables: no facet counts, no full count, id order only."""

    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False
    sortable_by = ("id",)
    ordering = ("-id",)
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(PinterestAudience)
class PinterestAudienceAdmin(OperatorAdmin):
    list_display = (
        "id",
        "name",
        "workspace",
        "ad_account",
        "status",
        "missing_since",
        "list_uploaded",
        "list_removed",
        "audience_size",
        "counters_read_at",
    )
    list_select_related = ("workspace", "ad_account")
    list_filter = (
        "status",
        ("missing_since", admin.EmptyFieldListFilter),
        ("counters_read_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("name", "=pinterest_audience_id", "=customer_list_id")
    readonly_fields = [field.name for field in PinterestAudience._meta.fields]


@admin.register(AudienceSyncStep)
class AudienceSyncStepAdmin(OperatorAdmin):
    list_display = ("step_id", "canvas", "step", "audience", "operation", "match_fields_shown")
    list_select_related = ("step__canvas__workspace", "audience")
    list_filter = ("operation",)
    search_fields = ("step__canvas__name", "audience__name")
    readonly_fields = [field.name for field in AudienceSyncStep._meta.fields]
    ordering = ("-step_id",)
    sortable_by = ("step_id",)

    @admin.display(description="canvas")
    def canvas(self, obj: AudienceSyncStep) -> str:
        return f"{obj.step.canvas} ({obj.step.canvas.workspace})"

    @admin.display(description="match fields")
    def match_fields_shown(self, obj: AudienceSyncStep) -> str:
        return ", ".join(obj.match_fields) or "—"


@admin.register(SyncBatch)
class SyncBatchAdmin(OperatorAdmin):
    """The ledger: one row per request to Pinterest, as Pinterest answered it."""

    list_display = (
        "id",
        "started_at",
        "connection",
        "audience",
        "operation",
        "created_list",
        "record_count",
        "item_count",
        "attempt",
        "http_status",
        "pinterest_code",
        "outcome",
        "message_short",
        "request_id",
    )
    list_select_related = ("connection__workspace", "audience")
    list_filter = (
        BatchConnectionFilter,
        "outcome",
        HttpStatusFilter,
        "operation",
        AudienceFilter,
    )
    search_fields = ("=request_id", "=customer_list_id")
    readonly_fields = [field.name for field in SyncBatch._meta.fields]

    @admin.display(description="message")
    def message_short(self, obj: SyncBatch) -> str:
        return obj.message[:80]


@admin.register(SyncItem)
class SyncItemAdmin(OperatorAdmin):
    """One customer × step; errored ones can be retried now."""

    list_display = (
        "id",
        "state",
        "operation",
        "step_shown",
        "audience",
        "customer_id",
        "hashes_shown",
        "attempts",
        "entered_at",
        "deadline_at",
        "next_attempt_at",
        "error_short",
    )
    list_select_related = ("step__canvas", "audience")
    list_filter = (
        "state",
        "operation",
        StepFilter,
        CanvasFilter,
        AudienceFilter,
        ConnectionFilter,
    )
    # A customer's id (shown on their page): a LIKE over a million rows is not a search.
    search_fields = ("customer_id",)
    search_help_text = "A customer's id."
    actions = ("retry_now",)
    fields = (
        "state",
        "operation",
        "step_shown",
        "audience",
        "customer_id",
        "email_hash_shown",
        "idfa_hash_shown",
        "gaid_hash_shown",
        "entered_at",
        "deadline_at",
        "next_attempt_at",
        "attempts",
        "last_error",
        "finished_at",
        "claim",
        "lease_until",
        "batch",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isascii() and term.isdigit() and len(term) <= MAX_ID_DIGITS:
            return queryset.filter(customer_id=int(term)), False
        return queryset.none(), False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The list is read-only (has_change_permission is False); retrying is a change.
        return request.user.has_perm("audiences.change_syncitem")

    @admin.action(description="Retry now (errored items only)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[SyncItem]) -> None:
        retried = sync_items_retry(items=queryset)
        if retried:
            self.message_user(
                request,
                f"{retried} errored sync item{'s are' if retried != 1 else ' is'} pending again, "
                "due now, with 13 hours to reach Pinterest.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                "Nothing to retry: none of these items is errored (any more), or they are "
                "additions of erased customers.",
                messages.WARNING,
            )

    @admin.display(description="step")
    def step_shown(self, obj: SyncItem) -> str:
        if obj.step is None:
            return "— (erasure)"
        return f"{obj.step.canvas.name} › {obj.step} (#{obj.step_id})"

    @admin.display(description="hashes (SHA-256, cut)")
    def hashes_shown(self, obj: SyncItem) -> str:
        return " ".join(short_hash(h) for h in obj.hashes) or "—"

    @admin.display(description="email hash")
    def email_hash_shown(self, obj: SyncItem) -> str:
        return short_hash(obj.email_hash)

    @admin.display(description="IDFA hash")
    def idfa_hash_shown(self, obj: SyncItem) -> str:
        return short_hash(obj.idfa_hash)

    @admin.display(description="GAID hash")
    def gaid_hash_shown(self, obj: SyncItem) -> str:
        return short_hash(obj.gaid_hash)

    @admin.display(description="last error")
    def error_short(self, obj: SyncItem) -> str:
        return obj.last_error[:80]
