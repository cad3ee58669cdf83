"""The step-kind registry: how a canvas step gets its behaviour.

Like Django's pluggable backends, `StepKind` documents the contract and each
kind implements it. Other apps register their kinds from `AppConfig.ready()`
(the Audience Sync kind lives in `audiences`); this app never imports them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django import forms

from canvas.models import Step


@dataclass(frozen=True)
class Arrival:
    """One enrollment arriving at a step: what a kind's handler receives."""

    enrollment_id: int
    customer_id: int


class StepKind:
    """Base class of a step kind. Subclass, set the class attributes, register()."""

    key: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    form_class: ClassVar[type[forms.Form]]
    editor_template: ClassVar[str] = "canvas/steps/editor_form.html"

    def default_config(self) -> dict[str, Any]:
        """The config of a freshly added step of this kind."""
        return {}

    def form(self, step: Step, data=None) -> forms.Form:
        """The editor's form, bound to posted data or filled from the step's config."""
        # Ids unique per step: several editors share the builder page.
        return self.form_class(data=data, initial=step.config, auto_id=f"id_step{step.pk}_%s")

    def config_from_form(self, form: forms.Form) -> dict[str, Any]:
        """The config to store from a valid editor form."""
        return dict(form.cleaned_data)

    def editor_context(self, step: Step) -> dict[str, Any]:
        """Extra template context for the editor."""
        return {}

    def launch_errors(self, step: Step) -> list[str]:
        """What must be fixed in this step before its canvas can launch; empty when ready."""
        form = self.form_class(data=step.config)
        if form.is_valid():
            return []
        return [
            f"{form.fields[name].label or name}: {' '.join(errs)}"
            if name != "__all__"
            else " ".join(errs)
            for name, errs in form.errors.items()
        ]

    def summary(self, step: Step) -> str:
        """One line describing the configured step, for the step list."""
        return self.label

    def handle_arrivals(self, step: Step, arrivals: list[Arrival], now: datetime) -> datetime:
        """Act on a chunk of enrollments arriving at the step, inside the engine's transaction.

        Return when they may move on: `now` (or earlier) to go on at once, a later time
        to wait. Must be set-based: bulk queries over the whole chunk, no save() per customer.
        """
        raise NotImplementedError


_kinds: dict[str, StepKind] = {}


def register(kind: StepKind) -> StepKind:
    """Make a kind available to the builder and the engine."""
    _kinds[kind.key] = kind
    return kind


def get_kind(key: str) -> StepKind | None:
    """The registered kind of that key, or None (e.g. its app was removed)."""
    return _kinds.get(key)


def all_kinds() -> list[StepKind]:
    """Every registered kind, in registration order."""
    return list(_kinds.values())
