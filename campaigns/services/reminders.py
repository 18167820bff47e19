"""Reminders before a team's due date, escalations after it (beat), and nudges (managers
and team leads, from the dashboard)."""

import operator
from dataclasses import dataclass
from datetime import datetime
from functools import reduce

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Campaign, ReminderSnooze, Stakeholder
from campaigns.rules import AWAITING, Action, status_q
from campaigns.selectors import nudge_occurrence, nudges_this_hour
from campaigns.services.common import (
    campaign_missing,
    lock_campaign,
    notification_payload,
    require,
    stakeholders_with_acknowledgements,
)
from core.errors import DomainError
from core.working_time import add_working_hours, is_working_time
from notifications import services as notifications
from notifications.models import Kind as NotificationKind
from notifications.payload import PayloadExtra
from teams.models import WORKING_CALENDAR_FIELDS, Membership, Team
from teams.selectors import managers


def campaigns_send_due_reminders_and_escalations(*, now: datetime | None = None) -> dict[str, int]:
    """Remind members whose team's due date is near, escalate to leads and managers when it
    has passed. Safe to run as often as beat likes: a team is reminded and escalated at
    most once per campaign version (recorded on the stakeholder row, and each notice has
    a dedupe key), and only teams with something left to send are read. One short
    transaction per team.

    Working time: nothing is sent to a team outside its working hours (a due date that
    passed on Friday at 18:00 escalates on Monday at 09:00, not on Saturday), and "this
    many hours before the deadline" counts the team's working hours."""
    now = now or timezone.now()
    owed = _owed_reminders_send(now)
    due_soon = _teams_at_work(now)
    if not due_soon:
        return {"reminders": owed, "escalations": 0}
    version = F("campaign__version")
    not_reminded = Q(reminded_version__isnull=True) | ~Q(reminded_version=version)
    not_escalated = Q(escalated_version__isnull=True) | ~Q(escalated_version=version)
    at_work = [team_id for team_ids in due_soon.values() for team_id in team_ids]
    # Teams that share a calendar and a reminder lead time share a horizon: one condition
    # each, not one per team.
    remind = reduce(
        operator.or_,
        (
            Q(team_id__in=team_ids, due_at__gt=now, due_at__lte=horizon)
            for horizon, team_ids in due_soon.items()
        ),
    )
    candidates = (
        Stakeholder.objects.filter(status_q(AWAITING, "campaign__"), due_at__isnull=False)
        .pending()
        .filter((Q(team_id__in=at_work, due_at__lte=now) & not_escalated) | (remind & not_reminded))
        .select_related("team", "campaign", "campaign__owner")
        .order_by("due_at", "pk")
    )
    counts = {"reminders": owed, "escalations": 0}
    manager_ids = list(managers().values_list("pk", flat=True))
    for stakeholder in candidates.iterator(chunk_size=500):
        campaign = stakeholder.campaign
        team = stakeholder.team
        assert stakeholder.due_at is not None
        payload = notification_payload(
            campaign, team=team.name, due_at=stakeholder.due_at.isoformat()
        )
        with transaction.atomic():
            # The campaign first, as every service locks (writing its stakeholder row
            # raises the campaign's revision, which would lock them the other way round).
            lock_campaign(campaign.pk)
            if stakeholder.due_at <= now:
                lead_ids = list(
                    Membership.objects.filter(
                        team=team, role=Membership.Role.LEAD, user__is_active=True
                    ).values_list("user_id", flat=True)
                )
                payload = notification_payload(
                    campaign, **_escalation_extra(stakeholder, campaign.version, lead_ids)
                )
                counts["escalations"] += notifications.notifications_enqueue(
                    campaign_id=campaign.pk,
                    campaign_version=campaign.version,
                    kind=NotificationKind.ESCALATION,
                    user_ids=sorted(set(lead_ids) | set(manager_ids)),
                    payload=payload,
                    occurrence=f"team-{team.pk}",
                )
                # Past the due date a reminder is pointless: the escalation replaces it.
                Stakeholder.objects.filter(pk=stakeholder.pk).update(
                    escalated_version=campaign.version, reminded_version=campaign.version
                )
            else:  # due within the team's reminder horizon (the query's condition)
                pending = members_yet_to_acknowledge(stakeholder, campaign.version)
                # People who snoozed this campaign's reminders are owed this one instead.
                snoozes = ReminderSnooze.objects.filter(
                    campaign=campaign, user_id__in=pending, until__gt=now
                )
                snoozed = set(snoozes.values_list("user_id", flat=True))
                snoozes.update(owed_version=campaign.version)
                counts["reminders"] += notifications.notifications_enqueue(
                    campaign_id=campaign.pk,
                    campaign_version=campaign.version,
                    kind=NotificationKind.REMINDER,
                    user_ids=[user_id for user_id in pending if user_id not in snoozed],
                    payload=payload,
                    # Per team: someone in two late teams hears about each of them.
                    occurrence=f"team-{team.pk}",
                )
                Stakeholder.objects.filter(pk=stakeholder.pk).update(
                    reminded_version=campaign.version
                )
    return counts


