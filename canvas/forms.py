import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from canvas.models import EntryType, Role
from canvas.segments import BUILT_IN


def refuse_control_characters(value: str) -> None:
    """Names are one line of plain text: a line break in one ends up in an email header."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise forms.ValidationError(
            "Remove the control characters (line breaks, tabs, NUL) from this text."
        )


class PlainTextField(forms.CharField):
    """One line of text without control characters (Django's CharField already refuses NUL)."""

    default_validators = [refuse_control_characters]


class WorkspaceForm(forms.Form):
    name = PlainTextField(
        max_length=100,
        label="Workspace name",
        help_text="Usually your company or brand. You can change it later.",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MARKETER,
        help_text="Admins also manage members, API keys and the Pinterest connection.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = PlainTextField(
        max_length=100,
        label="Key name",
        help_text="What uses this key, e.g. “Production backend”.",
    )


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        limit = settings.CUSTOMER_IMPORT_MAX_BYTES
        if file.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(file.size)}; files up to "
                f"{filesizeformat(limit)} can be imported here. Split it, or ask an operator "
                "to run `manage.py import_customers`, which has no limit."
            )
        return file


class CanvasNameForm(forms.Form):
    name = PlainTextField(max_length=200, label="Canvas name")


class StepNameForm(forms.Form):
    step_name = PlainTextField(max_length=200, required=False, label="Component name")


class EntryForm(forms.Form):
    entry_type = forms.ChoiceField(
        label="Entry", choices=EntryType.choices, widget=forms.RadioSelect
    )
    entry_event = PlainTextField(
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
