"""Choosing the ad accounts to sync, seeing them on the partner page, disconnecting one."""

import re

from django.contrib.messages import get_messages

from partners.models import ConnectionEvent, EventKind, PinterestAdAccount
from partners.pinterest.sandbox import (
    ANALYST_AD_ACCOUNT_ID,
    AUDIENCE_MANAGER_AD_ACCOUNT_ID,
    BIG_AD_ACCOUNT_ID,
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
)
from partners.pinterest.sandbox.seed import AdAccount as SandboxAdAccount
from tests.pinterest_fixtures import partner_url


def checkboxes(html):
    """(value, checked, disabled) of every ad account checkbox on the page."""
    return [
        (m.group(1), " checked" in m.group(2), " disabled" in m.group(2))
        for m in re.finditer(r'name="ad_account" value="(\d+)"([^>]*)>', html)
    ]


def test_the_choice_shows_every_page_of_accounts_and_greys_out_those_that_cannot_write(
    as_admin, admin, workspace, connect_pinterest, pinterest_sandbox
):
    # 300 more accounts: Pinterest pages them 250 at a time.
    with pinterest_sandbox.state.lock:
        for n in range(300):
            account_id = str(700000000000 + n)
            pinterest_sandbox.state.ad_accounts[account_id] = SandboxAdAccount(
                account_id, f"Store {n:03d}", SANDBOX_USER_ID, {SANDBOX_USER_ID: ("ADMIN",)}
            )
    connect_pinterest(workspace=workspace, user=admin)

    response = as_admin.get(partner_url("pinterest_ad_accounts"))

    assert response.status_code == 200
    html = response.content.decode()
    boxes = checkboxes(html)
    assert len(boxes) == 304
    assert [b for b in boxes if b[2]] == [(ANALYST_AD_ACCOUNT_ID, False, True)]
    assert not any(checked for _, checked, _ in boxes)
    assert re.findall(r'data-testid="disabled-reason">([^<]*)<', html) == [
        "Partner Agency - Reporting can&#x27;t be synced: your Pinterest role there is Analyst. "
        "Audience Sync needs Owner, Admin or Audience manager."
    ]
    assert "Pinterest shows 304 ad accounts to this login; 303 can be synced." in html
    listings = [e for e in pinterest_sandbox.state.request_log() if e["path"] == "/v5/ad_accounts"]
    assert [e["query"].get("bookmark") is not None for e in listings] == [False, True]


def test_choosing_two_accounts_lists_them_on_the_partner_page(
    as_admin, admin, workspace, connect_pinterest
):
    connection = connect_pinterest(workspace=workspace, user=admin)

    response = as_admin.post(
        partner_url("pinterest_ad_accounts"),
        {"ad_account": [OWNER_AD_ACCOUNT_ID, AUDIENCE_MANAGER_AD_ACCOUNT_ID]},
    )

    assert response.status_code == 302
    assert response["Location"] == partner_url("pinterest")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Syncing 2 ad accounts: Partner Agency - Audiences, Sandbox Brand."
    ]
    rows = PinterestAdAccount.objects.order_by("ad_account_id")
    assert [
        (r.ad_account_id, r.name, r.country, r.currency, r.permissions, r.selected, r.connected_by)
        for r in rows
    ] == [
        (OWNER_AD_ACCOUNT_ID, "Sandbox Brand", "US", "USD", ["OWNER"], True, admin),
        (
            AUDIENCE_MANAGER_AD_ACCOUNT_ID,
            "Partner Agency - Audiences",
            "GB",
            "GBP",
            ["AUDIENCE_MANAGER"],
            True,
            admin,
        ),
    ]
    event = connection.events.first()
    assert (event.kind, event.actor, event.detail) == (
        EventKind.ACCOUNTS_CHANGED,
        admin,
        f"Added Sandbox Brand ({OWNER_AD_ACCOUNT_ID}), "
        f"Partner Agency - Audiences ({AUDIENCE_MANAGER_AD_ACCOUNT_ID})",
    )

    page = as_admin.get(partner_url("pinterest")).content.decode()
    assert page.count('data-testid="ad-account-row"') == 2
    for text in [
        "@sandbox_marketer",
        "Sandbox Brand",
        OWNER_AD_ACCOUNT_ID,
        "Partner Agency - Audiences",
        AUDIENCE_MANAGER_AD_ACCOUNT_ID,
        "GBP",
        "by Alice Admin",
        "Add ad accounts",
        "Disconnect Pinterest",
    ]:
        assert text in page, text
    assert "Connect Pinterest</button>" not in page