def _owed_reminders_send(now: datetime) -> int:
    """Send the reminders held for people whose snooze has ended, while their team has
    still not acknowledged that version and its due date is ahead (after it, the
    escalation has replaced the reminder). Snoozes that ended are removed. One short
    transaction per snooze; the dedupe key makes a second run send nothing."""
    sent = 0
    # One query on a quiet tick: the snoozes that ended, owed a reminder or not.
    ended = list(ReminderSnooze.objects.filter(until__lte=now).order_by("campaign_id", "pk"))
    for snooze in ended:
        if snooze.owed_version is None:
            continue
        with transaction.atomic():
            campaign = lock_campaign(snooze.campaign_id)
            teams = (
                Stakeholder.objects.filter(
                    campaign=campaign,
                    team__memberships__user_id=snooze.user_id,
                    due_at__gt=now,
                )
                .pending()
                .select_related("team")
            )
            if campaign.status == Campaign.Status.ANNOUNCED and (
                snooze.owed_version == campaign.version
            ):
                for stakeholder in teams:
                    assert stakeholder.due_at is not None
                    sent += notifications.notifications_enqueue(
                        campaign_id=campaign.pk,
                        campaign_version=campaign.version,
                        kind=NotificationKind.REMINDER,
                        user_ids=[snooze.user_id],
                        payload=notification_payload(
                            campaign,
                            team=stakeholder.team.name,
                            due_at=stakeholder.due_at.isoformat(),
                        ),
                        occurrence=f"team-{stakeholder.team_id}",
                    )
            ReminderSnooze.objects.filter(pk=snooze.pk).delete()
    if unowed := [snooze.pk for snooze in ended if snooze.owed_version is None]:
        ReminderSnooze.objects.filter(pk__in=unowed, owed_version__isnull=True).delete()
    return sent


def _teams_at_work(now: datetime) -> dict[datetime, list[int]]:
    """The teams inside their working hours at `now`, by the latest due date their reminder
    covers: `now` plus the team's reminder lead time in its working hours (one query)."""
    by_horizon: dict[datetime, list[int]] = {}
    for team in Team.objects.only("reminder_hours_before", *WORKING_CALENDAR_FIELDS):
        calendar = team.working_calendar()
        if not is_working_time(now, calendar):
            continue
        horizon = add_working_hours(now, team.reminder_hours_before, calendar)
        by_horizon.setdefault(horizon, []).append(team.pk)
    return by_horizon


# An escalation names this many of the people who have not acknowledged, then "and N more".
ESCALATION_NAMES_SHOWN = 12


def _escalation_extra(stakeholder: Stakeholder, version: int, lead_ids: list[int]) -> PayloadExtra:
    """What an escalation says beside the campaign: the team, its due date, and so a lead
    can act on it, who has not acknowledged, the team's drill-down (where each of them
    can be nudged) and who leads the team."""
    pending = (
        User.objects.filter(pk__in=members_yet_to_acknowledge(stakeholder, version))
        .order_by("full_name", "email")
        .only("full_name", "email")
    )
    names = [person.display_name for person in pending]
    team = stakeholder.team
    return {
        "team": team.name,
        "due_at": stakeholder.due_at.isoformat() if stakeholder.due_at else None,
        "pending_people": names[:ESCALATION_NAMES_SHOWN],
        "pending_count": len(names),
        "team_slug": team.slug,
        "team_path": reverse("dashboards:team", args=[team.slug]),
        "lead_ids": sorted(lead_ids),
    }


def members_yet_to_acknowledge(stakeholder: Stakeholder, version: int) -> list[int]:
    """Active members of the stakeholder's team without a live acknowledgement of `version`."""
    acknowledged = stakeholder.acknowledgements.filter(
        version=version, revoked_at__isnull=True
    ).values("user_id")
    return list(
        Membership.objects.filter(team_id=stakeholder.team_id, user__is_active=True)
        .exclude(user_id__in=acknowledged)
        .values_list("user_id", flat=True)
    )


