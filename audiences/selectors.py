"""Reads behind the Audience Sync editor: Pinterest's audiences, page by page, and coverage.

An ad account can hold thousands of audiences and Pinterest has no name filter,
so the editor's search reads one page (250) per request and asks for the next
one itself; each page is cached briefly, so typing does not refetch what was
just read. Only partners speaks HTTP: every call goes through pinterest_call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q, Value

from audiences.models import AudienceStatus, PinterestAudience
from canvas.models import Canvas
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
