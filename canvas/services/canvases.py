"""Building, launching and stopping canvases."""

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from canvas.engine import engine_wake
from canvas.models import (
    Canvas,
    CanvasStatus,
    Enrollment,
    EnrollmentState,
    EntryType,
    Step,
    User,
    Workspace,
)
from canvas.segments import segment_errors
from canvas.services.enrollments import canvas_entry_enqueue
from canvas.steps.registry import get_kind


def _ensure_editable(canvas: Canvas) -> None:
    if not canvas.is_editable:
        raise ValidationError(
            "This canvas has been launched: its entry and steps can no longer change."
        )


def canvas_create(*, workspace: Workspace, name: str, created_by: User) -> Canvas:
    """Start a draft canvas with a scheduled entry and no steps."""
    return Canvas.objects.create(
        workspace=workspace, name=name.strip(), created_by=created_by, updated_by=created_by
    )


def canvas_rename(*, canvas: Canvas, name: str, user: User) -> Canvas:
    """Rename a canvas (safe at any status)."""
    canvas.name = name.strip()
    canvas.updated_by = user
    canvas.save(update_fields=["name", "updated_by", "updated_at"])
    return canvas


def canvas_update_entry(
    *,
    canvas: Canvas,
    user: User,
    entry_type: str,
    entry_event: str,
    entry_segment: list[dict[str, Any]],
    allow_reentry: bool,
) -> Canvas:
    """Set who enters a draft canvas and how; the segment is stored even if incomplete."""
    _ensure_editable(canvas)
    canvas.entry_type = entry_type
    canvas.entry_event = entry_event.strip()
    canvas.entry_segment = entry_segment
    canvas.allow_reentry = allow_reentry
    canvas.updated_by = user
    canvas.save()
    return canvas


def _renumber(canvas: Canvas, ordered: list[Step]) -> None:
    for position, step in enumerate(ordered, start=1):
        step.position = position
    Step.objects.bulk_update(ordered, ["position"])
    Canvas.objects.filter(pk=canvas.pk).update(updated_at=timezone.now())


@transaction.atomic
def step_add(*, canvas: Canvas, kind: str) -> Step:
    """Append a step of a registered kind to a draft canvas."""
    _ensure_editable(canvas)
    step_kind = get_kind(kind)
    if step_kind is None:
        raise ValidationError(f"Unknown component {kind!r}.")
    position = canvas.steps.count() + 1
    return Step.objects.create(
        canvas=canvas, kind=kind, position=position, config=step_kind.default_config()
    )


@transaction.atomic
def step_move(*, step: Step, offset: int) -> None:
    """Move a step up (-1) or down (+1) in its draft canvas."""
    _ensure_editable(step.canvas)
    ordered = list(step.canvas.steps.order_by("position", "id"))
    index = next(i for i, s in enumerate(ordered) if s.pk == step.pk)
    target = index + offset
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
        _renumber(step.canvas, ordered)


@transaction.atomic
def step_delete(*, step: Step) -> None:
    """Remove a step from a draft canvas and close the gap."""
    canvas = step.canvas
    _ensure_editable(canvas)
    step.delete()
    _renumber(canvas, list(canvas.steps.order_by("position", "id")))


@transaction.atomic
def step_configure(*, step: Step, name: str, form: forms.Form) -> Step:
    """Store a step's name and its kind's settings from a valid editor form."""
    _ensure_editable(step.canvas)
    kind = get_kind(step.kind)
    if kind is None:
        raise ValidationError(f"This component ({step.kind}) is no longer available.")
    step.name = name.strip()
    step.save(update_fields=["name", "updated_at"])
    kind.save_config(step, form)
    Canvas.objects.filter(pk=step.canvas_id).update(updated_at=timezone.now())
    return step


@dataclass
class LaunchCheck:
    """Why a canvas cannot launch: faults of the canvas itself and of each step."""

    canvas_errors: list[str] = field(default_factory=list)
    step_errors: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.canvas_errors and not self.step_errors

    @property
    def count(self) -> int:
        return len(self.canvas_errors) + sum(len(e) for e in self.step_errors.values())


