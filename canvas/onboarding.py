"""The steps to a first sync on a workspace's home page, each ticked from the database.

Connect a partner → bring customers → build and launch a canvas. This app owns the
last two; the partner step belongs to the app that knows the partner (`partners`
registers "Connect Pinterest" from its AppConfig.ready()), so this app never names it.
Each check is one cheap query (an EXISTS), whatever the number of customers.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from canvas.models import Canvas, Customer, Membership, Workspace


@dataclass(frozen=True)
class OnboardingStep:
    """One step: what to do, why, the page to do it on, and how to tell it is done."""

    key: str
    # Where it goes in the list (partners 10, customers 20, canvas 30).
    order: int
    title: str
    description: str
    action: str
    # URL names, reversed with the workspace's slug: where to do it, and once done,
    # where to see it (the same page unless given).
    url_name: str
    done: Callable[[Workspace], bool]
    done_action: str
    done_url_name: str = ""
    # Only admins may do it; marketers are told to ask one.
    admins_only: bool = False


@dataclass(frozen=True)
class OnboardingItem:
    """A step as one member of one workspace sees it."""

    number: int
    step: OnboardingStep
    done: bool
    url: str
    can_act: bool


_steps: dict[str, OnboardingStep] = {}


def register(step: OnboardingStep) -> None:
    """Add (or replace, by key) a step of the home page's list."""
    _steps[step.key] = step


def onboarding_items(*, workspace: Workspace, membership: Membership) -> list[OnboardingItem]:
    """The steps in order, each ticked or not, with the button this member may press."""
    items = []
    for number, step in enumerate(sorted(_steps.values(), key=lambda s: (s.order, s.key)), 1):
        done = step.done(workspace)
        url_name = (step.done_url_name or step.url_name) if done else step.url_name
        items.append(
            OnboardingItem(
                number=number,
                step=step,
                done=done,
                url=reverse(url_name, kwargs={"workspace": workspace.slug}),
                can_act=membership.is_admin or not step.admins_only,
            )
        )
    return items


register(
    OnboardingStep(
        key="customers",
        order=20,
        title="Bring your customers",
        description=(
            "Import a CSV of your customers, or send them from your systems through the "
            "ingestion API. An email or a mobile advertising id is what Pinterest matches on."
        ),
        action="Import customers",
        url_name="canvas:customer_import",
        done_action="See your customers",
        done_url_name="canvas:customers",
        done=lambda workspace: Customer.objects.filter(workspace=workspace).exists(),
    )
)
register(
    OnboardingStep(
        key="canvas",
        order=30,
        title="Build and launch a canvas",
        description=(
            "Choose who enters and how, add an Audience Sync step, and launch: customers "
            "reach your Pinterest audience within seconds of entering."
        ),
        action="Create a canvas",
        url_name="canvas:canvas_list",
        done_action="See your canvases",
        done=lambda workspace: Canvas.objects.filter(
            workspace=workspace, launched_at__isnull=False
        ).exists(),
    )
)
