"""The first step on a workspace's home page: connect Pinterest (canvas/onboarding.py)."""

from canvas.models import Workspace
from canvas.onboarding import OnboardingStep
from partners.selectors import connection_for_workspace, connection_usable


def pinterest_ready(workspace: Workspace) -> bool:
    """Connected, with a token Pinterest honours as far as we know, and an ad account to sync."""
    connection = connection_for_workspace(workspace=workspace)
    return (
        connection is not None
        and connection_usable(connection=connection)
        and connection.ad_accounts.selected().exists()
    )


CONNECT_PINTEREST = OnboardingStep(
    key="pinterest",
    order=10,
    title="Connect Pinterest",
    description=(
        "An admin signs in to Pinterest once and chooses the ad accounts whose audiences "
        "Pinsync may fill."
    ),
    action="Connect Pinterest",
    url_name="partners:pinterest",
    done_action="See the connection",
    done=pinterest_ready,
    admins_only=True,
)
