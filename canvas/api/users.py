"""/users: create and update customers, record their custom events, erase them."""

from ninja import Router, Status

from canvas.api import ingestion
from canvas.api.schemas import DeleteIn, DeleteOut, ErrorOut, MessageOut, TrackIn, TrackOut

router = Router(tags=["users"])

ERRORS = {400: ErrorOut, 401: MessageOut, 413: MessageOut, 429: MessageOut}


@router.post(
    "/track",
    response={200: TrackOut, 201: TrackOut, **ERRORS},
    summary="Create or update customers and record custom events",
)
def users_track(request, payload: TrackIn):
    """Attributes are applied first, then events; an event's customer must exist or be created
    by the same call. Events make their customers enter the active action-based canvases whose
    entry event has their name. 201 when a customer was created, else 200. All or nothing."""
    result = ingestion.users_track(
        workspace=request.auth.workspace, attributes=payload.attributes, events=payload.events
    )
    return Status(201 if result.customers_created else 200, result)


@router.post(
    "/delete", response={200: DeleteOut, **ERRORS}, summary="Erase customers by external_id"
)
def users_delete(request, payload: DeleteIn):
    """Customers of the workspace with these ids are deleted with everything about them."""
    deleted = ingestion.users_delete(
        workspace=request.auth.workspace, external_ids=payload.external_ids
    )
    return DeleteOut(customers_deleted=deleted)
