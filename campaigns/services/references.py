"""Campaigns a marketing tool knows under its own id (campaigns.ExternalReference):
created the first time a (source, id) is saved, updated the next times, through the same
services as the campaign form, so the same rules and notifications apply. The CSV import
(campaigns.imports) saves each of its rows this way."""

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.changes import content_of
from campaigns.models import REFERENCE_SOURCE_PATTERN, Campaign, ExternalReference
from campaigns.services.common import lock_campaign
from campaigns.services.editing import CampaignInput, campaign_create, campaign_update
from core.errors import AccessError, DomainError
from core.text import has_control_characters

SOURCE_MAX_LENGTH = 40
EXTERNAL_ID_MAX_LENGTH = 200
# What an update may take from its input alone (CampaignInput's own names, "team_ids" for
# the stakeholder teams); the others keep the campaign's values.
UPDATABLE_FIELDS = frozenset({*Campaign.CONTENT_FIELDS, "team_ids"})


@dataclass(frozen=True)
class ReferenceSaved:
    campaign: Campaign
    created: bool
    changed: bool  # False when the campaign already held these values


def reference_errors(*, source: str, external_id: str) -> dict[str, list[str]]:
    """What is wrong with a reference, as {"source"|"external_id": [messages]}."""
    errors: dict[str, list[str]] = {}
    if not source:
        errors["source"] = [_("The source is required.")]
    elif len(source) > SOURCE_MAX_LENGTH or not re.match(REFERENCE_SOURCE_PATTERN, source):
        errors["source"] = [
            _(
                "The source must be a lowercase word of at most %(max)s letters, digits, "
                "hyphens or underscores, such as “hubspot”."
            )
            % {"max": SOURCE_MAX_LENGTH}
        ]
    if not external_id.strip():
        errors["external_id"] = [_("The external id is required.")]
    elif len(external_id.strip()) > EXTERNAL_ID_MAX_LENGTH:
        errors["external_id"] = [
            _("The external id must be at most %(max)s characters.")
            % {"max": EXTERNAL_ID_MAX_LENGTH}
        ]
    elif has_control_characters(external_id.strip()):
        errors["external_id"] = [
            _("The external id must fit on one line, without tabs or control characters.")
        ]
    return errors


def input_over_campaign(
    campaign: Campaign, team_ids: Sequence[int], data: CampaignInput, fields: Collection[str]
) -> CampaignInput:
    """`data`'s `fields` (UPDATABLE_FIELDS) over what the campaign holds now (its
    content, and `team_ids`, its current stakeholder teams): an import that has no body
    column leaves the body alone."""
    kept: dict[str, Any] = {
        name: getattr(campaign, name) for name in Campaign.CONTENT_FIELDS if name not in fields
    }
    if "team_ids" not in fields:
        kept["team_ids"] = list(team_ids)
    return replace(data, **kept)


def _state(campaign: Campaign) -> tuple[object, ...]:
    """What campaign_update may change, to tell whether it did (its timeline does not
    record the KPIs)."""
    return (
        content_of(campaign),
        sorted(campaign.stakeholders.values_list("team_id", flat=True)),
        sorted(campaign.editors.values_list("pk", flat=True)),
        list(campaign.kpis.order_by("name").values_list("name", "target", "unit", "direction")),
    )


class _TakenMeanwhile(Exception):
    """Another transaction saved the same reference first."""


def _save(
    actor: User,
    source: str,
    external_id: str,
    data: CampaignInput,
    fields: Collection[str] | None,
) -> ReferenceSaved:
    campaign_id = (
        ExternalReference.objects.filter(source=source, external_id=external_id)
        .values_list("campaign_id", flat=True)
        .first()
    )
    if campaign_id is None:
        campaign = campaign_create(actor=actor, data=data)
        try:
            with transaction.atomic():
                ExternalReference.objects.create(
                    campaign=campaign, source=source, external_id=external_id
                )
        except IntegrityError:
            raise _TakenMeanwhile from None
        return ReferenceSaved(campaign=campaign, created=True, changed=True)
    # Locked before reading what it holds: the values this update keeps are the ones it
    # writes back, not older ones from before someone else's edit.
    campaign = lock_campaign(campaign_id)
    if fields is not None:
        team_ids = list(campaign.stakeholders.values_list("team_id", flat=True))
        data = input_over_campaign(campaign, team_ids, data, fields)
    before = _state(campaign)
    campaign = campaign_update(actor=actor, campaign_id=campaign_id, data=data)
    return ReferenceSaved(campaign=campaign, created=False, changed=_state(campaign) != before)


def campaign_save_by_reference(
    *,
    actor: User,
    source: str,
    external_id: str,
    data: CampaignInput,
    fields: Collection[str] | None = None,
) -> ReferenceSaved:
    """Create the campaign `source` knows as `external_id`, or update the one it already
    does: campaign_create and the reference in one transaction the first time,
    campaign_update the next times (the same rules and notifications as the form: a done
    or cancelled campaign refuses with its DomainError; a material change after
    announcement makes a new version). `fields` (UPDATABLE_FIELDS) limits an update to
    those of `data`; the others keep the campaign's values, read under its lock.

    One transaction. Idempotent: saving the same values again changes and records
    nothing (`changed` is False). Two first saves at once create one campaign: the
    unique (source, id) stops the second, which then updates the first's campaign.
    The id is taken without its surrounding blanks.
    """
    external_id = external_id.strip()
    if errors := reference_errors(source=source, external_id=external_id):
        raise DomainError.for_fields(errors)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _save(actor, source, external_id, data, fields)
        except _TakenMeanwhile:
            # The other save committed before this one's reference could be written (on
            # PostgreSQL the insert waited for it): this one's campaign is rolled back,
            # and the next attempt finds the reference naming the winner's campaign.
            if attempt:
                break
    # Created, then deleted, then created again meanwhile: not worth a loop.
    raise DomainError(
        _("This campaign is being saved by someone else at the same time: try again."),
        code="conflict",
    )


# --- many at once: the CSV import ------------------------------------------------------------


@dataclass(frozen=True)
class ImportItem:
    """One row to save: its number in the file (for the report) and what to save."""

    row: int
    title: str
    external_id: str
    data: CampaignInput
    fields: frozenset[str]  # on an update, what the row gives (see UPDATABLE_FIELDS)


@dataclass(frozen=True)
class ImportFailure:
    row: int
    title: str
    message: str


@dataclass(frozen=True)
class ImportOutcome:
    created: list[int] = field(default_factory=list)  # campaign ids
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    failed: list[ImportFailure] = field(default_factory=list)


def campaigns_import(*, actor: User, source: str, items: Sequence[ImportItem]) -> ImportOutcome:
    """Save each item by its reference (campaign_save_by_reference), in file order.

    One transaction per item, not one for the file: a row the rules refuse (a campaign
    done since the preview, another person's campaign) is reported and the others are
    still saved, and each campaign's notifications go out when its own row commits.
    Idempotent like the save it repeats: importing the same file again changes nothing.
    """
    outcome = ImportOutcome()
    for item in items:
        try:
            saved = campaign_save_by_reference(
                actor=actor,
                source=source,
                external_id=item.external_id,
                data=item.data,
                fields=item.fields,
            )
        except (DomainError, AccessError) as error:
            outcome.failed.append(ImportFailure(item.row, item.title, error.message))
            continue
        if saved.created:
            outcome.created.append(saved.campaign.pk)
        elif saved.changed:
            outcome.updated.append(saved.campaign.pk)
        else:
            outcome.unchanged.append(saved.campaign.pk)
    return outcome
