"""The demo canvas: Entry → Audience Sync (add) → Delay → Audience Sync (remove), live.

Built through the builder's own forms and services, as a marketer would, in the demo
workspace (canvas/demo.py) connected to the sandbox (partners/demo.py). Customers enter
when the demo's stand-in backend sends DEMO_EVENT (`demo_data --feed`); re-entry is on,
so the feed can go round the customers for as long as `make run` runs. Idempotent: the
canvas and its audience are found by name.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import QueryDict

from audiences.forms import DRAFT, EXISTING, NEW
from audiences.models import PINTEREST, AudienceStatus, PinterestAudience, SyncOperation
from canvas.demo import DEMO_EVENT
from canvas.models import Canvas, CanvasStatus, EntryType, Step, User, Workspace
from canvas.services.canvases import (
    canvas_create,
    canvas_launch,
    canvas_update_entry,
    step_add,
    step_configure,
)
from canvas.steps.registry import get_kind
from partners.models import PinterestAdAccount
from partners.services import pinterest_call

DEMO_CANVAS = "Recent buyers on Pinterest"
DEMO_AUDIENCE = "Recent buyers (demo)"
# Long enough to see customers wait in the Delay, short enough that the Remove step
# fills while the marketer watches. A real "recent buyers" window would be days.
DEMO_WINDOW = timedelta(minutes=2)


class DemoBuildError(Exception):
    """A step of the demo canvas was refused by its own editor form."""


def _still_on_pinterest(audience: PinterestAudience) -> bool:
    # Listed rather than read by id: a 404 would be logged as a failure on every start.
    listed = pinterest_call(
        connection=audience.ad_account.connection,
        fn=lambda client: client.list_audiences(ad_account_id=audience.ad_account.ad_account_id),
    )
    return any(found.id == audience.pinterest_audience_id for found in listed)


def demo_audience_existing(*, ad_account: PinterestAdAccount) -> PinterestAudience | None:
    """The demo audience if a previous run made it, back in draft if Pinterest forgot it.

    The sandbox keeps nothing across restarts: an audience it created in the last
    `make run` is gone from this one. As a draft again, it is created anew with the
    next batch (the flusher does that for any draft) instead of being reported deleted.
    """
    audience = (
        PinterestAudience.objects.select_related("ad_account__connection")
        .filter(ad_account=ad_account, name=DEMO_AUDIENCE)
        .order_by("pk")
        .first()
    )
    if audience is None or audience.is_draft or _still_on_pinterest(audience):
        return audience
    PinterestAudience.objects.filter(pk=audience.pk).update(
        status=AudienceStatus.DRAFT,
        pinterest_audience_id="",
        customer_list_id="",
        list_type="",
        missing_since=None,
        checked_at=None,
        creating_until=None,
        list_uploaded=None,
        list_removed=None,
        list_status="",
        audience_size=None,
        audience_status="",
        counters_read_at=None,
    )
    audience.refresh_from_db()
    return audience


def _audience_choice(audience: PinterestAudience | None) -> str:
    """The editor's hidden `audience` value: a new draft by name, or the row chosen."""
    if audience is None:
        return f"{NEW}:{DEMO_AUDIENCE}"
    if audience.is_draft:
        return f"{DRAFT}:{audience.pk}"
    return f"{EXISTING}:{audience.pinterest_audience_id}"


def _configure(step: Step, name: str, values: dict[str, str | list[str]]) -> None:
    """Save a step through its kind's editor form, as the builder does."""
    data = QueryDict(mutable=True)
    for key, value in values.items():
        data.setlist(key, value if isinstance(value, list) else [value])
    kind = get_kind(step.kind)
    assert kind is not None
    form = kind.form(step, data=data)
    if not form.is_valid():
        raise DemoBuildError(f"{step.kind} step “{name}”: {form.errors.as_text()}")
    step_configure(step=step, name=name, form=form)


def _sync_values(ad_account: PinterestAdAccount, audience: str, operation: str) -> dict:
    return {
        "partner": PINTEREST,
        "ad_account": ad_account.ad_account_id,
        "audience": audience,
        "operation": operation,
        "match_fields": ["email", "maid"],
    }


def _build(*, workspace: Workspace, user: User, ad_account: PinterestAdAccount) -> Canvas:
    canvas = canvas_create(workspace=workspace, name=DEMO_CANVAS, created_by=user)
    canvas_update_entry(
        canvas=canvas,
        user=user,
        entry_type=EntryType.ACTION,
        entry_event=DEMO_EVENT,
        entry_segment=[],
        allow_reentry=True,
    )
    audience = demo_audience_existing(ad_account=ad_account)
    add = step_add(canvas=canvas, kind="audience_sync")
    _configure(
        add,
        "Add recent buyers",
        _sync_values(ad_account, _audience_choice(audience), SyncOperation.ADD),
    )
    audience = demo_audience_existing(ad_account=ad_account)  # drafted by the step above
    delay = step_add(canvas=canvas, kind="delay")
    _configure(
        delay,
        "Buying window",
        {"amount": str(int(DEMO_WINDOW.total_seconds() // 60)), "unit": "minutes"},
    )
    remove = step_add(canvas=canvas, kind="audience_sync")
    _configure(
        remove,
        "Remove once the window is over",
        _sync_values(ad_account, _audience_choice(audience), SyncOperation.REMOVE),
    )
    return canvas


def demo_canvas_ensure(
    *, workspace: Workspace, user: User, ad_account: PinterestAdAccount
) -> Canvas:
    """The demo canvas, built if missing and launched if still a draft (a stopped one stays so).

    Raises LaunchRefused with the launch checks' words if it cannot go live.
    """
    demo_audience_existing(ad_account=ad_account)  # repaired before anything sends into it
    canvas = Canvas.objects.filter(workspace=workspace, name=DEMO_CANVAS).order_by("pk").first()
    if canvas is None:
        canvas = _build(workspace=workspace, user=user, ad_account=ad_account)
    if canvas.status == CanvasStatus.DRAFT:
        canvas = canvas_launch(canvas=canvas, user=user)
    return canvas
