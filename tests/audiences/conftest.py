"""Fixtures of the Audience Sync tests: canvases whose steps sync into sandbox audiences."""

import pytest

from audiences.models import AudienceSyncStep, PinterestAudience, SyncOperation
from canvas.models import Step
from partners.pinterest.sandbox import OWNER_AD_ACCOUNT_ID
from tests.factories import CanvasFactory


@pytest.fixture
def owner_account(connection):
    """The OWNER ad account of the sandbox, as the `connection` fixture selected it."""
    return connection.ad_accounts.get(ad_account_id=OWNER_AD_ACCOUNT_ID)


@pytest.fixture
def draft_audience(workspace, owner_account):
    return PinterestAudience.objects.create(
        workspace=workspace, ad_account=owner_account, name="Spring buyers"
    )


def add_sync_step(
    canvas,
    *,
    audience=None,
    ad_account=None,
    operation=SyncOperation.ADD,
    email=True,
    maid=True,
) -> Step:
    """Append a configured Audience Sync step to a canvas."""
    step = Step.objects.create(
        canvas=canvas, kind="audience_sync", position=canvas.steps.count() + 1
    )
    AudienceSyncStep.objects.create(
        step=step,
        ad_account=ad_account or (audience.ad_account if audience else None),
        audience=audience,
        operation=operation,
        match_email=email,
        match_maid=maid,
    )
    return step


def live_audience(workspace, owner_account, pinterest_sandbox, name="Newsletter subscribers"):
    """A live audience of the sandbox's seeded ones (with its customer list), as Pinsync keeps it."""
    found = next(a for a in pinterest_sandbox.state.audiences.values() if a.name == name)
    return PinterestAudience.objects.create(
        workspace=workspace,
        ad_account=owner_account,
        name=found.name,
        status="live",
        pinterest_audience_id=found.id,
        customer_list_id=found.customer_list_id or "",
    )


@pytest.fixture
def sync_canvas(workspace, draft_audience):
    """A draft canvas of one Audience Sync step adding Email + MAID to the draft audience."""
    canvas = CanvasFactory(workspace=workspace, name="Spring")
    add_sync_step(canvas, audience=draft_audience)
    return canvas
