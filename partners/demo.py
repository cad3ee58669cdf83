"""The demo workspace's Pinterest: connected to the local sandbox the way an admin would.

The sandbox keeps everything in memory, so each `make run` starts one that has forgotten
the tokens of the last: the demo approves its consent page again (a real code exchanged
by `connection_connect`, as the OAuth callback does) and the connection carries on with
the same ad accounts. Used by `manage.py demo_sync`; never with a real Pinterest.
"""

from __future__ import annotations

import secrets
import time
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from django.conf import settings

from canvas.models import User, Workspace
from partners.models import PinterestAdAccount
from partners.pinterest import build_authorize_url
from partners.pinterest.sandbox import (
    OWNER_AD_ACCOUNT_ID,
    SANDBOX_USER_ID,
    SandboxControl,
    SandboxControlError,
)
from partners.services import ad_accounts_select, connection_connect

# The sandbox account the demo syncs into: its user is OWNER there.
DEMO_AD_ACCOUNT_ID = OWNER_AD_ACCOUNT_ID


class SandboxUnavailable(Exception):
    """The demo needs the local sandbox and it did not answer (or Pinterest is real)."""


def demo_sandbox_wait(*, seconds: float) -> None:
    """Return once the local sandbox answers; SandboxUnavailable after `seconds`."""
    if not settings.PINTEREST_SANDBOX:
        raise SandboxUnavailable(
            "A real Pinterest app is configured: the demo only uses the sandbox."
        )
    control = SandboxControl(settings.PINTEREST_SANDBOX_URL, timeout=2.0)
    give_up = time.monotonic() + seconds
    while True:
        try:
            control.overview()
            return
        except (OSError, SandboxControlError) as exc:  # not listening yet
            if time.monotonic() >= give_up:
                raise SandboxUnavailable(
                    f"The Pinterest sandbox at {settings.PINTEREST_SANDBOX_URL} did not answer "
                    f"({exc})."
                ) from exc
            time.sleep(0.5)


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 itself carries the code; our callback need not be up


def _approve_consent() -> str:
    """Press Approve on the sandbox's consent page as its user; the authorization code."""
    authorize_url = build_authorize_url(state=secrets.token_urlsafe(16))
    form = {name: values[0] for name, values in parse_qs(urlsplit(authorize_url).query).items()}
    form.update(decision="approve", user_id=SANDBOX_USER_ID)
    request = Request(  # noqa: S310 (the sandbox's loopback URL from settings)
        settings.PINTEREST_OAUTH_URL, data=urlencode(form).encode(), method="POST"
    )
    try:
        build_opener(_NoRedirect).open(request, timeout=10)
    except HTTPError as answer:
        location = answer.headers.get("Location", "")
        code = parse_qs(urlsplit(location).query).get("code")
        if answer.code == 302 and code:
            return code[0]
        raise SandboxUnavailable(f"The sandbox's consent page answered {answer.code}.") from None
    except URLError as exc:
        raise SandboxUnavailable(f"The sandbox's consent page did not answer ({exc}).") from exc
    raise SandboxUnavailable("The sandbox's consent page did not redirect with a code.")


def demo_pinterest_connect(*, workspace: Workspace, user: User) -> PinterestAdAccount:
    """Connect the workspace to the sandbox and sync its OWNER account; a reconnect if it was.

    Always through the consent page: `make run` starts a sandbox that knows no token yet.
    """
    connection = connection_connect(
        workspace=workspace, code=_approve_consent(), connected_by=user
    ).connection
    account = connection.ad_accounts.selected().filter(ad_account_id=DEMO_AD_ACCOUNT_ID).first()
    if account is None:
        chosen = set(connection.ad_accounts.selected().values_list("ad_account_id", flat=True))
        ad_accounts_select(
            connection=connection,
            ad_account_ids=chosen | {DEMO_AD_ACCOUNT_ID},
            selected_by=user,
        )
        account = connection.ad_accounts.selected().get(ad_account_id=DEMO_AD_ACCOUNT_ID)
    return account
