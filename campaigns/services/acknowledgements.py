"""Stakeholders acknowledging a campaign's current version, and withdrawing it."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import rules
from campaigns.models import Acknowledgement, Campaign, Stakeholder
from campaigns.rules import Action
from campaigns.services.common import (
    EventKind,
    chat_posts_touch,
    free_text,
    lock_campaign,
    lock_team,
    notify_owner,
    record,
    require,
    stakeholders_with_acknowledgements,
)
from campaigns.services.readiness import OBJECTION_FIELDS, objection_lift
from core.errors import DomainError
from core.when import datetime_short
from notifications import services as notification_services
from teams.models import Membership, Team
from teams.roles import Actor

# How an acknowledgement was given, when not from the campaign's page (timeline details).
VIA_EMAIL_LINK = "email_link"


@dataclass(frozen=True)
class TeamAcknowledgement:
    team: Team
    newly_acknowledged: bool
    acknowledged_by: User | None
    acknowledged_at: datetime | None
    acknowledgement_id: int | None = None


@dataclass
class AcknowledgementResult:
    campaign: Campaign
    teams: list[TeamAcknowledgement] = field(default_factory=list)

    @property
    def was_new(self) -> bool:
        return any(t.newly_acknowledged for t in self.teams)

    def message(self) -> str:
        """ "Acknowledged for Conseillers clientèle", or who already did it and when: what
        the page, the e-mail's link and chat tell the person."""
        if self.was_new:
            return _("Acknowledged for %(teams)s. Thank you.") % {
                "teams": ", ".join(t.team.name for t in self.teams if t.newly_acknowledged)
            }
        first = self.teams[0]
        when = datetime_short(first.acknowledged_at) if first.acknowledged_at else ""
        who = first.acknowledged_by.display_name if first.acknowledged_by else _("someone")
        return _("Already acknowledged by %(who)s on %(when)s.") % {"who": who, "when": when}


