"""Reads of the core app that views share."""

from django.db.models import Q, QuerySet, Sum

from canvas import metrics
from canvas.models import Canvas, Customer, Workspace
from canvas.segments import TEXT_FIELDS

# Every customer entering a canvas enters its first step (positions run 1..n).
_FIRST_STEP_ENTERED = Q(steps__position=1, steps__metrics__metric=metrics.ENTERED)


def canvases_with_entered(*, workspace: Workspace) -> QuerySet[Canvas]:
    """The workspace's canvases, each annotated with how many customers entered it."""
    return (
        Canvas.objects.filter(workspace=workspace)
        .select_related("workspace", "created_by", "updated_by")
        .annotate(entered=Sum("steps__metrics__count", filter=_FIRST_STEP_ENTERED, default=0))
    )


def step_analytics(*, canvas: Canvas) -> dict[int, dict[str, int]]:
    """All-time counters of each step of a canvas: {step_id: {metric: count}}."""
    return metrics.step_totals(step_ids=list(canvas.steps.values_list("pk", flat=True)))


# How many of the newest customers the segment editor reads attribute names from.
ATTRIBUTE_SAMPLE = 500


def customer_attribute_names(*, workspace: Workspace, sample: int = ATTRIBUTE_SAMPLE) -> list[str]:
    """The names a segment filter may use, sorted: the standard fields a filter can name,
    and the custom attributes of the workspace's newest customers.

    A sample read backwards on the (workspace, id) index, so a page view costs the same
    with a million customers as with ten.
    """
    names = set(TEXT_FIELDS)
    newest = Customer.objects.filter(workspace=workspace).order_by("-pk")
    for attributes in newest.values_list("attributes", flat=True)[:sample]:
        if isinstance(attributes, dict):
            names.update(attributes)
    return sorted(names)
