"""The Audience Sync editor as a marketer uses it, against the sandbox Pinterest."""

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse

from audiences.models import AudienceStatus, AudienceSyncStep, PinterestAudience, SyncOperation
from canvas.models import Step
from partners.pinterest.sandbox import BIG_AD_ACCOUNT_ID, OWNER_AD_ACCOUNT_ID
from partners.services import ad_accounts_select
from tests.factories import CanvasFactory, CustomerFactory, PinterestAdAccountFactory


@pytest.fixture
def canvas(workspace, admin):
    return CanvasFactory(workspace=workspace, name="Spring", created_by=admin)


@pytest.fixture
def step(as_marketer, canvas):
    as_marketer.post(
        reverse("canvas:step_add", kwargs={"workspace": "acme", "canvas_id": canvas.pk}),
        {"kind": "audience_sync"},
    )
    return Step.objects.get(canvas=canvas)


def editor_url(step):
    return reverse(
        "canvas:step_editor",
        kwargs={"workspace": "acme", "canvas_id": step.canvas_id, "step_id": step.pk},
    )


def search(client, step, q, ad_account=OWNER_AD_ACCOUNT_ID, bookmark=None):
    url = reverse(
        "audiences:audience_search",
        kwargs={"workspace": "acme", "canvas_id": step.canvas_id, "step_id": step.pk},
    )
    params = {"q": q, "ad_account": ad_account}
    if bookmark:
        params["bookmark"] = bookmark
    return client.get(url, params).content.decode()


def save(client, step, **fields):
    data = {"partner": "pinterest", "operation": "add", "step_name": "", **fields}
    return client.post(editor_url(step), data)


def choices(html):
    return re.findall(r'data-audience-choice="([^"]+)"', html)


def test_add_component_offers_audience_sync_behind_a_custom_audience_button(
    as_marketer, canvas, step
):
    builder = as_marketer.get(canvas.get_absolute_url()).content.decode()
    assert '<option value="audience_sync">Audience Sync' in builder
    assert ">Custom Audience</button>" in builder
    assert "audience-editor" not in builder
    editor = as_marketer.get(editor_url(step)).content.decode()
    assert 'data-testid="audience-editor"' in editor
    assert "1. Audience Sync partner" in editor


@pytest.mark.usefixtures("pinterest_sandbox")
def test_without_pinterest_the_editor_links_to_the_partner_page(as_marketer, step):
    editor = as_marketer.get(editor_url(step)).content.decode()
    assert "Pinterest is not connected." in editor
    assert 'href="/w/acme/partners/pinterest/"' in editor
    assert "ad-account-select" not in editor


def test_ad_accounts_that_cannot_write_audiences_are_greyed_with_the_reason(
    as_marketer, step, connection
):
    PinterestAdAccountFactory(
        connection=connection, ad_account_id="1234", name="Reporting", permissions=["ANALYST"]
    )
    editor = as_marketer.get(editor_url(step)).content.decode()
    assert (
        f'<option value="{OWNER_AD_ACCOUNT_ID}"  >Sandbox Brand ({OWNER_AD_ACCOUNT_ID})' in editor
    )
    assert '<option value="1234" disabled title="Reporting can&#x27;t be synced' in editor
    assert "Reporting can&#x27;t be synced: your Pinterest role there is Analyst." in editor


def test_search_shows_the_create_option_drafts_and_pinterest_audiences(
    as_marketer, step, connection, draft_audience
):
    html = search(as_marketer, step, "s")
    assert choices(html) == [
        "new:s",
        f"draft:{draft_audience.pk}",
        # "Newsletter subscribers" is a customer list; "Site visitors" is shown, not offered.
        f"pinterest:{_pinterest_id(connection, 'Newsletter subscribers')}",
    ]
    assert (
        "Site visitors — a visitor audience: Pinterest only takes users into customer-list" in html
    )


def _pinterest_id(connection, name):
    from audiences.selectors import pinterest_audience_named

    return pinterest_audience_named(
        connection=connection, ad_account_id=OWNER_AD_ACCOUNT_ID, name=name
    ).id


