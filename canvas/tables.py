"""django-tables2 tables of the core app, and the keyset paging they use."""

from dataclasses import dataclass

import django_tables2 as tables
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from canvas.models import Canvas, Customer

CUSTOMERS_PER_PAGE = 50


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, newest first, with the ids that lead to its neighbours."""

    rows: list
    newer_before: int | None  # ?before= for the page of newer rows, None on the first page
    older_after: int | None  # ?after= for the page of older rows, None on the last page


def keyset_page(
    queryset: QuerySet, *, after: int | None, before: int | None, per_page: int
) -> KeysetPage:
    """A page of the queryset by descending id: the rows older than `after` or newer than `before`.

    Keyset paging, not page numbers: tables2's LazyPaginator avoids COUNT(*) but still
    uses OFFSET, which reads and throws away every earlier row, so page 10,000 of a
    million customers would scan half a million. `id < after ORDER BY id DESC LIMIT n`
    walks the (workspace, id) index straight to the page, at any depth.
    """
    if before is not None:
        rows = list(queryset.filter(pk__gt=before).order_by("pk")[: per_page + 1])
        if len(rows) > per_page:
            rows = rows[:per_page][::-1]
            return KeysetPage(rows, newer_before=rows[0].pk, older_after=rows[-1].pk)
        # Back at the newest rows: show the first page as it is now.
        after = None
    if after is not None:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset.order_by("-pk")[: per_page + 1])
    older = len(rows) > per_page
    rows = rows[:per_page]
    return KeysetPage(
        rows,
        newer_before=rows[0].pk if after is not None and rows else None,
        older_after=rows[-1].pk if older else None,
    )


def table_paginate(table: tables.Table, *, page: str, per_page: int) -> None:
    """Paginate a table on a ?page= value from the address bar, which may be anything.

    Garbage, zero or negative numbers show the first page and numbers past the end
    the last: a stale or hand-edited link still shows rows, never a 500 or a 404.
    """
    table.paginate(page=1, per_page=per_page)
    last = table.paginator.num_pages
    digits = page.isascii() and page.isdigit()  # "-1" and "abc" are not
    number = (min(int(page), last) if len(page) <= 9 else last) if digits else 1
    if number > 1:
        table.paginate(page=number, per_page=per_page)


class TickColumn(tables.Column):
    """Whether the customer has this value, without showing it."""

    def render(self, value):
        return mark_safe('<span class="tick" title="Yes">✓</span>')  # noqa: S308 - a constant


class CustomerTable(tables.Table):
    external_id = tables.Column(verbose_name="External ID")
    ios_idfa = TickColumn(verbose_name="IDFA", attrs={"td": {"class": "center"}})
    android_gaid = TickColumn(verbose_name="GAID", attrs={"td": {"class": "center"}})
    ads_tracking_enabled = tables.TemplateColumn(
        verbose_name="Ads tracking", template_name="canvas/customers/_tracking_badge.html"
    )
    updated_at = tables.DateTimeColumn(verbose_name="Updated", format="M j, Y H:i")

    class Meta:
        model = Customer
        fields = (
            "external_id",
            "email",
            "ios_idfa",
            "android_gaid",
            "ads_tracking_enabled",
            "updated_at",
        )
        # No sorting: only the id order pages fast over a million rows (see keyset_page).
        orderable = False
        attrs = {"class": "customer-table"}
        row_attrs = {"data-testid": "customer-row"}

    def __init__(self, *args, workspace_slug: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace_slug = workspace_slug

    def render_external_id(self, record, value):
        url = reverse(
            "canvas:customer_detail",
            kwargs={"workspace": self.workspace_slug, "customer_id": record.pk},
        )
        return format_html('<a href="{}">{}</a>', url, value)


class CanvasTable(tables.Table):
    name = tables.Column(linkify=True)
    status = tables.Column()
    entry_type = tables.Column(verbose_name="Entry")
    entered = tables.Column(verbose_name="Entered", attrs={"td": {"class": "num"}})
    created_by = tables.Column(verbose_name="Created by", accessor="created_by__email", default="—")
    updated_at = tables.DateTimeColumn(verbose_name="Last edited", format="M j, Y H:i")

    class Meta:
        model = Canvas
        fields = ["name", "status", "entry_type", "entered", "created_by", "updated_at"]
        order_by = "-updated_at"
        attrs = {"class": "data-table", "data-testid": "canvas-table"}
        empty_text = "No canvases yet."

    def render_status(self, value, record):
        return format_html(
            '<span class="badge badge-{}">{}</span>', record.status, record.get_status_display()
        )

    def render_entered(self, value):
        return f"{value:,}"
