"""A person snoozing a campaign's reminders until a time, never past their team's due date
(the escalation goes out at the due date whatever the snooze)."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import ReminderSnooze, Stakeholder
from campaigns.rules import Action
from campaigns.services.common import (
    lock_campaign,
    require,
    stakeholders_with_acknowledgements,
)
from core.errors import DomainError
from core.working_time import add_working_hours, next_working_day_start
from teams.roles import Actor

# What the inbox, the campaign page and chat offer.
IN_TWO_WORKING_HOURS = "2h"
NEXT_WORKING_DAY = "tomorrow"
SNOOZE_CHOICES = (IN_TWO_WORKING_HOURS, NEXT_WORKING_DAY)


@dataclass(frozen=True)
class Snoozed:
    until: datetime
    capped: bool  # the choice went past the team's due date: held until the due date


def _my_pending_team(stakeholders: list[Stakeholder], actor: User) -> Stakeholder:
    """The actor's team that is due first among those that have not acknowledged."""
    mine = [
        s
        for s in stakeholders
        if s.team_id in Actor.of(actor).team_ids
        and s.acknowledged_version != s.campaign.version
        and s.due_at is not None
    ]
    return min(mine, key=lambda s: s.due_at or timezone.now())


def snooze_until(*, choice: str, stakeholder: Stakeholder, now: datetime) -> datetime:
    """The instant a choice means, in the team's working calendar."""
    calendar = stakeholder.team.working_calendar()
    if choice == IN_TWO_WORKING_HOURS:
        return add_working_hours(now, 2, calendar)
    if choice == NEXT_WORKING_DAY:
        return next_working_day_start(now, calendar)
    raise DomainError.for_fields({"until": [_("Choose when to be reminded.")]})


def reminders_snooze(
    *,
    actor: User,
    campaign_id: int,
    choice: str = "",
    until: datetime | None = None,
    now: datetime | None = None,
) -> Snoozed:
    """Hold the actor's reminders about the campaign until `until` or a `choice` ("2h":
    in two working hours; "tomorrow": when the next working day begins), at most until
    their team's due date. Snoozing again moves the time. One transaction, campaign
    locked; a reminder already owed stays owed."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
        require(Action.SNOOZE, actor, campaign, stakeholders=stakeholders, now=now)
        for stakeholder in stakeholders:
            stakeholder.campaign = campaign
        team = _my_pending_team(stakeholders, actor)
        wanted = (
            until if until is not None else snooze_until(choice=choice, stakeholder=team, now=now)
        )
        if wanted <= now:
            raise DomainError.for_fields({"until": [_("Choose a time in the future.")]})
        assert team.due_at is not None
        capped = wanted > team.due_at
        held = min(wanted, team.due_at)
        ReminderSnooze.objects.update_or_create(
            user=actor, campaign=campaign, defaults={"until": held}
        )
    return Snoozed(until=held, capped=capped)


def reminders_snooze_cancel(*, actor: User, campaign_id: int) -> bool:
    """Reminders as usual again; an owed reminder goes out at the next beat tick. Only on
    a campaign the person may see (a draft is "not found")."""
    with transaction.atomic():
        require(Action.VIEW, actor, lock_campaign(campaign_id))
    snoozes = ReminderSnooze.objects.filter(user=actor, campaign_id=campaign_id)
    deleted, _rows = snoozes.filter(owed_version__isnull=True).delete()
    return bool(deleted or snoozes.update(until=timezone.now()))