def test_search_reaches_the_last_page_of_an_account_with_hundreds_of_audiences(
    as_marketer, admin, step, connection, pinterest_sandbox
):
    ad_accounts_select(
        connection=connection,
        ad_account_ids=[OWNER_AD_ACCOUNT_ID, BIG_AD_ACCOUNT_ID],
        selected_by=admin,
    )
    first = search(as_marketer, step, "Segment 26", ad_account=BIG_AD_ACCOUNT_ID)
    # Page 1 holds Segment 001..250: nothing matches yet, and the list fetches page 2 itself.
    assert choices(first) == ["new:Segment 26"]
    bookmark = unquote(re.search(r"bookmark=([^\"&]+)", first)[1])
    assert 'hx-trigger="load"' in first
    second = search(
        as_marketer, step, "Segment 26", ad_account=BIG_AD_ACCOUNT_ID, bookmark=bookmark
    )
    names = re.findall(r'data-audience-label="([^"]+)"', second)
    assert names == ["Segment 260"]
    assert "bookmark=" not in second  # the last page
    # Each request is one Pinterest call of at most 250 audiences; typing again reuses the cache.
    calls = lambda: [  # noqa: E731
        e for e in pinterest_sandbox.state.request_log() if "/audiences" in e["path"]
    ]
    before = len(calls())
    search(as_marketer, step, "Segment 2", ad_account=BIG_AD_ACCOUNT_ID)
    assert len(calls()) == before