def _every_member_acknowledged(stakeholder: Stakeholder, version: int) -> bool:
    members = set(
        Membership.objects.filter(team_id=stakeholder.team_id, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    acknowledged = set(
        stakeholder.acknowledgements.filter(version=version, revoked_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    return bool(members) and members <= acknowledged


def team_acknowledgements_recount(*, team_ids: Collection[int]) -> int:
    """Count again the pending stakeholders of these teams after their members or their
    policy changed: an "every member" team whose remaining active members have all
    acknowledged is done, as if the last of them had just acknowledged; an "any member"
    team (it was "every member" until now) is done as soon as one of them has. Runs
    inside the caller's transaction; campaigns are locked in id order, as every writer
    that touches several campaigns does. Returns how many teams became done."""
    pending = (
        Stakeholder.objects.filter(team_id__in=team_ids, campaign__status=Campaign.Status.ANNOUNCED)
        .exclude(acknowledged_version=F("campaign__version"))
        .values_list("campaign_id", flat=True)
        .distinct()
        .order_by("campaign_id")
    )
    done = 0
    now = timezone.now()
    for campaign_id in list(pending):
        campaign = lock_campaign(campaign_id)
        for stakeholder in stakeholders_with_acknowledgements(campaign, lock=True):
            if stakeholder.team_id not in team_ids or (
                stakeholder.acknowledged_version == campaign.version
            ):
                continue
            live = stakeholder.acknowledgements.all()  # this version's, prefetched
            if stakeholder.team.ack_policy == Team.AckPolicy.EVERY_MEMBER:
                complete = _every_member_acknowledged(stakeholder, campaign.version)
            else:
                complete = bool(live)
            if not complete:
                continue
            last = max(live, key=lambda a: a.created_at, default=None)
            stakeholder.acknowledged_version = campaign.version
            stakeholder.acknowledged_at = now
            stakeholder.acknowledged_by = last.user if last else None
            objection_lift(stakeholder)
            stakeholder.save(
                update_fields=[
                    "acknowledged_version",
                    "acknowledged_at",
                    "acknowledged_by",
                    *OBJECTION_FIELDS,
                ]
            )
            record(
                campaign,
                None,
                EventKind.TEAM_ACKNOWLEDGED,
                {"team": stakeholder.team.name, "recounted": True},
            )
            chat_posts_touch(campaign)
            done += 1
    return done


def campaign_acknowledge(
    *,
    actor: User,
    campaign_id: int,
    version: int | None = None,
    team_id: int | None = None,
    note: str = "",
    via: str = "",
    team_ids: Collection[int] | None = None,
) -> AcknowledgementResult:
    """Acknowledge the current version for the actor's stakeholder teams (or one of them).

    One transaction, the campaign and its stakeholder rows locked. Idempotent:
    acknowledging again changes nothing and reports who acknowledged when. `version`
    guards a stale link or page: if the campaign changed since, nothing happens. A note
    reaches the owner once per new acknowledgement (outbox row, queued after commit).
    The person's in-app notices asking for this acknowledgement are marked read in the
    same transaction (notifications.services.inbox_settle_acknowledged).
    On a campaign a manager closed by override, only the teams still pending acknowledge,
    late (the rule book's `late_acknowledgement`), and the timeline events say so.
    `via` says on the timeline how it was given when not from the campaign's page
    (VIA_EMAIL_LINK: the e-mail's one-tap link, without a session); `team_ids` limits it
    to these teams (those the link was sent for).
    """
    note = free_text(note, field="note", label=_("Note"))
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
        facts = require(
            Action.ACKNOWLEDGE, actor, campaign, stakeholders=stakeholders, team_id=team_id
        )
        if version is not None and version != campaign.version:
            raise DomainError(
                _(
                    "This campaign changed since (now version %(current)s). Read the new "
                    "version before acknowledging it."
                )
                % {"current": campaign.version},
                code="stale_version",
            )
        my_teams = Actor.of(actor).team_ids
        result = AcknowledgementResult(campaign=campaign)
        now = timezone.now()
        for stakeholder in stakeholders:
            team = facts.team(stakeholder.team_id)
            if (
                stakeholder.team_id in my_teams
                and team_id in (None, stakeholder.team_id)
                and (team_ids is None or stakeholder.team_id in team_ids)
                and rules.may_acknowledge_for(facts, team)
            ):
                late = rules.late_acknowledgement(facts, team)
                result.teams.append(
                    _acknowledge_one(
                        campaign, stakeholder, actor, note=note, now=now, late=late, via=via
                    )
                )
        # The inbox empties itself: what asked this person to acknowledge is now read.
        notification_services.inbox_settle_acknowledged(
            user_id=actor.pk,
            campaign_id=campaign.pk,
            acknowledged_teams=[t.team.name for t in result.teams],
            completed_teams=[
                s.team.name
                for s in stakeholders
                if s.acknowledged_version == campaign.version
                and any(t.team.pk == s.team_id for t in result.teams)
            ],
        )
        if note and result.was_new:
            new = [t for t in result.teams if t.newly_acknowledged]
            notify_owner(
                campaign,
                # One notice per acknowledgement: a later note (after a withdrawal, or for
                # a second team) is a new message, not a duplicate.
                occurrence="ack-note-" + "-".join(str(t.acknowledgement_id) for t in new),
                note=note,
                author_name=actor.display_name,
                teams=[t.team.name for t in result.teams],
            )
        if result.was_new:
            chat_posts_touch(campaign)
    return result


def _acknowledge_one(
    campaign: Campaign,
    stakeholder: Stakeholder,
    actor: User,
    *,
    note: str,
    now: datetime,
    late: bool = False,
    via: str = "",
) -> TeamAcknowledgement:
    team = stakeholder.team
    version = campaign.version
    if team.ack_policy == Team.AckPolicy.ANY_MEMBER and stakeholder.acknowledged_version == version:
        return TeamAcknowledgement(
            team, False, stakeholder.acknowledged_by, stakeholder.acknowledged_at
        )
    existing = stakeholder.acknowledgements.filter(
        user=actor, version=version, revoked_at__isnull=True
    ).first()
    # Acknowledging lifts the objection the person raised; the team's acknowledgement
    # lifts anyone's.
    lifted = stakeholder.not_ready_by_id == actor.pk and objection_lift(stakeholder)
    # "late": after a manager's override closed the campaign (the timeline says so).
    flag = {"late": True} if late else {}
    if existing is None:
        acknowledgement = Acknowledgement.objects.create(
            stakeholder=stakeholder, user=actor, version=version, note=note
        )
        how = {"via": via} if via else {}
        record(
            campaign,
            actor,
            EventKind.ACKNOWLEDGED,
            {"team": team.name, "note": note, **flag, **how},
        )
    team_done = team.ack_policy == Team.AckPolicy.ANY_MEMBER or _every_member_acknowledged(
        stakeholder, version
    )
    if team_done and stakeholder.acknowledged_version != version:
        # (A member's live acknowledgement may stand while the team does not count: a
        # colleague said "not ready" since. Acknowledging again settles the team.)
        stakeholder.acknowledged_version = version
        stakeholder.acknowledged_at = now
        stakeholder.acknowledged_by = actor
        lifted = objection_lift(stakeholder) or lifted
        stakeholder.save(
            update_fields=[
                "acknowledged_version",
                "acknowledged_at",
                "acknowledged_by",
                *OBJECTION_FIELDS,
            ]
        )
        # Told to integrations only when it stands alone (a member whose acknowledgement
        # stood settles the team again after a colleague's "not ready"): after this
        # person's own acknowledgement, its message has said it.
        record(
            campaign,
            None,
            EventKind.TEAM_ACKNOWLEDGED,
            {"team": team.name, **flag},
            publish=existing is not None,
        )
        if existing is not None:
            return TeamAcknowledgement(team, True, actor, now, existing.pk)
    elif lifted:
        stakeholder.save(update_fields=list(OBJECTION_FIELDS))
    if existing is not None:
        return TeamAcknowledgement(team, False, actor, existing.created_at)
    return TeamAcknowledgement(team, True, actor, now, acknowledgement.pk)


def campaign_acknowledgement_revoke(*, actor: User, campaign_id: int, team_id: int) -> Stakeholder:
    """Withdraw the actor's acknowledgement of the current version for one team.

    Takes the same locks as mark-done, so a withdrawal and a "mark done" cannot both win.
    Withdrawing what is not acknowledged is refused and changes nothing.
    """
    with transaction.atomic():
        campaign, stakeholder = lock_team(Action.WITHDRAW, actor, campaign_id, team_id)
        live = stakeholder.acknowledgements.filter(
            version=campaign.version, revoked_at__isnull=True
        )
        live.filter(user=actor).update(revoked_at=timezone.now())
        remaining = live.order_by("created_at").first()
        if stakeholder.team.ack_policy == Team.AckPolicy.ANY_MEMBER and remaining is not None:
            stakeholder.acknowledged_by_id = remaining.user_id
            stakeholder.acknowledged_at = remaining.created_at
        else:
            stakeholder.acknowledged_version = None
            stakeholder.acknowledged_at = None
            stakeholder.acknowledged_by = None
        stakeholder.save(
            update_fields=["acknowledged_version", "acknowledged_at", "acknowledged_by"]
        )
        record(campaign, actor, EventKind.ACK_REVOKED, {"team": stakeholder.team.name})
        chat_posts_touch(campaign)
    return stakeholder