def test_the_choice_can_change_later_and_shows_what_is_synced(as_admin, admin, connection):
    html = as_admin.get(partner_url("pinterest_ad_accounts")).content.decode()
    assert [(v, c) for v, c, _ in checkboxes(html) if c] == [
        (AUDIENCE_MANAGER_AD_ACCOUNT_ID, True),
        (OWNER_AD_ACCOUNT_ID, True),
    ]

    as_admin.post(
        partner_url("pinterest_ad_accounts"),
        {"ad_account": [OWNER_AD_ACCOUNT_ID, BIG_AD_ACCOUNT_ID]},
    )

    assert sorted(connection.ad_accounts.selected().values_list("ad_account_id", flat=True)) == [
        OWNER_AD_ACCOUNT_ID,
        BIG_AD_ACCOUNT_ID,
    ]
    dropped = PinterestAdAccount.objects.get(ad_account_id=AUDIENCE_MANAGER_AD_ACCOUNT_ID)
    assert dropped.selected is False
    assert dropped.disconnected_at is not None
    assert connection.events.first().detail == (
        f"Added Sandbox Brand - Many Audiences ({BIG_AD_ACCOUNT_ID}); "
        f"Removed Partner Agency - Audiences ({AUDIENCE_MANAGER_AD_ACCOUNT_ID})"
    )


def test_an_account_without_an_audience_role_is_refused_even_if_posted(
    as_admin, admin, workspace, connect_pinterest
):
    connect_pinterest(workspace=workspace, user=admin)

    response = as_admin.post(
        partner_url("pinterest_ad_accounts"),
        {"ad_account": [OWNER_AD_ACCOUNT_ID, ANALYST_AD_ACCOUNT_ID]},
    )

    assert response.status_code == 400
    assert response.context["error"] == (
        "Partner Agency - Reporting can't be synced: your Pinterest role there is Analyst. "
        "Audience Sync needs Owner, Admin or Audience manager."
    )
    # The boxes stay as the admin left them.
    assert (OWNER_AD_ACCOUNT_ID, True, False) in checkboxes(response.content.decode())
    assert PinterestAdAccount.objects.count() == 0
    assert ConnectionEvent.objects.filter(kind=EventKind.ACCOUNTS_CHANGED).count() == 0


def test_an_account_pinterest_does_not_show_is_refused(
    as_admin, admin, workspace, connect_pinterest
):
    connect_pinterest(workspace=workspace, user=admin)

    response = as_admin.post(partner_url("pinterest_ad_accounts"), {"ad_account": ["123456789"]})

    assert response.status_code == 400
    assert response.context["error"] == (
        "Pinterest does not show ad account 123456789 to @sandbox_marketer."
    )
    assert PinterestAdAccount.objects.count() == 0


def test_choosing_nothing_is_refused(as_admin, admin, workspace, connect_pinterest):
    connect_pinterest(workspace=workspace, user=admin)

    response = as_admin.post(partner_url("pinterest_ad_accounts"), {})

    assert response.status_code == 400
    assert response.context["error"] == "Choose at least one ad account to sync."


def test_disconnecting_one_account_keeps_its_row_and_the_others(as_admin, admin, connection):
    response = as_admin.post(
        partner_url("pinterest_ad_account_disconnect", ad_account_id=AUDIENCE_MANAGER_AD_ACCOUNT_ID)
    )

    assert response["Location"] == partner_url("pinterest")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Partner Agency - Audiences is disconnected: nothing more is synced into it."
    ]
    assert [(a.ad_account_id, a.selected) for a in PinterestAdAccount.objects.order_by("name")] == [
        (AUDIENCE_MANAGER_AD_ACCOUNT_ID, False),
        (OWNER_AD_ACCOUNT_ID, True),
    ]
    event = connection.events.first()
    assert (event.kind, event.actor, event.detail) == (
        EventKind.ACCOUNTS_CHANGED,
        admin,
        f"Removed Partner Agency - Audiences ({AUDIENCE_MANAGER_AD_ACCOUNT_ID})",
    )
    page = as_admin.get(partner_url("pinterest")).content.decode()
    assert page.count('data-testid="ad-account-row"') == 1
    # Disconnecting it again is a 404: it is no longer connected.
    again = as_admin.post(
        partner_url("pinterest_ad_account_disconnect", ad_account_id=AUDIENCE_MANAGER_AD_ACCOUNT_ID)
    )
    assert again.status_code == 404


def test_the_choice_needs_a_connection(as_admin):
    response = as_admin.get(partner_url("pinterest_ad_accounts"))

    assert response["Location"] == partner_url("pinterest")


def test_technology_partners_shows_the_pinterest_status(as_admin, connection):
    html = as_admin.get(partner_url("technology_partners")).content.decode()

    assert 'href="/w/acme/partners/pinterest/"' in html
    assert "Connected" in html
    assert "@sandbox_marketer · 2 ad accounts" in html


def test_technology_partners_before_connecting(as_admin):
    html = as_admin.get(partner_url("technology_partners")).content.decode()

    assert "Not connected" in html
    assert 'href="/w/acme/partners/pinterest/"' in html
