"""The use cases behind the endpoints: validate the whole call, then write it in one transaction.

A call with any bad object raises InvalidRequest naming every bad field and
writes nothing. Logs carry counts and ids of rows, never emails or device ids.
"""

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from ninja.errors import HttpError

from canvas.api.errors import FieldError, InvalidRequest
from canvas.api.schemas import EventIn, TrackOut, TriggerOut
from canvas.models import Canvas, CanvasStatus, Customer, EntryType, Workspace
from canvas.services.customers import (
    CustomerDataError,
    CustomerRecord,
    customer_record_build,
    customers_delete,
    customers_upsert,
    external_id_parse,
)
from canvas.services.enrollments import canvas_enter, canvases_enter_on_event

logger = logging.getLogger(__name__)


def _external_ids_parse(
    values: list[Any], loc: tuple[str | int, ...], errors: list[FieldError]
) -> dict[int, str]:
    """Index → normalized external_id; a bad one adds a FieldError at loc[0], index, *loc[1:]."""
    parsed = {}
    for index, value in enumerate(values):
        try:
            parsed[index] = external_id_parse(value)
        except CustomerDataError as exc:
            errors.append(FieldError(loc=(loc[0], index, *loc[1:]), message=exc.message))
    return parsed


def _customer_ids(workspace: Workspace, external_ids) -> dict[str, int]:
    if not external_ids:
        return {}
    # No ORDER BY (the model's is by id): with one, SQLite walks every customer of the
    # workspace in id order instead of looking each external_id up (60 ms at 200,000).
    return dict(
        Customer.objects.filter(workspace=workspace, external_id__any_of=set(external_ids))
        .order_by()
        .values_list("external_id", "pk")
    )


@contextlib.contextmanager
def _workspace_kept() -> Iterator[None]:
    """A workspace deleted by an operator while its call was on the way: a 404, not a 500."""
    try:
        yield
    except Workspace.DoesNotExist as exc:
        raise HttpError(404, "This workspace no longer exists.") from exc


def _unknown(external_id: str) -> str:
    return f"no customer with external_id {external_id!r} in this workspace"


def users_track(
    *, workspace: Workspace, attributes: list[dict[str, Any]], events: list[EventIn]
) -> TrackOut:
    """Upsert customers, then enter the event's customers into the canvases waiting for it."""
    errors: list[FieldError] = []
    records: list[CustomerRecord] = []
    # Customers this call names in attributes, even those refused for another
    # field: their events are not "unknown", the attributes error says enough.
    declared: set[str] = set()
    for index, raw in enumerate(attributes):
        try:
            external_id = external_id_parse(raw.get("external_id"))
            declared.add(external_id)
            records.append(customer_record_build(external_id=external_id, raw=raw))
        except CustomerDataError as exc:
            errors.append(FieldError(loc=("attributes", index, exc.field), message=exc.message))
    event_external_ids = _external_ids_parse(
        [e.external_id for e in events], ("events", "external_id"), errors
    )
    with _workspace_kept(), transaction.atomic():
        # Read in the writing transaction: a customer deleted meanwhile cannot slip through.
        customer_ids = _customer_ids(workspace, event_external_ids.values())
        # An event must be about a customer who exists or whom this call creates:
        # refusing a typo beats creating a customer who has no identifiers.
        for index, external_id in event_external_ids.items():
            if external_id not in customer_ids and external_id not in declared:
                errors.append(
                    FieldError(loc=("events", index, "external_id"), message=_unknown(external_id))
                )
        if errors:
            raise InvalidRequest(sorted(errors, key=_loc_order))
        upserted = customers_upsert(workspace=workspace, records=records)
        customer_ids.update(upserted.customer_ids)
        by_event: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            by_event.setdefault(event.name, []).append(customer_ids[event_external_ids[index]])
        entries = sum(
            canvases_enter_on_event(workspace=workspace, event_name=name, customer_ids=ids)
            for name, ids in by_event.items()
        )
    result = TrackOut(
        customers_created=upserted.created,
        customers_updated=upserted.updated,
        events_processed=len(events),
        canvas_entries=entries,
    )
    logger.info("users/track workspace=%s %s", workspace.pk, result)
    return result


def _loc_order(error: FieldError) -> tuple:
    # Attributes before events, then by index, as the caller sent them.
    section, index = error.loc[0], error.loc[1]
    return (section != "attributes", index)


def canvas_trigger_send(
    *, workspace: Workspace, canvas_id: int, external_ids: list[Any]
) -> TriggerOut:
    """Enter the named customers into an active API-triggered canvas of the workspace."""
    canvas = Canvas.objects.filter(workspace=workspace, pk=canvas_id).first()
    if canvas is None:
        raise HttpError(404, f"No canvas {canvas_id} in this workspace.")
    if canvas.entry_type != EntryType.API:
        raise HttpError(
            409,
            f"Canvas {canvas_id} is {canvas.get_entry_type_display().lower()}, not API-triggered: "
            "set its entry to API-triggered to start it from the API.",
        )
    if canvas.status != CanvasStatus.ACTIVE:
        raise HttpError(
            409,
            f"Canvas {canvas_id} is {canvas.get_status_display().lower()}, not active: "
            "launch it first.",
        )
    errors: list[FieldError] = []
    parsed = _external_ids_parse(external_ids, ("recipients", "external_id"), errors)
    customer_ids = _customer_ids(workspace, parsed.values())
    for index, external_id in parsed.items():
        if external_id not in customer_ids:
            errors.append(
                FieldError(loc=("recipients", index, "external_id"), message=_unknown(external_id))
            )
    if errors:
        raise InvalidRequest(sorted(errors, key=lambda e: e.loc[1]))

    with transaction.atomic():
        # Already in the canvas, barred from re-entry or outside the segment:
        # canvas_enter leaves them out, which is not an error.
        entered = canvas_enter(canvas=canvas, customer_ids=customer_ids.values())
    result = TriggerOut(
        canvas_id=canvas.pk,
        recipients=len(customer_ids),
        entered=entered,
        not_entered=len(customer_ids) - entered,
    )
    logger.info("canvas/trigger/send workspace=%s %s", workspace.pk, result)
    return result


def users_delete(*, workspace: Workspace, external_ids: list[Any]) -> int:
    """Erase the workspace's customers with these external ids; unknown ids are ignored."""
    errors: list[FieldError] = []
    parsed = _external_ids_parse(external_ids, ("external_ids",), errors)
    if errors:
        raise InvalidRequest(errors)
    with transaction.atomic():
        deleted = customers_delete(workspace=workspace, external_ids=list(set(parsed.values())))
    logger.info("users/delete workspace=%s deleted=%d", workspace.pk, deleted)
    return deleted
