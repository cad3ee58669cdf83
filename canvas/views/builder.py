"""The canvas list and builder. Parts of the builder are htmx partials swapped in place."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from canvas.analytics import canvas_analytics
from canvas.forms import FILTER_KINDS, CanvasNameForm, EntryForm, StepNameForm, segment_from_post
from canvas.models import Canvas, CanvasStatus, Step
from canvas.segments import (
    OPERATORS,
    segment_customers,
    segment_describe,
    segment_errors,
    segment_warnings,
)
from canvas.selectors import canvases_with_entered, customer_attribute_names, step_analytics
from canvas.services import canvases as services
from canvas.steps.registry import ENGINE_METRICS, all_kinds, get_kind
from canvas.tables import CanvasTable, table_paginate


def _canvas(request, canvas_id: int) -> Canvas:
    canvases = Canvas.objects.filter(workspace=request.workspace).select_related("workspace")
    return get_object_or_404(canvases, pk=canvas_id)


def _step(request, canvas_id: int, step_id: int) -> Step:
    return get_object_or_404(
        Step.objects.select_related("canvas__workspace").filter(
            canvas__workspace=request.workspace
        ),
        pk=step_id,
        canvas_id=canvas_id,
    )


def canvas_list(request):
    """Canvas: every journey of the workspace, with its status and entries."""
    table = CanvasTable(canvases_with_entered(workspace=request.workspace), request=request)
    table_paginate(table, page=request.GET.get("page", ""), per_page=25)
    return render(request, "canvas/builder/list.html", {"table": table, "form": CanvasNameForm()})


@require_POST
def canvas_create_view(request):
    """Create a draft canvas and open it in the builder."""
    form = CanvasNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the canvas a name.")
        return redirect("canvas:canvas_list", workspace=request.workspace.slug)
    canvas = services.canvas_create(
        workspace=request.workspace, name=form.cleaned_data["name"], created_by=request.user
    )
    return redirect(canvas)


def _step_card(step: Step, *, form=None, errors=None, stats=None, open_editor=False) -> dict:
    kind = get_kind(step.kind)
    stats = stats or {}
    return {
        "step": step,
        "kind": kind,
        "form": form if form is not None else (kind.form(step) if kind else None),
        "summary": kind.summary(step) if kind else step.kind,
        "errors": errors or [],
        # The counters the kind declares, with their labels, in its order.
        "metrics": _step_metrics(step, stats),
        "has_stats": bool(stats),
        "notices": kind.notices(step) if kind and not step.canvas.is_editable else [],
        # Kinds with an editor button show the editor once it is asked for.
        # (and a step refused at launch shows its editor under the errors).
        "editor_open": open_editor or bool(errors) or kind is None or kind.editor_button is None,
        "extra": kind.editor_context(step) if kind else {},
    }


def _builder_context(canvas: Canvas, check=None) -> dict:
    stats = step_analytics(canvas=canvas)
    step_errors = check.step_errors if check else {}
    steps = list(canvas.steps.order_by("position", "id"))
    return {
        "canvas": canvas,
        "entry": _entry_context(canvas),
        "cards": [
            _step_card(s, errors=step_errors.get(s.pk), stats=stats.get(s.pk)) for s in steps
        ],
        "kinds": all_kinds(),
        "check": check,
        **_analytics_context(canvas, steps, stats),
    }


def _analytics_context(canvas: Canvas, steps: list[Step], stats: dict) -> dict:
    """The analytics panel of a launched canvas (nothing for a draft: nothing to count)."""
    if canvas.status == CanvasStatus.DRAFT:
        return {"analytics": None}
    return {
        "analytics": canvas_analytics(canvas=canvas, steps=steps),
        "stat_cards": [
            {"step": s, "metrics": _step_metrics(s, stats.get(s.pk) or {})} for s in steps
        ],
    }


def _step_metrics(step: Step, stats: dict) -> list[tuple[str, str, int]]:
    kind = get_kind(step.kind)
    shown = kind.metrics if kind else ENGINE_METRICS
    return [(key, label, stats.get(key, 0)) for key, label in shown]


def _entry_context(canvas: Canvas, form=None, segment=None) -> dict:
    segment = canvas.entry_segment if segment is None else segment
    return {
        "form": form
        or EntryForm(
            initial={
                "entry_type": canvas.entry_type,
                "entry_event": canvas.entry_event,
                "allow_reentry": canvas.allow_reentry,
            }
        ),
        "segment": segment,
        "segment_words": segment_describe(segment),
        "filter_kinds": FILTER_KINDS,
        "operators": OPERATORS,
        # Suggested in every attribute field (a <datalist>); only a draft's entry is edited.
        "attribute_names": (
            customer_attribute_names(workspace=canvas.workspace) if canvas.is_editable else []
        ),
    }


# A refused launch answers with a redirect to the canvas page (POST-redirect-GET), which
# shows the refusal once: the address bar never sits on /launch/, and a reload neither
# launches again nor asks to resend a form.
LAUNCH_REFUSAL_SESSION_KEY = "launch_refusal"


def _launch_refusal_keep(request, canvas: Canvas, check: services.LaunchCheck) -> None:
    request.session[LAUNCH_REFUSAL_SESSION_KEY] = {
        "canvas": canvas.pk,
        "canvas_errors": check.canvas_errors,
        # JSON keys are text: step ids come back as ints in _launch_refusal_take.
        "step_errors": {str(step_id): errors for step_id, errors in check.step_errors.items()},
    }


def _launch_refusal_take(request, canvas: Canvas) -> services.LaunchCheck | None:
    """The refusal kept for this canvas by the launch just redirected from, if any (once)."""
    kept = request.session.get(LAUNCH_REFUSAL_SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("canvas") != canvas.pk:
        return None
    del request.session[LAUNCH_REFUSAL_SESSION_KEY]
    if not canvas.is_editable:
        return None  # launched meanwhile (another tab): nothing left to fix
    return services.LaunchCheck(
        canvas_errors=list(kept["canvas_errors"]),
        step_errors={int(step_id): errors for step_id, errors in kept["step_errors"].items()},
    )


def canvas_builder(request, canvas_id: int):
    """The builder: entry rule, ordered steps with their editors, launch and stop."""
    canvas = _canvas(request, canvas_id)
    check = _launch_refusal_take(request, canvas)
    return render(request, "canvas/builder/builder.html", _builder_context(canvas, check=check))


@require_GET
def canvas_analytics_view(request, canvas_id: int):
    """The analytics panel alone, polled by htmx while the canvas is active.

    It carries the step cards' numbers too (out-of-band swaps), so the whole page's
    counters move together without a reload.
    """
    canvas = _canvas(request, canvas_id)
    steps = list(canvas.steps.order_by("position", "id"))
    context = {"canvas": canvas, **_analytics_context(canvas, steps, step_analytics(canvas=canvas))}
    return render(request, "canvas/builder/_analytics.html", context)


@require_POST
def canvas_rename_view(request, canvas_id: int):
    """Rename the canvas (allowed at any status)."""
    canvas = _canvas(request, canvas_id)
    form = CanvasNameForm(request.POST)
    if form.is_valid():
        services.canvas_rename(canvas=canvas, name=form.cleaned_data["name"], user=request.user)
        messages.success(request, "Canvas renamed.")
    else:
        messages.error(request, "A canvas needs a name.")
    return redirect(canvas)


@require_POST
def canvas_entry_view(request, canvas_id: int):
    """Save the entry rule (htmx: answers the entry panel)."""
    canvas = _canvas(request, canvas_id)
    form = EntryForm(request.POST)
    segment = segment_from_post(request.POST)
    saved = False
    if form.is_valid():
        try:
            services.canvas_update_entry(
                canvas=canvas, user=request.user, entry_segment=segment, **form.cleaned_data
            )
            saved = True
        except ValidationError as exc:
            form.add_error(None, exc)
    context = {
        "canvas": canvas,
        "entry": _entry_context(canvas, form=form, segment=segment),
        "saved": saved,
    }
    context["entry"]["segment_errors"] = segment_errors(segment)
    return render(
        request, "canvas/builder/_entry.html", context, status=200 if form.is_valid() else 400
    )


@require_GET
def segment_filter_row(request, canvas_id: int):
    """A blank filter row for the entry segment (htmx)."""
    _canvas(request, canvas_id)
    context = {
        "item": {"kind": "attribute", "op": "equals"},
        "filter_kinds": FILTER_KINDS,
        "operators": OPERATORS,
    }
    return render(request, "canvas/builder/_filter_row.html", context)


@require_POST
def segment_count(request, canvas_id: int):
    """The live count of customers matching the segment being edited, and filters that name
    an attribute no recent customer has (htmx)."""
    _canvas(request, canvas_id)
    segment = segment_from_post(request.POST)
    errors = segment_errors(segment)
    count = (
        None if errors else segment_customers(workspace=request.workspace, filters=segment).count()
    )
    known = set(customer_attribute_names(workspace=request.workspace))
    context = {
        "count": count,
        "incomplete": len(errors),
        "warnings": segment_warnings(segment, known_attributes=known),
    }
    return render(request, "canvas/builder/_segment_count.html", context)


def _steps_panel(request, canvas: Canvas, status: int = 200):
    return render(request, "canvas/builder/_steps.html", _builder_context(canvas), status=status)


@require_POST
def step_add_view(request, canvas_id: int):
    """Add a component of the chosen kind at the end (htmx: answers the steps panel)."""
    canvas = _canvas(request, canvas_id)
    try:
        services.step_add(canvas=canvas, kind=request.POST.get("kind", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return _steps_panel(request, canvas, status=400)
    return _steps_panel(request, canvas)


@require_POST
def step_move_view(request, canvas_id: int, step_id: int):
    """Move a component up or down (htmx)."""
    step = _step(request, canvas_id, step_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.step_move(step=step, offset=offset)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return _steps_panel(request, step.canvas)


@require_POST
def step_delete_view(request, canvas_id: int, step_id: int):
    """Delete a component (htmx)."""
    step = _step(request, canvas_id, step_id)
    try:
        services.step_delete(step=step)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return _steps_panel(request, step.canvas)


def _step_response(request, step: Step, card: dict, status: int = 200):
    context = {"card": card, "canvas": step.canvas}
    return render(request, "canvas/builder/_step.html", context, status=status)


def step_editor(request, canvas_id: int, step_id: int):
    """A component's editor: GET shows it, POST saves it (htmx: answers the step card)."""
    step = _step(request, canvas_id, step_id)
    kind = get_kind(step.kind)
    if request.method != "POST" or kind is None:
        return _step_response(request, step, _step_card(step, open_editor=True))
    form = kind.form(step, data=request.POST)
    name_form = StepNameForm(request.POST)
    if not name_form.is_valid():
        form.add_error(None, name_form.errors["step_name"])
    if form.is_valid():
        try:
            services.step_configure(step=step, name=name_form.cleaned_data["step_name"], form=form)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            card = _step_card(step, open_editor=True)
            return _step_response(request, step, {**card, "saved": kind.saved_message(step, form)})
    return _step_response(request, step, _step_card(step, form=form, open_editor=True), status=400)


@require_http_methods(["GET", "POST"])
def canvas_launch_view(request, canvas_id: int):
    """Launch Canvas: refuse with each error shown in the editor at fault (on the canvas page).

    A GET (a bookmarked or reloaded /launch/) launches nothing: it leads to the canvas.
    """
    canvas = _canvas(request, canvas_id)
    if request.method == "GET":
        return redirect(canvas)
    try:
        services.canvas_launch(canvas=canvas, user=request.user)
    except services.LaunchRefused as refused:
        _launch_refusal_keep(request, canvas, refused.check)
        return redirect(canvas)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(canvas)
    messages.success(request, f"“{canvas.name}” is live.")
    return redirect(canvas)


@require_POST
def canvas_stop_view(request, canvas_id: int):
    """Stop: no more entries; customers still in the canvas exit where they are."""
    canvas = _canvas(request, canvas_id)
    try:
        services.canvas_stop(canvas=canvas, user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            f"“{canvas.name}” is stopped. Customers still in it exit at their current step.",
        )
    return redirect(canvas)
