"""The canvas page's analytics for Audience Sync steps: exact numbers, live figures, bounded cost."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences import analytics
from audiences.models import BatchOutcome, SyncBatch
from canvas import metrics
from canvas.selectors import step_analytics
from partners.models import ConnectionStatus
from tests.audiences import test_flusher
from tests.audiences.test_flusher import customers, launch

# The flusher test's fixtures: a frozen clock and a flusher whose sleeps move it.
clock = test_flusher.clock
flusher = test_flusher.flusher

LABELS = [
    "Entered",
    "Proceeded to Next Step",
    "Users Synced",
    "Users Not Synced",
    "Users Pending",
    "Users Errored",
    "Exited Canvas",
]


class _Tables(HTMLParser):
    """Rows of text cells of the tables of a page, by their data-testid (stdlib parser)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("data-testid", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def test_the_seven_numbers_are_exact_and_come_with_a_chart_rate_and_eta(
    as_marketer, workspace, sync_canvas, draft_audience, flusher, pinterest_sandbox
):
    customers(workspace, 30)
    workspace.customers.filter(external_id__in=["u1", "u2"]).update(email="")  # no identifier
    launch(sync_canvas)
    flusher.flush_until_idle()

    html = as_marketer.get(sync_canvas.get_absolute_url()).content.decode()
    head, *rows = tables_of(html)["step-totals"]
    assert head == ["Step", *LABELS]
    step = sync_canvas.steps.get()
    assert step_analytics(canvas=sync_canvas)[step.pk] == {
        metrics.ENTERED: 30,
        metrics.EXITED: 30,
        analytics.SYNCED: 28,
        analytics.NOT_SYNCED: 2,
        analytics.PENDING: 0,
    }
    assert rows == [[rows[0][0], "30", "0", "28", "2", "0", "0", "30"]]
    assert rows[0][0].startswith("1. Add to “Spring buyers”")
    assert 'data-testid="hourly-chart"' in html
    # 28 users acknowledged in the last minute: 28 / 60 per second.
    assert figures(html) == {
        "Send rate": "0.5 users/s of 13,300 (0 %)",
        "Time to drain Users Pending": "Nothing pending",
    }
    # The hour by hour table: this hour's flows (Users Pending is a level, not a flow).
    assert tables_of(html)["hourly-table"] == [
        ["Hour", *[label for label in LABELS if label != "Users Pending"]],
        [timezone.now().strftime("%b %-d, %H:00"), "30", "0", "28", "2", "0", "30"],
    ]


def figures(html: str) -> dict[str, str]:
    box = re.search(r'data-testid="live-figures">(.*?)</dl>', html, re.S).group(1)
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", box))


def a_million_pending(step, connection, *, synced_last_minute: int) -> None:
    """Counters as a million customers leave them, and the last minute's ledger rows."""
    now = timezone.now()
    metrics.metrics_add(
        counts={
            (step.pk, metrics.ENTERED): 1_000_000,
            (step.pk, metrics.EXITED): 1_000_000,
            (step.pk, analytics.PENDING): 1_000_000 - synced_last_minute,
            (step.pk, analytics.SYNCED): synced_last_minute,
        },
        at=now,
    )
    audience = step.audience_sync.audience
    for n in range(0, synced_last_minute, 1_900):
        SyncBatch.objects.create(
            connection=connection,
            ad_account=audience.ad_account,
            audience=audience,
            operation="add",
            record_count=1_900,
            item_count=min(1_900, synced_last_minute - n),
            started_at=now - timedelta(seconds=59),
            outcome=BatchOutcome.SYNCED,
            http_status=200,
        )


def test_the_rate_and_time_to_drain_come_from_the_last_minute_and_say_paused(
    as_marketer, sync_canvas, connection
):
    launch(sync_canvas)
    step = sync_canvas.steps.get()
    a_million_pending(step, connection, synced_last_minute=798_000)  # 13,300/s for a minute

    html = as_marketer.get(sync_canvas.get_absolute_url()).content.decode()
    assert figures(html) == {
        "Send rate": "13,300 users/s of 13,300 (100 %)",
        "Time to drain Users Pending": "about 15 s",  # 202,000 left at 13,300/s
    }
    connection.status = ConnectionStatus.INVALID
    connection.save(update_fields=["status"])
    html = as_marketer.get(sync_canvas.get_absolute_url()).content.decode()
    assert figures(html)["Time to drain Users Pending"].startswith(
        "Paused: The Pinterest connection is no longer valid; reconnect Pinterest."
    )


@pytest.mark.parametrize("pages", ["canvas_builder", "canvas_analytics"])
def test_the_page_costs_the_same_queries_for_ten_or_a_million_customers(
    as_marketer, workspace, sync_canvas, connection, pages
):
    launch(sync_canvas)
    step = sync_canvas.steps.get()
    url = f"/w/{workspace.slug}/canvas/{sync_canvas.pk}/" + (
        "analytics/" if pages == "canvas_analytics" else ""
    )
    metrics.metrics_add(counts={(step.pk, metrics.ENTERED): 10}, at=timezone.now())
    as_marketer.get(url)  # warm: sessions, content types
    with CaptureQueriesContext(db) as small:
        assert as_marketer.get(url).status_code == 200
    a_million_pending(step, connection, synced_last_minute=798_000)
    with CaptureQueriesContext(db) as large:
        assert as_marketer.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 40
    # None of them reads sync items: the counters are the per-hour rows.
    assert not [q for q in large.captured_queries if "audiences_syncitem" in q["sql"]]


def test_the_panel_polls_while_active_and_carries_the_cards_numbers(
    as_marketer, workspace, sync_canvas
):
    launch(sync_canvas)
    step = sync_canvas.steps.get()
    fragment = as_marketer.get(
        f"/w/{workspace.slug}/canvas/{sync_canvas.pk}/analytics/"
    ).content.decode()
    assert 'hx-trigger="every 5s"' in fragment
    assert f'id="step-stats-{step.pk}" data-testid="step-stats" hx-swap-oob="true"' in fragment

    sync_canvas.status = "stopped"
    sync_canvas.save(update_fields=["status"])
    fragment = as_marketer.get(
        f"/w/{workspace.slug}/canvas/{sync_canvas.pk}/analytics/"
    ).content.decode()
    assert "hx-trigger" not in fragment
