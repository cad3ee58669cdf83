"""Forms of the canvas builder."""

from typing import Any

from django import forms

from canvas.models import EntryType
from canvas.segments import BUILT_IN, OPERATORS


class CanvasNameForm(forms.Form):
    name = forms.CharField(max_length=200, label="Canvas name")


class EntryForm(forms.Form):
    entry_type = forms.ChoiceField(
        label="Entry", choices=EntryType.choices, widget=forms.RadioSelect
    )
    entry_event = forms.CharField(
        label="Custom event",
        max_length=200,
        required=False,
        help_text="Customers enter when the ingestion API receives this event for them.",
    )
    allow_reentry = forms.BooleanField(
        label="Allow customers to enter again after they exit", required=False
    )


FILTER_KINDS = [("attribute", "Attribute")] + [(k, label) for k, (label, _) in BUILT_IN.items()]


def segment_from_post(data) -> list[dict[str, Any]]:
    """The segment filters posted by the entry editor's repeated filter rows."""
    kinds = data.getlist("filter_kind")
    attributes = data.getlist("filter_attribute")
    ops = data.getlist("filter_op")
    values = data.getlist("filter_value")
    filters = []
    for i, kind in enumerate(kinds):
        if kind == "attribute":
            filters.append(
                {
                    "kind": "attribute",
                    "attribute": (attributes[i] if i < len(attributes) else "").strip(),
                    "op": ops[i] if i < len(ops) else "",
                    "value": (values[i] if i < len(values) else "").strip(),
                }
            )
        elif kind:
            filters.append({"kind": kind})
    return filters


__all__ = ["OPERATORS"]