def test_create_audience_drafts_it_and_says_so(as_marketer, step, connection, pinterest_sandbox):
    before = len(pinterest_sandbox.state.audiences)
    response = save(
        as_marketer,
        step,
        ad_account=OWNER_AD_ACCOUNT_ID,
        audience="new:Spring buyers",
        match_fields=["email", "maid"],
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Audience “Spring buyers” is created in draft." in html
    audience = PinterestAudience.objects.get()
    assert (audience.name, audience.status, audience.pinterest_audience_id) == (
        "Spring buyers",
        AudienceStatus.DRAFT,
        "",
    )
    settings = AudienceSyncStep.objects.get(step=step)
    assert (settings.audience, settings.operation, settings.match_fields) == (
        audience,
        SyncOperation.ADD,
        ["email", "maid"],
    )
    # A draft costs Pinterest nothing until its first batch is sent.
    assert len(pinterest_sandbox.state.audiences) == before


@pytest.mark.parametrize(
    ("audience", "notice"),
    [
        ("new:", "Type a name for the new audience."),
        (
            "new:Spring buyers",
            "A draft audience named “Spring buyers” already exists for Sandbox Brand",
        ),
        (
            "new:newsletter SUBSCRIBERS",
            "Sandbox Brand already has an audience named “Newsletter subscribers” on Pinterest",
        ),
    ],
)
def test_create_audience_says_why_not(as_marketer, step, draft_audience, audience, notice):
    response = save(as_marketer, step, ad_account=OWNER_AD_ACCOUNT_ID, audience=audience)
    assert response.status_code == 400
    assert notice in response.content.decode()
    assert PinterestAudience.objects.count() == 1
    assert not AudienceSyncStep.objects.filter(step=step, audience__isnull=False).exists()


def test_create_audience_when_the_connection_is_invalid(as_marketer, step, connection):
    connection.status = "invalid"
    connection.save()
    response = save(as_marketer, step, ad_account=OWNER_AD_ACCOUNT_ID, audience="new:Fresh")
    assert response.status_code == 400
    assert "The Pinterest connection is no longer valid; reconnect Pinterest." in (
        response.content.decode()
    )
    assert not PinterestAudience.objects.exists()


def test_create_audience_when_pinterest_fails(as_marketer, step, connection, pinterest_sandbox):
    pinterest_sandbox.state.set_faults(fail_next=1, fail_status=503)
    response = save(as_marketer, step, ad_account=OWNER_AD_ACCOUNT_ID, audience="new:Fresh")
    assert response.status_code == 400
    assert "Pinterest could not be asked just now" in response.content.decode()
    assert not PinterestAudience.objects.exists()


def test_an_existing_customer_list_audience_is_recorded_with_its_list(
    as_marketer, step, connection
):
    audience_id = _pinterest_id(connection, "Newsletter subscribers")
    response = save(
        as_marketer,
        step,
        ad_account=OWNER_AD_ACCOUNT_ID,
        audience=f"pinterest:{audience_id}",
        operation="remove",
        match_fields=["email"],
    )
    assert response.status_code == 200
    audience = PinterestAudience.objects.get()
    assert (audience.status, audience.pinterest_audience_id, audience.name) == (
        AudienceStatus.LIVE,
        audience_id,
        "Newsletter subscribers",
    )
    assert audience.customer_list_id.isdigit()
    assert AudienceSyncStep.objects.get(step=step).operation == SyncOperation.REMOVE


def test_an_audience_that_is_not_a_customer_list_is_refused(as_marketer, step, connection):
    audience_id = _pinterest_id(connection, "Site visitors")
    response = save(
        as_marketer, step, ad_account=OWNER_AD_ACCOUNT_ID, audience=f"pinterest:{audience_id}"
    )
    assert response.status_code == 400
    assert "“Site visitors” is a visitor audience: Pinterest only takes users into" in (
        response.content.decode()
    )
    assert not PinterestAudience.objects.exists()


def test_removing_users_needs_an_existing_or_drafted_audience(as_marketer, step, connection):
    response = save(
        as_marketer, step, ad_account=OWNER_AD_ACCOUNT_ID, audience="new:Fresh", operation="remove"
    )
    assert response.status_code == 400
    assert "Users can only be removed from an existing or drafted audience" in (
        response.content.decode()
    )


def test_a_later_step_can_remove_users_from_the_draft(
    as_marketer, canvas, step, draft_audience, connection
):
    html = search(as_marketer, step, "spring")
    assert f"draft:{draft_audience.pk}" in choices(html)
    response = save(
        as_marketer,
        step,
        ad_account=OWNER_AD_ACCOUNT_ID,
        audience=f"draft:{draft_audience.pk}",
        operation="remove",
        match_fields=["email"],
    )
    assert response.status_code == 200
    assert (
        "Remove from “Spring buyers” (draft) in Sandbox Brand · Email" in response.content.decode()
    )


def test_coverage_counts_the_entry_segment_in_one_query(
    as_marketer, canvas, step, django_assert_num_queries
):
    CustomerFactory(workspace=canvas.workspace, email="a@x.io")
    CustomerFactory(
        workspace=canvas.workspace, email="", ios_idfa="6d92078a-8246-4ba4-ae5b-76104861e7dc"
    )
    CustomerFactory(workspace=canvas.workspace, email="", android_gaid="")
    url = reverse(
        "audiences:coverage",
        kwargs={"workspace": "acme", "canvas_id": canvas.pk, "step_id": step.pk},
    )
    html = as_marketer.get(url, {"match_fields": ["email"]}).content.decode()
    assert "Of <strong>3</strong> customers in the entry segment" in html
    assert "1 have a usable email and 1 a mobile advertising id" in html
    assert re.search(r'coverage-usable">1<', html)
    assert re.search(r'coverage-not-synced">2<', html)
    assert "Fewer than Pinterest's minimum of 100" in html
    both = as_marketer.get(url, {"match_fields": ["email", "maid"]}).content.decode()
    assert re.search(r'coverage-usable">2<', both)
    # Session, user, membership, step, then one aggregate for every number.
    with django_assert_num_queries(5):
        as_marketer.get(url, {"match_fields": ["email", "maid"]})


def test_outsiders_cannot_search_or_preview_another_workspaces_step(as_outsider, step):
    for name in ("audiences:audience_search", "audiences:coverage"):
        for workspace in ("acme", "globex"):
            url = reverse(
                name,
                kwargs={"workspace": workspace, "canvas_id": step.canvas_id, "step_id": step.pk},
            )
            assert as_outsider.get(url, {"q": "x"}).status_code == 404
