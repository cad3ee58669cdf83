"""/canvas: start API-triggered canvases for named customers."""

from ninja import Router

from canvas.api import ingestion
from canvas.api.schemas import ErrorOut, MessageOut, TriggerIn, TriggerOut

router = Router(tags=["canvas"])


@router.post(
    "/trigger/send",
    response={
        200: TriggerOut,
        400: ErrorOut,
        401: MessageOut,
        404: MessageOut,
        409: MessageOut,
        413: MessageOut,
        429: MessageOut,
    },
    summary="Enter customers into an API-triggered canvas",
)
def canvas_trigger_send(request, payload: TriggerIn):
    """The canvas must be active and API-triggered (else 409). Customers already in it, barred
    from re-entry or outside its segment are counted as not entered, not as errors."""
    result = ingestion.canvas_trigger_send(
        workspace=request.auth.workspace,
        canvas_id=payload.canvas_id,
        external_ids=[r.external_id for r in payload.recipients],
    )
    return result
