"""The Audience Sync step editor's form: partner, ad account, audience, operation, fields.

Each part may be left unset while the marketer builds the canvas (launch checks
say what is missing). Choosing an audience is checked here, before anything is
saved and outside any transaction, because it may read Pinterest: an existing
audience must still exist and be a customer list; a new name must not be taken.
"""

from __future__ import annotations

from typing import Any

from django import forms

from audiences.models import (
    PINTEREST,
    AudienceStatus,
    MatchField,
    PinterestAudience,
    SyncOperation,
)
from audiences.selectors import pinterest_audience_named
from canvas.forms import refuse_control_characters
from canvas.models import Step
from partners.exceptions import ConnectionUnusable
from partners.models import PinterestAdAccount, PinterestConnection, audience_role_problem
from partners.pinterest import NotFound, PinterestError
from partners.selectors import connection_for_workspace, connection_problem
from partners.services import pinterest_call

NAME_MAX = 200
# The hidden `audience` field: which audience the marketer picked in the search.
EXISTING, DRAFT, NEW = "pinterest", "draft", "new"


def not_a_customer_list(name: str, audience_type: str | None) -> str:
    kind = (audience_type or "unknown").replace("_", " ").lower()
    return (
        f"“{name}” is a {kind} audience: Pinterest only takes users into customer-list "
        "audiences. Choose another audience or create a new one."
    )


def pinterest_unreachable(exc: Exception) -> str:
    if isinstance(exc, ConnectionUnusable):
        return exc.problem
    return f"Pinterest could not be asked just now ({exc}). Try again in a moment."


class AudienceChoice:
    """What the search picked: an audience row to use, or the name of a draft to create."""

    def __init__(self, *, audience: PinterestAudience | None = None, new_name: str = ""):
        self.audience = audience
        self.new_name = new_name


class AudienceSyncForm(forms.Form):
    partner = forms.ChoiceField(
        label="Audience Sync partner", choices=[(PINTEREST, "Pinterest")], initial=PINTEREST
    )
    ad_account = forms.CharField(label="Ad account", required=False)
    audience = forms.CharField(
        label="Choose a New or Existing Audience", required=False, widget=forms.HiddenInput
    )
    operation = forms.ChoiceField(
        label="Action",
        choices=SyncOperation.choices,
        initial=SyncOperation.ADD,
        widget=forms.RadioSelect,
    )
    match_fields = forms.MultipleChoiceField(
        label="Fields to match",
        choices=MatchField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, step: Step, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = step
        self.connection: PinterestConnection | None = connection_for_workspace(
            workspace=step.canvas.workspace
        )

    def ad_accounts(self) -> list[PinterestAdAccount]:
        if self.connection is None or self.connection.is_disconnected:
            return []
        return list(self.connection.ad_accounts.selected())

    def clean_ad_account(self) -> PinterestAdAccount | None:
        value = self.cleaned_data["ad_account"]
        if not value:
            return None
        found = next((a for a in self.ad_accounts() if a.ad_account_id == value), None)
        if found is None:
            raise forms.ValidationError(
                "Choose one of the ad accounts connected on the Pinterest page."
            )
        if problem := audience_role_problem(found.name, found.permissions):
            raise forms.ValidationError(problem)
        return found

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        ad_account = data.get("ad_account")
        kind, _, value = (data.get("audience") or "").partition(":")
        if not kind or "ad_account" in self.errors:
            data["audience"] = AudienceChoice()
        elif ad_account is None:
            self.add_error("audience", "Choose the ad account first.")
        else:
            try:
                data["audience"] = self._audience_choice(kind, value.strip(), ad_account)
            except forms.ValidationError as exc:
                self.add_error("audience", exc)
        choice = data.get("audience")
        if (
            isinstance(choice, AudienceChoice)
            and choice.new_name
            and data.get("operation") == SyncOperation.REMOVE
        ):
            self.add_error(
                "operation",
                "Users can only be removed from an existing or drafted audience: choose one, "
                "or add users instead.",
            )
        return data

    def _audience_choice(
        self, kind: str, value: str, ad_account: PinterestAdAccount
    ) -> AudienceChoice:
        workspace = self.step.canvas.workspace
        if kind == DRAFT:
            audience = (
                PinterestAudience.objects.filter(
                    workspace=workspace, ad_account=ad_account, pk=value
                ).first()
                if value.isdigit()
                else None
            )
            if audience is None:
                raise forms.ValidationError("That draft audience no longer exists.")
            return AudienceChoice(audience=audience)
        if kind == EXISTING:
            return AudienceChoice(audience=self._existing(value, ad_account))
        if kind == NEW:
            return AudienceChoice(new_name=self._new_name(value, ad_account))
        raise forms.ValidationError("Choose an audience from the list.")

    def _pinterest_problem(self) -> str | None:
        return connection_problem(connection=self.connection)

    def _existing(self, audience_id: str, ad_account: PinterestAdAccount) -> PinterestAudience:
        if not audience_id.isdigit():
            raise forms.ValidationError("Choose an audience from the list.")
        known = PinterestAudience.objects.filter(
            ad_account=ad_account, pinterest_audience_id=audience_id
        ).first()
        if problem := self._pinterest_problem():
            raise forms.ValidationError(problem)
        assert self.connection is not None
        try:
            found = pinterest_call(
                connection=self.connection,
                fn=lambda client: client.get_audience(
                    ad_account_id=ad_account.ad_account_id, audience_id=audience_id
                ),
            )
        except NotFound as exc:
            raise forms.ValidationError(
                "That audience no longer exists on Pinterest: choose another one."
            ) from exc
        except (ConnectionUnusable, PinterestError) as exc:
            raise forms.ValidationError(pinterest_unreachable(exc)) from exc
        if not found.is_customer_list:
            raise forms.ValidationError(not_a_customer_list(found.name, found.audience_type))
        audience = known or PinterestAudience(
            workspace=self.step.canvas.workspace,
            ad_account=ad_account,
            pinterest_audience_id=found.id,
            status=AudienceStatus.LIVE,
        )
        audience.name = found.name[:NAME_MAX]
        audience.customer_list_id = found.customer_list_id or ""
        audience.missing_since = None
        return audience

    def _new_name(self, name: str, ad_account: PinterestAdAccount) -> str:
        if not name:
            raise forms.ValidationError("Type a name for the new audience.")
        if len(name) > NAME_MAX:
            raise forms.ValidationError(f"Audience names are at most {NAME_MAX} characters.")
        refuse_control_characters(name)
        taken = PinterestAudience.objects.filter(
            ad_account=ad_account, status=AudienceStatus.DRAFT, name__iexact=name
        ).exists()
        if taken:
            raise forms.ValidationError(
                f"A draft audience named “{name}” already exists for {ad_account.name}: choose it "
                "from the list, or pick another name."
            )
        if problem := self._pinterest_problem():
            raise forms.ValidationError(problem)
        assert self.connection is not None
        try:
            existing = pinterest_audience_named(
                connection=self.connection, ad_account_id=ad_account.ad_account_id, name=name
            )
        except (ConnectionUnusable, PinterestError) as exc:
            raise forms.ValidationError(pinterest_unreachable(exc)) from exc
        if existing is not None:
            raise forms.ValidationError(
                f"{ad_account.name} already has an audience named “{existing.name}” on "
                "Pinterest: choose it from the list, or pick another name."
            )
        return name
