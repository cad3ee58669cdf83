"""The Audience Sync step kind: what the canvas builder and engine call (canvas/steps/registry.py).

Registered by AudiencesConfig.ready(). Its settings live in AudienceSyncStep rows
(not in Step.config), so the engine and the analytics can join on the audience.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.urls import reverse
from django.utils import timezone

from audiences import analytics, explain, throughput
from audiences.entry import sync_items_enter
from audiences.flusher import SPAM_COOL_OFF
from audiences.forms import (
    DRAFT,
    EXISTING,
    AudienceChoice,
    AudienceSyncForm,
    not_a_customer_list,
    pinterest_unreachable,
)
from audiences.models import (
    AudienceSyncStep,
    PinterestAudience,
    SyncItem,
    SyncOperation,
    WriteBudget,
)
from audiences.services import audience_sync_configure
from canvas import metrics as metrics_
from canvas.models import Customer, Step
from canvas.steps.registry import Arrival, CustomerSection, StepKind
from partners.exceptions import ConnectionUnusable
from partners.models import audience_role_problem
from partners.pinterest import NotFound, PinterestError
from partners.selectors import connection_for_workspace, connection_problem
from partners.services import pinterest_call

HISTORY_SHOWN = 100


def _settings(step: Step) -> AudienceSyncStep | None:
    return (
        AudienceSyncStep.objects.select_related("ad_account", "audience__ad_account")
        .filter(step=step)
        .first()
    )


class AudienceSyncKind(StepKind):
    """Add customers to (or remove them from) a Pinterest audience as they arrive."""

    key = "audience_sync"
    label = "Audience Sync"
    description = "Add customers to, or remove them from, a Pinterest audience."
    form_class = AudienceSyncForm
    editor_template = "audiences/step_editor.html"
    editor_button = "Custom Audience"
    metrics = analytics.STEP_METRICS
    # Everyone who arrives is pending until the entry handler decides (then the engine moves on).
    counted_on_arrival = (analytics.PENDING,)
    levels = (analytics.PENDING,)
    chart_metrics = (metrics_.ENTERED, analytics.SYNCED, analytics.ERRORED)

    # The editor

    def form(self, step: Step, data=None) -> forms.Form:
        settings = _settings(step)
        initial: dict[str, Any] = {}
        if settings is not None:
            initial = {
                "partner": settings.partner,
                "ad_account": settings.ad_account.ad_account_id if settings.ad_account else "",
                "audience": _audience_value(settings.audience),
                "operation": settings.operation,
                "match_fields": settings.match_fields,
            }
        return AudienceSyncForm(
            data=data, initial=initial, step=step, auto_id=f"id_step{step.pk}_%s"
        )

    def save_config(self, step: Step, form: forms.Form) -> None:
        choice: AudienceChoice = form.cleaned_data["audience"]
        _, drafted = audience_sync_configure(
            step=step,
            partner=form.cleaned_data["partner"],
            ad_account=form.cleaned_data["ad_account"],
            audience=choice.audience,
            new_audience_name=choice.new_name,
            operation=form.cleaned_data["operation"],
            match_fields=form.cleaned_data["match_fields"],
        )
        form.drafted = drafted  # type: ignore[attr-defined] # read by saved_message

    def saved_message(self, step: Step, form: forms.Form) -> str:
        drafted = getattr(form, "drafted", None)
        if drafted is not None:
            return (
                f"Audience “{drafted.name}” is created in draft. Pinsync creates it on Pinterest "
                "with the first customers this step syncs; later steps can remove users from it."
            )
        return "Saved."

    def editor_context(self, step: Step) -> dict[str, Any]:
        workspace = step.canvas.workspace
        connection = connection_for_workspace(workspace=workspace)
        problem = connection_problem(connection=connection)
        accounts = []
        if connection is not None and connection.is_connected:
            accounts = [
                (account, audience_role_problem(account.name, account.permissions))
                for account in connection.ad_accounts.selected()
            ]
        settings = _settings(step)
        url_kwargs = {"workspace": workspace.slug, "canvas_id": step.canvas_id, "step_id": step.pk}
        return {
            "connection_problem": problem,
            "ad_accounts": accounts,
            "partner_url": reverse("partners:pinterest", kwargs={"workspace": workspace.slug}),
            "chosen_label": _audience_label(settings.audience if settings else None),
            "search_url": reverse("audiences:audience_search", kwargs=url_kwargs),
            "coverage_url": reverse("audiences:coverage", kwargs=url_kwargs),
        }

    def summary(self, step: Step) -> str:
        settings = _settings(step)
        if settings is None or settings.audience is None:
            return "Not set"
        fields = [
            name
            for name, on in (("Email", settings.match_email), ("MAID", settings.match_maid))
            if on
        ]
        verb = "Add to" if settings.operation == SyncOperation.ADD else "Remove from"
        draft = " (draft)" if settings.audience.is_draft else ""
        account = settings.ad_account.name if settings.ad_account else ""
        return f"{verb} “{settings.audience.name}”{draft} in {account} · {', '.join(fields) or 'no field'}"

    # Launch checks

    def launch_errors(self, step: Step) -> list[str]:
        settings = _settings(step)
        connection = connection_for_workspace(workspace=step.canvas.workspace)
        errors = []
        if problem := connection_problem(connection=connection):
            errors.append(problem)
        ad_account = settings.ad_account if settings else None
        if ad_account is None:
            errors.append("Choose the Pinterest ad account to sync into.")
        elif ad_account.disconnected_at is not None or (
            connection is not None and ad_account.connection_id != connection.pk
        ):
            errors.append(
                f"{ad_account.name} is no longer connected: an admin can add it again on the "
                "Pinterest page, or choose another ad account."
            )
        elif role_problem := audience_role_problem(ad_account.name, ad_account.permissions):
            errors.append(role_problem)
        audience = settings.audience if settings else None
        if audience is None:
            if settings is not None and settings.operation == SyncOperation.REMOVE:
                errors.append("Choose the existing or drafted audience to remove users from.")
            else:
                errors.append("Choose an audience, or type a name and create a new one.")
        elif ad_account is not None and audience.ad_account_id != ad_account.pk:
            errors.append(f"“{audience.name}” belongs to another ad account: choose it again.")
        elif audience.missing_since is not None:
            errors.append(
                f"“{audience.name}” no longer exists on Pinterest: choose another audience."
            )
        if settings is None or not settings.match_fields:
            errors.append("Choose at least one field to match: Email or Mobile Advertising ID.")
        return errors

    def launch_errors_remote(self, step: Step) -> list[str]:
        """Is the existing audience still on Pinterest (and still a customer list)?"""
        settings = _settings(step)
        audience = settings.audience if settings else None
        if audience is None or audience.is_draft:
            return []
        connection = connection_for_workspace(workspace=step.canvas.workspace)
        if connection_problem(connection=connection) is not None:
            return []  # the local checks say why
        assert connection is not None
        try:
            found = pinterest_call(
                connection=connection,
                fn=lambda client: client.get_audience(
                    ad_account_id=audience.ad_account.ad_account_id,
                    audience_id=audience.pinterest_audience_id,
                ),
            )
        except NotFound:
            PinterestAudience.objects.filter(pk=audience.pk).update(missing_since=timezone.now())
            return [f"“{audience.name}” no longer exists on Pinterest: choose another audience."]
        except (ConnectionUnusable, PinterestError) as exc:
            return [f"Could not check “{audience.name}” on Pinterest. {pinterest_unreachable(exc)}"]
        if not found.is_customer_list:
            return [not_a_customer_list(found.name, found.audience_type)]
        # Just read: the flusher need not read it again before its first batch. A 404
        # seen earlier was passing (it is back on Pinterest).
        PinterestAudience.objects.filter(pk=audience.pk).update(
            missing_since=None, checked_at=timezone.now()
        )
        return []

    def notices(self, step: Step) -> list[str]:
        settings = _settings(step)
        if settings is None or settings.audience is None:
            return []
        found = []
        connection = connection_for_workspace(workspace=step.canvas.workspace)
        if problem := connection_problem(connection=connection):
            found.append(f"Syncing is paused: {problem}")
        audience = settings.audience
        if audience.missing_since is not None:
            found.append(
                f"The audience “{audience.name}” does not exist on Pinterest any more (deleted "
                f"there on or before {audience.missing_since:%b %d, %H:%M} UTC). Its customers "
                "are retried until 13 hours after they entered, then counted as errored."
            )
        if connection is not None:
            budget = WriteBudget.objects.filter(
                connection=connection, blocked_at__gt=timezone.now() - SPAM_COOL_OFF
            ).first()
            if budget is not None:
                found.append(
                    "Pinterest stopped accepting writes from this connection as spam "
                    f"(“{budget.blocked_message}”). Sending resumes an hour after "
                    f"{budget.blocked_at:%H:%M} UTC; check the Business Hub meanwhile."
                )
        return found

    def live_figures(self, step: Step, totals: dict[str, int]) -> list[tuple[str, str]]:
        """The connection's send rate against its ceiling, and the time to drain Users Pending."""
        settings = _settings(step)
        if settings is None or settings.ad_account is None:
            return []
        connection = settings.ad_account.connection
        now = timezone.now()
        rate = throughput.send_rate(connection_id=connection.pk, now=now)
        paused = connection_problem(connection=connection)
        if paused is None and settings.audience is not None and settings.audience.missing_since:
            paused = "the audience does not exist on Pinterest any more."
        return [
            ("Send rate", throughput.rate_words(rate)),
            (
                "Time to drain Users Pending",
                throughput.drain_words(
                    pending=totals.get(analytics.PENDING, 0),
                    backlog=throughput.connection_pending(connection_id=connection.pk),
                    rate=rate,
                    paused=paused,
                ),
            ),
        ]

    # The engine

    def handle_arrivals(self, step: Step, arrivals: list[Arrival], now: datetime) -> datetime:
        sync_items_enter(step=step, arrivals=arrivals, now=now)
        return now  # the sync happens in the background; customers go on at once

    # The customer's page

    def customer_section(self, customer: Customer) -> CustomerSection | None:
        items = list(
            SyncItem.objects.filter(customer=customer)
            .select_related("audience__ad_account", "step__canvas", "batch")
            .order_by("-entered_at", "-id")[:HISTORY_SHOWN]
        )
        now = timezone.now()
        rows = [{"item": item, "state": explain.item_state(item, now=now)} for item in items]
        return CustomerSection(template="audiences/customer_section.html", context={"rows": rows})


def _audience_value(audience: PinterestAudience | None) -> str:
    if audience is None:
        return ""
    if audience.is_draft:
        return f"{DRAFT}:{audience.pk}"
    return f"{EXISTING}:{audience.pinterest_audience_id}"


def _audience_label(audience: PinterestAudience | None) -> str:
    if audience is None:
        return ""
    return f"{audience.name} (draft)" if audience.is_draft else audience.name
