"""The Audiences page's table: our numbers beside Pinterest's, one row per audience."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audiences.models import SyncOperation
from audiences.selectors import PINTEREST_MINIMUM_AUDIENCE, AudienceOverview

DRAFT_TEXT = "Draft — created on Pinterest with its first batch"
DELETED_TEXT = "Deleted on Pinterest"
NO_SIZE_TEXT = "not shown by Pinterest yet"
NOT_READ_TEXT = "not read yet"


def _n(value: int | None) -> str:
    return f"{value:,}"


def _cell(testid: str, main: str | SafeString, note: str | SafeString = "") -> SafeString:
    if note:
        return format_html(
            '<span data-testid="{}">{}</span><div class="small muted">{}</div>', testid, main, note
        )
    return format_html('<span data-testid="{}">{}</span>', testid, main)


class Computed(tables.Column):
    """A column drawn from the whole row by the table's render_<name> method."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("orderable", False)
        super().__init__(*args, **kwargs)


class AudienceTable(tables.Table):
    audience = Computed(verbose_name="Audience")
    used_by = Computed(verbose_name="Used by")
    users = Computed(verbose_name="Users Synced", attrs={"td": {"class": "num"}})
    waiting = Computed(verbose_name="Users Pending · Errored", attrs={"td": {"class": "num"}})
    records = Computed(verbose_name="Records accepted (Pinsync)", attrs={"td": {"class": "num"}})
    pinterest_records = Computed(
        verbose_name="Records on the list (Pinterest)", attrs={"td": {"class": "num"}}
    )
    pinterest_size = Computed(verbose_name="Audience size (Pinterest)")

    class Meta:
        orderable = False
        attrs = {"class": "data-table", "data-testid": "audience-table"}
        row_attrs = {
            "data-testid": "audience-row",
            "data-audience": lambda record: record.audience.pk,
        }
        empty_text = (
            "No audiences yet. An Audience Sync step in a canvas creates one, or chooses one "
            "of your Pinterest audiences."
        )

    def render_audience(self, record: AudienceOverview) -> SafeString:
        audience = record.audience
        if audience.missing_since is not None:
            state = format_html(
                '<span class="badge badge-stopped">{}</span> <span class="small muted">'
                "seen {} UTC</span>",
                DELETED_TEXT,
                f"{audience.missing_since:%b %d, %H:%M}",
            )
        elif audience.is_draft:
            state = format_html('<span class="badge badge-draft">{}</span>', DRAFT_TEXT)
        else:
            state = format_html('<span class="badge badge-ok">{}</span>', "On Pinterest")
        return format_html(
            '<strong data-testid="audience-name">{}</strong><div class="small muted">{}</div>'
            '<div data-testid="audience-state">{}</div>',
            audience.name,
            audience.ad_account.name,
            state,
        )

    def render_used_by(self, record: AudienceOverview) -> SafeString:
        if not record.steps:
            return format_html('<span class="muted">{}</span>', "No step")
        return format_html_join(
            "",
            '<div><a href="{}#step-{}" data-testid="audience-step">{} › {}</a> '
            '<span class="small muted">{}</span></div>',
            (
                (
                    use.step.canvas.get_absolute_url(),
                    use.step_id,
                    use.step.canvas.name,
                    use.step,
                    "adds" if use.operation == SyncOperation.ADD else "removes",
                )
                for use in record.steps
            ),
        )

    def render_users(self, record: AudienceOverview) -> SafeString:
        removed = f"{_n(record.users_removed)} removed" if record.users_removed else ""
        return _cell("users-synced", _n(record.users_added), removed)

    def render_waiting(self, record: AudienceOverview) -> SafeString:
        return format_html(
            '<span data-testid="users-pending">{}</span> · <span data-testid="users-errored">{}</span>',
            _n(record.users_pending),
            _n(record.users_errored),
        )

    def render_records(self, record: AudienceOverview) -> SafeString:
        notes = []
        if record.records_removed:
            notes.append(f"{_n(record.records_removed)} removed")
        since = record.records_added_since + record.records_removed_since
        if since:
            notes.append(f"+{_n(since)} since Pinterest was read")
        return _cell("records-sent", _n(record.records_added), " · ".join(notes))

    def render_pinterest_records(self, record: AudienceOverview) -> SafeString:
        audience = record.audience
        if audience.is_draft:
            return format_html('<span class="muted">{}</span>', "—")
        if audience.counters_read_at is None or audience.list_uploaded is None:
            return format_html('<span class="muted">{}</span>', NOT_READ_TEXT)
        notes = [f"{_n(audience.list_removed or 0)} removed"]
        if audience.list_status:
            notes.append(audience.list_status)
        notes.append(f"read {audience.counters_read_at:%b %d, %H:%M} UTC")
        return _cell("list-uploaded", _n(audience.list_uploaded), " · ".join(notes))

    def render_pinterest_size(self, record: AudienceOverview) -> SafeString:
        audience = record.audience
        if audience.is_draft:
            return format_html('<span class="muted">{}</span>', "—")
        if audience.counters_read_at is None:
            return format_html('<span class="muted">{}</span>', NOT_READ_TEXT)
        status = audience.audience_status
        if audience.audience_size is None:
            note = f"from about {PINTEREST_MINIMUM_AUDIENCE} matched users, 24–48 h later"
            main = format_html('<span class="muted">{}</span>', NO_SIZE_TEXT)
            return _cell("audience-size", main, f"{status} · {note}" if status else note)
        return _cell("audience-size", _n(audience.audience_size), status)
