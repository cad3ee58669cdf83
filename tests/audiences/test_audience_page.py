"""The Audiences page: every audience of the workspace, its steps, our counts and Pinterest's."""

import re
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiences import analytics
from audiences.models import AudienceStatus, PinterestAudience, SyncOperation
from audiences.tables import DELETED_TEXT, DRAFT_TEXT, NO_SIZE_TEXT
from canvas import metrics
from tests.audiences.conftest import add_sync_step
from tests.factories import CanvasFactory, PinterestAdAccountFactory, PinterestConnectionFactory

PAGE = "/w/acme/audiences/"


def rows(html) -> dict[str, str]:
    """Each row of the table by audience name, as text with the tags taken out."""
    found = {}
    for row in re.findall(r'<tr[^>]*data-testid="audience-row".*?</tr>', html, re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", row).split())
        name = re.search(r'data-testid="audience-name">(.*?)<', row)[1]
        found[name] = text
    return found


@pytest.fixture
def ad_account(workspace):
    return PinterestAdAccountFactory(
        connection=PinterestConnectionFactory(workspace=workspace), name="Acme Ads"
    )


def live(workspace, ad_account, name, **counters):
    return PinterestAudience.objects.create(
        workspace=workspace,
        ad_account=ad_account,
        name=name,
        status=AudienceStatus.LIVE,
        pinterest_audience_id=str(abs(hash(name)) % 10**12),
        customer_list_id=str(abs(hash(name)) % 10**12 + 1),
        **counters,
    )


def test_marketers_see_each_audience_with_its_steps_and_both_sides_counts(
    as_marketer, workspace, ad_account
):
    now = timezone.now()
    draft = PinterestAudience.objects.create(workspace=workspace, ad_account=ad_account, name="New")
    shown = live(
        workspace,
        ad_account,
        "Buyers",
        list_uploaded=1_900,
        list_removed=40,
        list_status="READY",
        audience_size=1_700,
        audience_status="READY",
        counters_read_at=now,
    )
    live(
        workspace, ad_account, "Tiny", list_uploaded=12, list_status="TOO_SMALL",
        audience_status="TOO_SMALL", counters_read_at=now,
    )  # fmt: skip
    live(workspace, ad_account, "Gone", missing_since=now - timedelta(days=1))
    canvas = CanvasFactory(workspace=workspace, name="Spring")
    adds = add_sync_step(canvas, audience=shown)
    removes = add_sync_step(canvas, audience=shown, operation=SyncOperation.REMOVE)
    add_sync_step(canvas, audience=draft)
    # Counters only (no sync items): the page reads these, never the items.
    metrics.metrics_add(
        counts={
            (adds.pk, analytics.SYNCED): 950,
            (adds.pk, analytics.PENDING): 30,
            (adds.pk, analytics.ERRORED): 2,
            (removes.pk, analytics.SYNCED): 20,
        },
        at=now,
    )

    response = as_marketer.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    found = rows(html)
    assert list(found) == ["Buyers", "Gone", "New", "Tiny"]
    assert found["Buyers"].startswith("Buyers Acme Ads On Pinterest Spring › Step 1 adds")
    assert "Spring › Step 2 removes 950 20 removed 30 · 2" in found["Buyers"]
    assert "1,900 40 removed · READY" in found["Buyers"]
    assert "1,700 READY" in found["Buyers"]
    assert DRAFT_TEXT in found["New"]
    assert DELETED_TEXT in found["Gone"]
    assert NO_SIZE_TEXT in found["Tiny"]
    assert "not read yet" in found["Gone"]
    assert f'href="{canvas.get_absolute_url()}#step-{adds.pk}"' in html
    assert 'aria-current="page">Audiences</a>' in html


def test_only_the_workspaces_own_audiences_are_shown(
    as_marketer, as_outsider, workspace, other_workspace, ad_account
):
    live(workspace, ad_account, "Ours")
    theirs_account = PinterestAdAccountFactory(
        connection=PinterestConnectionFactory(workspace=other_workspace)
    )
    live(other_workspace, theirs_account, "Theirs")
    assert list(rows(as_marketer.get(PAGE).content.decode())) == ["Ours"]
    assert list(rows(as_outsider.get("/w/globex/audiences/").content.decode())) == ["Theirs"]
    assert as_outsider.get(PAGE).status_code == 404


def test_the_page_costs_the_same_queries_whatever_the_number_of_audiences(
    as_marketer, workspace, ad_account
):
    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert as_marketer.get(PAGE).status_code == 200
        return len(captured)

    canvas = CanvasFactory(workspace=workspace)
    add_sync_step(canvas, audience=live(workspace, ad_account, "A"))
    queries()  # the first visit also records the workspace in the session
    few = queries()
    for n in range(6):
        add_sync_step(
            CanvasFactory(workspace=workspace), audience=live(workspace, ad_account, f"B{n}")
        )
    assert queries() == few


def test_an_empty_workspace_says_how_audiences_come(as_marketer, workspace):
    html = as_marketer.get(PAGE).content.decode()
    assert "<h2>No audiences yet.</h2>" in html
    # It says where audiences come from, with the way there.
    assert "add an <strong>Audience Sync</strong> component" in html
    assert '<a role="button" href="/w/acme/canvas/">Go to your canvases</a>' in html
