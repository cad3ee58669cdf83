"""The step-kind registry: how a canvas step gets its behaviour.

Like Django's pluggable backends, `StepKind` documents the contract and each
kind implements it. Other apps register their kinds from `AppConfig.ready()`
(the Audience Sync kind lives in `audiences`); this app never imports them.

A kind, with Delay (canvas/steps/delay.py) as the simple example:

- **configures** through an editor form (`form_class`, `form`, `save_config`),
  shown in the step card, or behind a button (`editor_button`);
- **checks for launch** in two phases: `launch_errors_remote` may call the
  network and runs before the canvas row is locked; `launch_errors` is cheap and
  local and runs inside the lock. No HTTP call ever runs under a write lock;
- **handles arrivals** set-based, inside the engine's transaction
  (`handle_arrivals`), and says when the customers move on;
- **declares its analytics**: the counters its card shows (`metrics`, read from
  the per-hour StepMetric rows) and those that move with "Entered" the moment a
  customer arrives (`counted_on_arrival`), so a kind's own identity
  (e.g. Entered = Synced + Not Synced + Pending + Errored) holds at every commit;
  which of them are levels rather than flows (`levels`: left out of the hourly
  table), which the hourly chart draws (`chart_metrics`), and live figures the
  analytics panel shows beside them (`live_figures`: a send rate, a time to drain);
- **may add a section to a customer's page** (`customer_section`), and say what
  troubles a launched step right now (`notices`).

Erasure hooks (canvas/erasure.py) are the other extension point: any app may act
on customers about to be erased.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from django import forms

from canvas import metrics
from canvas.models import Customer, Step

# The counters every step has, as the engine keeps them, with their on-screen labels.
ENGINE_METRICS: tuple[tuple[str, str], ...] = (
    (metrics.ENTERED, "Entered"),
    (metrics.PROCEEDED, "Proceeded to Next Step"),
    (metrics.EXITED, "Exited Canvas"),
)

# What a kind's hourly chart draws unless it says otherwise.
ENGINE_CHART: tuple[str, ...] = (metrics.ENTERED, metrics.EXITED)


@dataclass(frozen=True)
class CustomerSection:
    """A block a kind adds to a customer's page: a template and its context."""

    template: str
    context: dict[str, Any]


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
    # None: the editor shows in the step card. A label: the card shows a button
    # of that name that opens the editor (htmx, in place).
    editor_button: ClassVar[str | None] = None
    # (metric, label) pairs the card shows, in order (see the module docstring).
    metrics: ClassVar[tuple[tuple[str, str], ...]] = ENGINE_METRICS
    # Metrics incremented together with "Entered" when customers arrive.
    counted_on_arrival: ClassVar[tuple[str, ...]] = ()
    # Metrics that say how many are in a state now (a level), not how many moved in
    # an hour: an hour's net change of a level reads as nonsense, so the hourly
    # table leaves them out; the totals show them.
    levels: ClassVar[tuple[str, ...]] = ()
    # The flows the hourly chart draws, in its legend's order.
    chart_metrics: ClassVar[tuple[str, ...]] = ENGINE_CHART

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

    def save_config(self, step: Step, form: forms.Form) -> None:
        """Store a valid editor form (inside the caller's transaction); by default as step.config."""
        step.config = self.config_from_form(form)
        step.save(update_fields=["config", "updated_at"])

    def saved_message(self, step: Step, form: forms.Form) -> str:
        """The notice the editor shows once saved (e.g. that an audience was drafted)."""
        return "Saved."

    def launch_errors_remote(self, step: Step) -> list[str]:
        """Launch checks that need the network; run before any lock is taken. None by default."""
        return []

    def launch_errors(self, step: Step) -> list[str]:
        """What must be fixed in this step before its canvas can launch; empty when ready.

        Runs inside the canvas row lock: local reads only, never the network.
        """
        form = self.form_class(data=step.config)
        if form.is_valid():
            return []
        return [
            f"{form.fields[name].label or name}: {' '.join(map(str, errs))}"
            if name != "__all__"
            else " ".join(map(str, errs))
            for name, errs in form.errors.items()
        ]

    def summary(self, step: Step) -> str:
        """One line describing the configured step, for the step list."""
        return self.label

    def notices(self, step: Step) -> list[str]:
        """Problems a launched step has right now (e.g. its partner paused), shown on its card."""
        return []

    def live_figures(self, step: Step, totals: dict[str, int]) -> list[tuple[str, str]]:
        """(label, value) pairs shown beside a launched step's numbers, e.g. a send rate.

        Called on every refresh of the analytics panel: a bounded number of queries,
        whatever the number of customers.
        """
        return []

    def customer_section(self, customer: Customer) -> CustomerSection | None:
        """A section this kind adds to a customer's page, or None."""
        return None

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


def arrival_counts(step: Step, count: int) -> dict[tuple[int, str], int]:
    """The counters that move when `count` customers arrive at a step: Entered and the kind's."""
    kind = get_kind(step.kind)
    extra = kind.counted_on_arrival if kind is not None else ()
    return {(step.pk, metric): count for metric in (metrics.ENTERED, *extra)}
