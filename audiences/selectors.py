"""Reads behind the Audience Sync editor (Pinterest's audiences, page by page, and coverage)
and the Audiences page (our numbers beside Pinterest's).

An ad account can hold thousands of audiences and Pinterest has no name filter,
so the editor's search reads one page (250) per request and asks for the next
one itself; each page is cached briefly, so typing does not refetch what was
just read. Only partners speaks HTTP: every call goes through pinterest_call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Lower

from audiences import analytics
from audiences.models import (
    AudienceStatus,
    AudienceSyncStep,
    BatchOutcome,
    PinterestAudience,
    SyncBatch,
    SyncOperation,
)
from canvas.models import Canvas, StepMetric, Workspace
from canvas.segments import segment_customers, segment_errors
from partners.models import PinterestAdAccount, PinterestConnection
from partners.pinterest import Audience, Page
from partners.services import pinterest_call

PAGE_CACHE_SECONDS = 60
PAGE_SIZE = 250
# Pinterest shows an audience's size, and serves ads to it, from about 100 matched people.
PINTEREST_MINIMUM_AUDIENCE = 100


def _page_key(connection: PinterestConnection, ad_account_id: str, bookmark: str | None) -> str:
    # The token version is part of the key: a reconnect may see other audiences.
    return f"audiences-page:{connection.pk}:{connection.token_version}:{ad_account_id}:{bookmark or ''}"


def pinterest_audiences_page(
    *, connection: PinterestConnection, ad_account_id: str, bookmark: str | None = None
) -> Page[Audience]:
    """One page of an ad account's audiences, from a short-lived cache or from Pinterest."""
    key = _page_key(connection, ad_account_id, bookmark)
    page = cache.get(key)
    if page is None:
        page = pinterest_call(
            connection=connection,
            fn=lambda client: client.get_audiences_page(
                ad_account_id=ad_account_id, bookmark=bookmark, page_size=PAGE_SIZE
            ),
        )
        cache.set(key, page, PAGE_CACHE_SECONDS)
    return page


def pinterest_audiences_all(
    *, connection: PinterestConnection, ad_account_id: str
) -> Iterator[Audience]:
    """Every audience of the ad account, page after page (cached like the search)."""
    bookmark = None
    while True:
        page = pinterest_audiences_page(
            connection=connection, ad_account_id=ad_account_id, bookmark=bookmark
        )
        yield from page.items
        if not page.bookmark:
            return
        bookmark = page.bookmark


def _matches(name: str, query: str) -> bool:
    return query.casefold() in name.casefold()


@dataclass(frozen=True)
class AudienceMatches:
    """What one search request found: matches on one page of Pinterest, and where to go on."""

    pinterest: list[Audience]
    next_bookmark: str | None


def pinterest_audiences_search(
    *, connection: PinterestConnection, ad_account_id: str, query: str, bookmark: str | None
) -> AudienceMatches:
    """The audiences of one page whose name contains the query, and the next page's bookmark."""
    page = pinterest_audiences_page(
        connection=connection, ad_account_id=ad_account_id, bookmark=bookmark
    )
    return AudienceMatches(
        pinterest=[a for a in page.items if _matches(a.name, query)], next_bookmark=page.bookmark
    )


def drafts_matching(*, ad_account: PinterestAdAccount, query: str) -> list[PinterestAudience]:
    """This workspace's drafted audiences of the ad account whose name contains the query."""
    drafts = PinterestAudience.objects.filter(ad_account=ad_account, status=AudienceStatus.DRAFT)
    return [d for d in drafts.order_by("name") if _matches(d.name, query)]


def pinterest_audience_named(
    *, connection: PinterestConnection, ad_account_id: str, name: str
) -> Audience | None:
    """The ad account's audience with this name (ignoring case), if Pinterest has one."""
    wanted = name.strip().casefold()
    for audience in pinterest_audiences_all(connection=connection, ad_account_id=ad_account_id):
        if audience.name.strip().casefold() == wanted:
            return audience
    return None


@dataclass(frozen=True)
class Coverage:
    """How many of the entry segment's customers could be synced with the chosen fields."""

    customers: int
    with_email: int
    with_maid: int
    usable: int
    segment_errors: list[str]

    @property
    def not_synced(self) -> int:
        return self.customers - self.usable

    @property
    def reaches_minimum(self) -> bool:
        return self.usable >= PINTEREST_MINIMUM_AUDIENCE


