from django import forms

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
