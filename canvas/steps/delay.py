from datetime import datetime, timedelta

from django import forms

from canvas.models import Step
from canvas.steps.registry import Arrival, StepKind, register

UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}
MAX_DELAY = timedelta(days=365)


class DelayForm(forms.Form):
    amount = forms.IntegerField(label="Wait", min_value=0, max_value=100_000)
    unit = forms.ChoiceField(label="Unit", choices=[(u, u.capitalize()) for u in UNITS])

    def clean(self):
        data = super().clean()
        if "amount" in data and "unit" in data and data["amount"] * UNITS[data["unit"]] > MAX_DELAY:
            raise forms.ValidationError("A delay can last at most 365 days.")
        return data


class DelayKind(StepKind):
    """Hold customers for a while before the next step."""

    key = "delay"
    label = "Delay"
    description = "Wait minutes, hours or days before the next step."
    form_class = DelayForm

    def default_config(self):
        # Unset on purpose: the marketer chooses the wait; launch refuses until then.
        return {}

    def launch_errors(self, step: Step) -> list[str]:
        if "amount" not in step.config:
            return ["Choose how long to wait."]
        return super().launch_errors(step)

    def summary(self, step: Step) -> str:
        amount, unit = step.config.get("amount"), step.config.get("unit", "")
        if amount == 0:
            return "No wait"
        if amount is None:
            return "Not set"
        return f"Wait {amount} {unit[:-1] if amount == 1 else unit}"

    def handle_arrivals(self, step: Step, arrivals: list[Arrival], now: datetime) -> datetime:
        return now + step.config["amount"] * UNITS[step.config["unit"]]


register(DelayKind())
