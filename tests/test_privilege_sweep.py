"""The privilege sweep: every URL of the URLconf, as everyone who must be refused.

Finding 1 of the outside probe was one view that showed admins' data to a
marketer. Instead of a test per view, every pattern is enumerated from the
URLconf (a new view cannot escape), requested with GET and with a POST that
would do something, by an anonymous visitor, an outsider (through the first
workspace's address and through their own, with the first workspace's object
ids) and a marketer where the view is admin-only. Each must be refused and
change nothing; a control run as the admin proves the POST is not inert.
"""

import pytest
from django.test import Client

from tests.url_catalog import (
    EFFECTIVE_POST,
    SECRETS,
    all_routes,
    database_snapshot,
    other_tenant,
    route_outside_workspaces_reason,
    tenant_with_everything,
    workspace_routes,
)


@pytest.fixture
def acme(workspace, admin, marketer):
    return tenant_with_everything(workspace, admin, marketer)


@pytest.fixture
def globex(other_workspace, outsider):
    return other_tenant(other_workspace, outsider)


def _logged_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace")


def _refused(
    client: Client, path: str, allowed: tuple[int, ...], query: dict | None = None
) -> list[str]:
    """Request the path with GET (and the query) and POST; what went wrong, if anything."""
    problems = []
    for method in ("get", "post"):
        before = database_snapshot()
        response = (
            client.post(path, EFFECTIVE_POST) if method == "post" else client.get(path, query)
        )
        if response.status_code not in allowed:
            problems.append(f"{method.upper()} {path}: {response.status_code}")
        body = _body(response)
        if any(secret in body for secret in SECRETS):
            problems.append(f"{method.upper()} {path}: shows the first workspace's data")
        if database_snapshot() != before:
            problems.append(f"{method.upper()} {path}: changed the database")
    return problems


def test_every_url_outside_a_workspace_says_why_it_needs_no_membership():
    unexplained = [
        r.route
        for r in all_routes()
        if "<slug:workspace>" not in r.route and route_outside_workspaces_reason(r) is None
    ]
    assert unexplained == []


def test_the_sweep_covers_every_workspace_url_parameter(acme):
    unknown = {p for r in workspace_routes() for p in r.params} - set(acme.ids)
    assert unknown == set(), "teach tests/url_catalog.py to make an object for these"


def test_anonymous_visitors_are_sent_to_log_in_and_change_nothing(acme):
    client = _logged_in(None)
    problems = []
    for route in workspace_routes():
        problems += _refused(client, route.path(**acme.ids), allowed=(302,))
    assert problems == []


def test_outsiders_get_404_through_the_first_workspaces_address(acme, globex):
    client = _logged_in(globex.admin)
    problems = []
    for route in workspace_routes():
        problems += _refused(client, route.path(**acme.ids), (404,), acme.id_query)
    assert problems == []


def test_outsiders_cannot_reach_the_first_workspaces_objects_through_their_own(acme, globex):
    client = _logged_in(globex.admin)
    problems = []
    for route in workspace_routes():
        if route.params == ["workspace"]:
            continue  # nothing of the first workspace is named
        # Their own workspace, the first workspace's object ids.
        path = route.path(**{**acme.ids, "workspace": globex.ids["workspace"]})
        # 405: a method the view does not take is refused before any object is read.
        problems += _refused(client, path, (404, 405), acme.id_query)
    assert problems == []


# The policy (DESIGN.md: admins manage members, API keys and the Pinterest connection;
# they are the ones notifications are mailed to, and the ones who dismiss them), written
# out so that dropping an @admin_required fails here instead of going unnoticed.
ADMIN_ONLY = {
    "canvas:customer_delete",
    "canvas:notification_dismiss",
    "canvas:workspace_settings",
    "canvas:member_invite",
    "canvas:member_change_role",
    "canvas:member_remove",
    "canvas:invitation_revoke",
    "canvas:api_keys",
    "canvas:api_key_create",
    "canvas:api_key_revoke",
    "partners:pinterest_connect",
    "partners:pinterest_ad_accounts",
    "partners:pinterest_ad_account_disconnect",
    "partners:pinterest_disconnect",
}


def test_admin_only_views_are_exactly_the_policy():
    assert {r.name for r in workspace_routes() if r.admin_only} == ADMIN_ONLY


def test_marketers_get_403_from_every_admin_only_view(acme):
    admin_only = [r for r in workspace_routes() if r.name in ADMIN_ONLY]
    client = _logged_in(acme.marketer)
    problems = []
    for route in admin_only:
        problems += _refused(client, route.path(**acme.ids), (403,), acme.id_query)
    assert problems == []


def test_marketers_see_no_admin_secret_on_any_page(acme):
    # Finding 1 itself: the members page (open to marketers) showed the link of an
    # admin invitation named by ?invited=<id>. Every page, with every id in the query.
    client = _logged_in(acme.marketer)
    leaks = []
    for route in workspace_routes():
        if route.admin_only:
            continue
        response = client.get(route.path(**acme.ids), acme.id_query)
        body = _body(response)
        leaks += [f"{route.route}: {s}" for s in acme.admin_secrets if s in body]
    assert leaks == []


def test_control_the_same_posts_do_change_things_for_the_admin(acme):
    # Without this, a POST that changes nothing even when allowed would make the
    # sweep pass vacuously.
    client = _logged_in(acme.admin)
    changed = []
    for route in workspace_routes():
        before = database_snapshot()
        client.post(route.path(**acme.ids), EFFECTIVE_POST)
        if database_snapshot() != before:
            changed.append(route.name)
    for name in (
        "canvas:canvas_rename",
        "canvas:step_add",
        "canvas:member_invite",
        "canvas:member_change_role",
        "canvas:api_key_create",
        "canvas:workspace_settings",
    ):
        assert name in changed