def _has_email() -> Q:
    return ~Q(email="")


def _has_maid() -> Q:
    return ~Q(ios_idfa="") | ~Q(android_gaid="")


def coverage_preview(*, canvas: Canvas, match_email: bool, match_maid: bool) -> Coverage:
    """Counts for the canvas's entry segment, in one aggregate query.

    Stored identifiers are already normalized and validated when they come in
    (imports and the API refuse malformed ones and store the all-zero MAID as
    none), so a non-empty column is a usable value.
    """
    errors = segment_errors(canvas.entry_segment)
    if errors:
        return Coverage(0, 0, 0, 0, errors)
    customers = segment_customers(workspace=canvas.workspace, filters=canvas.entry_segment)
    usable: Q | None = _has_email() if match_email else None
    if match_maid:
        usable = _has_maid() if usable is None else usable | _has_maid()
    counts = customers.aggregate(
        customers=Count("pk"),
        with_email=Count("pk", filter=_has_email()),
        with_maid=Count("pk", filter=_has_maid()),
        # No field chosen: nobody is usable (counted as such, not queried).
        usable=Count("pk", filter=usable) if usable is not None else Value(0),
    )
    return Coverage(segment_errors=[], **counts)


# The Audiences page


@dataclass
class AudienceOverview:
    """One audience of the workspace with our numbers and Pinterest's, compared like with like.

    Users are customers (the step counters); records are identifiers (one customer
    sends one to three: email, IDFA, GAID), which is what Pinterest counts.
    """

    audience: PinterestAudience
    steps: list[AudienceSyncStep]
    users_added: int = 0  # Users Synced of its Add steps
    users_removed: int = 0  # Users Synced of its Remove steps
    users_pending: int = 0
    users_errored: int = 0
    # Records Pinterest accepted from us (the ledger), up to when its counters were read…
    records_added: int = 0
    records_removed: int = 0
    # …and since then.
    records_added_since: int = 0
    records_removed_since: int = 0


def audiences_overview(*, workspace: Workspace) -> list[AudienceOverview]:
    """Every audience of the workspace, the steps using it, our totals and Pinterest's.

    A handful of queries whatever the number of sync items: our users come from the
    per-hour step counters, our records from the ledger (one row per request of up to
    1,900 records), Pinterest's from the audience row (audiences/counters.py).
    """
    rows = {
        audience.pk: AudienceOverview(audience=audience, steps=[])
        for audience in PinterestAudience.objects.filter(workspace=workspace)
        .select_related("ad_account")
        .order_by(Lower("name"), "pk")
    }
    if not rows:
        return []
    uses = (
        AudienceSyncStep.objects.filter(audience__in=list(rows), step__canvas__workspace=workspace)
        .select_related("step__canvas__workspace")  # the canvas's link names its workspace
        .order_by(Lower("step__canvas__name"), "step__canvas_id", "step__position")
    )
    step_of: dict[int, AudienceSyncStep] = {}
    for use in uses:
        assert use.audience_id is not None
        rows[use.audience_id].steps.append(use)
        step_of[use.step_id] = use
    counters = (
        StepMetric.objects.filter(
            step_id__in=step_of,
            metric__in=(analytics.SYNCED, analytics.PENDING, analytics.ERRORED),
        )
        .values_list("step_id", "metric")
        .annotate(total=Sum("count"))
    )
    for step_id, metric, total in counters:
        use = step_of[step_id]
        row = rows[use.audience_id]  # type: ignore[index]
        if metric == analytics.SYNCED:
            if use.operation == SyncOperation.ADD:
                row.users_added += total
            else:
                row.users_removed += total
        elif metric == analytics.PENDING:
            row.users_pending += total
        else:
            row.users_errored += total
    read_by = Q(finished_at__lte=F("audience__counters_read_at"))
    ledger = (
        SyncBatch.objects.filter(audience__in=list(rows), outcome=BatchOutcome.SYNCED)
        .values_list("audience_id", "operation")
        .annotate(
            records=Sum("record_count"),
            by_read=Coalesce(Sum("record_count", filter=read_by), 0),
        )
        .order_by()
    )
    for audience_id, operation, records, by_read in ledger:
        row = rows[audience_id]
        read = by_read if row.audience.counters_read_at is not None else records
        if operation == SyncOperation.ADD:
            row.records_added, row.records_added_since = read, records - read
        else:
            row.records_removed, row.records_removed_since = read, records - read
    return list(rows.values())