def stakeholder_nudge(*, actor: User, campaign_id: int, team_id: int, user_id: int) -> bool:
    """Send one person a reminder now, on behalf of a manager or one of the team's leads.

    Only for an announced campaign whose current version the team still owes, and only
    to a member who has not acknowledged it. One transaction: the outbox row is the record
    (nothing goes on the timeline) and delivery is queued on commit. At most once per hour
    per person, team and campaign version: the dedupe key carries the UTC hour, so a
    second nudge in the same hour writes nothing and returns False. A person who switched
    off every channel for reminders cannot be nudged: that is a DomainError, so the
    manager is not told "already nudged".
    """
    campaign = Campaign.objects.select_related("owner").filter(pk=campaign_id).first()
    if campaign is None:
        raise campaign_missing()
    stakeholders = stakeholders_with_acknowledgements(campaign)
    require(Action.NUDGE, actor, campaign, stakeholders=stakeholders, team_id=team_id)
    stakeholder = next(s for s in stakeholders if s.team_id == team_id)
    if user_id not in members_yet_to_acknowledge(stakeholder, campaign.version):
        raise DomainError(
            _("This person has nothing left to acknowledge for this team."), code="not_pending"
        )
    if not notifications.person_channels_open(user_id=user_id, kind=NotificationKind.REMINDER):
        raise DomainError(
            _("This person switched off reminders on every channel: reach them another way."),
            code="reminders_off",
        )
    with transaction.atomic():
        written = notifications.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=campaign.version,
            kind=NotificationKind.REMINDER,
            user_ids=[user_id],
            payload=notification_payload(
                campaign,
                team=stakeholder.team.name,
                due_at=stakeholder.due_at.isoformat() if stakeholder.due_at else None,
                nudged_by=actor.display_name,
            ),
            occurrence=nudge_occurrence(team_id=team_id, at=timezone.now()),
        )
        if written:
            _shown_as_nudged(campaign.pk)
    return written > 0


def _shown_as_nudged(campaign_id: int) -> None:
    """The team page shows who was nudged this hour, read from the outbox, which the
    campaign's revision does not follow (a fan-out would rewrite the campaign row for
    every message): a nudge raises it itself, so the page kept for its lead is not
    served again without the nudge (core/pages.py)."""
    Campaign.objects.filter(pk=campaign_id).update(revision=F("revision") + 1)


@dataclass(frozen=True)
class NudgeAllOutcome:
    """What "nudge them all" did, person by person."""

    nudged: int  # reminded now
    already: int  # nudged earlier this hour: not again
    unreachable: int  # reminders switched off on every channel


def stakeholder_nudge_all(*, actor: User, campaign_id: int, team_id: int) -> NudgeAllOutcome:
    """Nudge every member of the team who has not acknowledged the campaign's current
    version: the one click an escalation offers its lead. The rules of `stakeholder_nudge`
    (who may, when) and its limit (once an hour per person, team and version, by the
    dedupe key) apply to each person. One transaction; delivery is queued on commit.
    Idempotent within the hour: a second click nudges nobody and says so."""
    campaign = Campaign.objects.select_related("owner").filter(pk=campaign_id).first()
    if campaign is None:
        raise campaign_missing()
    stakeholders = stakeholders_with_acknowledgements(campaign)
    require(Action.NUDGE, actor, campaign, stakeholders=stakeholders, team_id=team_id)
    stakeholder = next(s for s in stakeholders if s.team_id == team_id)
    pending = members_yet_to_acknowledge(stakeholder, campaign.version)
    if not pending:
        raise DomainError(
            _("Everyone in this team has acknowledged: nobody is left to nudge."),
            code="not_pending",
        )
    now = timezone.now()
    already = {
        user_id
        for (_campaign, user_id) in nudges_this_hour(
            team_id=team_id,
            campaign_versions={campaign.pk: campaign.version},
            user_ids=pending,
            now=now,
        )
    }
    reachable = {
        row.user_id
        for row in notifications.person_rows_plan(kind=NotificationKind.REMINDER, user_ids=pending)
    }
    to_nudge = sorted(reachable - already)
    if to_nudge:
        with transaction.atomic():
            notifications.notifications_enqueue(
                campaign_id=campaign.pk,
                campaign_version=campaign.version,
                kind=NotificationKind.REMINDER,
                user_ids=to_nudge,
                payload=notification_payload(
                    campaign,
                    team=stakeholder.team.name,
                    due_at=stakeholder.due_at.isoformat() if stakeholder.due_at else None,
                    nudged_by=actor.display_name,
                ),
                occurrence=nudge_occurrence(team_id=team_id, at=now),
            )
            _shown_as_nudged(campaign.pk)
    return NudgeAllOutcome(
        nudged=len(to_nudge),
        already=len(reachable & already),
        unreachable=len(set(pending) - reachable),
    )
