from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from canvas.models import Role


class WorkspaceForm(forms.Form):
    name = forms.CharField(
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
    name = forms.CharField(
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
