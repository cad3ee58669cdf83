"""Writes behind the Audience Sync editor: drafting audiences, recording chosen ones, settings."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from audiences.models import (
    AudienceStatus,
    AudienceSyncStep,
    MatchField,
    PinterestAudience,
)
from canvas.models import Step
from partners.models import PinterestAdAccount


def audience_create_draft(
    *, step: Step, ad_account: PinterestAdAccount, name: str
) -> PinterestAudience:
    """Name a new audience in draft: Pinterest sees it only when its first batch is sent."""
    try:
        with transaction.atomic():
            return PinterestAudience.objects.create(
                workspace=step.canvas.workspace,
                ad_account=ad_account,
                name=name,
                status=AudienceStatus.DRAFT,
            )
    except IntegrityError as exc:  # the same name drafted a moment ago, elsewhere
        raise ValidationError(
            f"A draft audience named “{name}” was just created: choose it."
        ) from exc


def audience_record_existing(*, audience: PinterestAudience) -> PinterestAudience:
    """Keep (or refresh) our row of an audience that exists on Pinterest."""
    audience.save()
    return audience


def audience_sync_settings(*, step: Step) -> AudienceSyncStep:
    """The step's Audience Sync settings, created empty on first use."""
    settings, _ = AudienceSyncStep.objects.get_or_create(step=step)
    return settings


@transaction.atomic
def audience_sync_configure(
    *,
    step: Step,
    partner: str,
    ad_account: PinterestAdAccount | None,
    audience: PinterestAudience | None,
    new_audience_name: str,
    operation: str,
    match_fields: list[str],
) -> tuple[AudienceSyncStep, PinterestAudience | None]:
    """Store an Audience Sync step's settings; returns them and the audience drafted, if any.

    Pinterest was read (if at all) before this is called, by the editor's form.
    """
    drafted = None
    if new_audience_name and ad_account is not None:
        drafted = audience = audience_create_draft(
            step=step, ad_account=ad_account, name=new_audience_name
        )
    elif audience is not None and not audience.is_draft:
        audience = audience_record_existing(audience=audience)
    settings = audience_sync_settings(step=step)
    settings.partner = partner
    settings.ad_account = ad_account
    settings.audience = audience if ad_account is not None else None
    settings.operation = operation
    settings.match_email = MatchField.EMAIL in match_fields
    settings.match_maid = MatchField.MAID in match_fields
    settings.save()
    return settings, drafted