def canvas_launch_check(*, canvas: Canvas) -> LaunchCheck:
    """Run the canvas's own checks and every step kind's launch checks."""
    check = LaunchCheck()
    if not canvas.name.strip():
        check.canvas_errors.append("Give the canvas a name.")
    if canvas.entry_type == EntryType.ACTION and not canvas.entry_event.strip():
        check.canvas_errors.append(
            "Action-based entry: name the custom event that makes customers enter."
        )
    check.canvas_errors.extend(f"Entry segment: {e}" for e in segment_errors(canvas.entry_segment))
    steps = list(canvas.steps.order_by("position", "id"))
    if not steps:
        check.canvas_errors.append("Add at least one component.")
    for step in steps:
        kind = get_kind(step.kind)
        errors = (
            [f"This component ({step.kind}) is no longer available."]
            if kind is None
            else kind.launch_errors(step)
        )
        if errors:
            check.step_errors[step.pk] = errors
    return check


class LaunchRefused(Exception):
    """The canvas failed its launch checks; `check` says where and why."""

    def __init__(self, check: LaunchCheck):
        super().__init__(f"{check.count} problem(s) prevent launch")
        self.check = check


def canvas_launch_check_remote(*, canvas: Canvas) -> dict[int, list[str]]:
    """The step kinds' checks that need the network (is the audience still there?), by step.

    Run before the canvas row is locked: an HTTP call never waits under a write lock.
    """
    errors: dict[int, list[str]] = {}
    for step in canvas.steps.order_by("position", "id"):
        kind = get_kind(step.kind)
        if kind is not None and (found := kind.launch_errors_remote(step)):
            errors[step.pk] = found
    return errors


def canvas_launch(*, canvas: Canvas, user: User) -> Canvas:
    """Make a draft canvas active; a scheduled one enrolls its segment right after."""
    remote = canvas_launch_check_remote(canvas=canvas)
    with transaction.atomic():
        canvas = Canvas.objects.select_for_update().get(pk=canvas.pk)
        if canvas.status != CanvasStatus.DRAFT:
            raise ValidationError("Only a draft canvas can be launched.")
        check = canvas_launch_check(canvas=canvas)
        # A step deleted meanwhile has nothing left to fix.
        current = set(canvas.steps.values_list("pk", flat=True))
        for step_id in remote.keys() & current:
            errors = check.step_errors.setdefault(step_id, [])
            # The remote phase may have recorded what the local phase then saw too.
            errors.extend(e for e in remote[step_id] if e not in errors)
        if not check.ok:
            raise LaunchRefused(check)
        canvas.status = CanvasStatus.ACTIVE
        canvas.launched_at = timezone.now()
        canvas.updated_by = user
        canvas.save()
        if canvas.entry_type == EntryType.SCHEDULED:
            transaction.on_commit(partial(canvas_entry_enqueue, canvas_id=canvas.pk))
    return canvas


@transaction.atomic
def canvas_stop(*, canvas: Canvas, user: User) -> Canvas:
    """Stop an active canvas: no one enters any more, and everyone still in it exits.

    Exits go through the engine (made due now), which counts each one at the
    step the customer was in, in the same transaction that moves them.
    """
    canvas = Canvas.objects.select_for_update().get(pk=canvas.pk)
    if canvas.status != CanvasStatus.ACTIVE:
        raise ValidationError("Only an active canvas can be stopped.")
    now = timezone.now()
    canvas.status = CanvasStatus.STOPPED
    canvas.stopped_at = now
    canvas.updated_by = user
    canvas.save()
    Enrollment.objects.filter(canvas=canvas, state=EnrollmentState.ACTIVE, due_at__gt=now).update(
        due_at=now
    )
    transaction.on_commit(engine_wake)
    return canvas
