"""Writes to the campaign domain. Each function owns its transaction.

Every state change goes through here: the transition table says which moves exist, the
permission check says who may make them, and each writes a `CampaignEvent`. Rows are
locked campaign first, then stakeholders, so concurrent calls serialise in one order and
cannot deadlock.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Max, Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.models import (
    Acknowledgement,
    Attachment,
    Campaign,
    CampaignEvent,
    Feedback,
    Kpi,
    Stakeholder,
)
from campaigns.selectors import nudge_occurrence
from core.errors import DomainError, PermissionRefused
from notifications import services as notifications
from notifications.models import Kind as NotificationKind
from teams.models import Membership, Team
from teams.selectors import managers

Status = Campaign.Status
EventKind = CampaignEvent.Kind

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.ANNOUNCED, Status.CANCELLED}),
    Status.ANNOUNCED: frozenset({Status.DONE, Status.CANCELLED}),
    Status.DONE: frozenset(),
    Status.CANCELLED: frozenset(),
}
EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.ANNOUNCED})
_SCRIPT_TAG = re.compile(r"<\s*/?\s*script\b", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class KpiInput:
    name: str
    target: int | None = None


@dataclass(frozen=True, kw_only=True)
class CampaignInput:
    """What a marketer types in: the same fields for create and update."""

    title: str
    channel: str
    audience: str = ""
    estimated_recipients: int | None = 0
    launch_at: datetime | None = None
    ends_at: datetime | None = None
    summary: str = ""
    body: str = ""
    objective: str = ""
    team_ids: Sequence[int] = ()
    kpis: Sequence[KpiInput] | None = None  # None leaves the KPIs as they are


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


# --- helpers ----------------------------------------------------------------------------


def _require_permission(actor: User, perm: str, message: str) -> None:
    if not (actor.is_active and actor.has_perm(perm)):
        raise PermissionRefused(message)


def _lock_campaign(campaign_id: int) -> Campaign:
    try:
        return Campaign.objects.select_for_update().get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise DomainError(_("This campaign does not exist."), code="not_found") from None


def _check_transition(campaign: Campaign, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[campaign.status]:
        raise DomainError(
            _("A %(status)s campaign cannot become %(target)s.")
            % {
                "status": campaign.get_status_display().lower(),
                "target": Status(target).label.lower(),
            },
            code="invalid_transition",
        )


def _record(
    campaign: Campaign, actor: User | None, kind: str, details: dict[str, Any] | None = None
) -> CampaignEvent:
    return CampaignEvent.objects.create(
        campaign=campaign, actor=actor, kind=kind, version=campaign.version, details=details or {}
    )


def campaign_validate(
    data: CampaignInput, *, campaign: Campaign | None = None
) -> dict[str, list[str]]:
    """Every rule on what a marketer typed, as {field: [messages]}; empty means valid.

    Read-only. campaign_create and campaign_update refuse with these errors, and the
    campaign form runs the same function to show them next to each field as the marketer
    types (campaigns.forms), so a rule lives here once. With `campaign`, the rules of
    editing that campaign are added (an announced campaign keeps teams and a launch date).
    """
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not data.title.strip():
        add("title", _("Title is required."))
    elif len(data.title) > 200:
        add("title", _("Title must be at most 200 characters."))
    if data.channel not in Campaign.Channel.values:
        add("channel", _("Channel must be one of the listed channels."))
    if data.estimated_recipients is None:
        add("estimated_recipients", _("Estimated recipients is required (0 if unknown)."))
    elif data.estimated_recipients < 0:
        add("estimated_recipients", _("Estimated recipients cannot be negative."))
    for name, label, moment in (
        ("launch_at", _("Launch date"), data.launch_at),
        ("ends_at", _("End date"), data.ends_at),
    ):
        if moment is not None and not FIRST_YEAR <= moment.year <= LAST_YEAR:
            add(
                name,
                _("%(field)s must be between the years %(first)s and %(last)s.")
                % {"field": label, "first": FIRST_YEAR, "last": LAST_YEAR},
            )
    if data.launch_at and data.ends_at and data.ends_at < data.launch_at:
        add("ends_at", _("End date must be after the launch date."))
    for name, label, value in (
        ("summary", _("Summary"), data.summary),
        ("body", _("Body"), data.body),
        ("objective", _("Objective"), data.objective),
    ):
        if _SCRIPT_TAG.search(value or ""):
            add(name, _("%(field)s must not contain <script> tags.") % {"field": label})
    if data.team_ids:
        found = set(Team.objects.filter(pk__in=data.team_ids).values_list("pk", flat=True))
        if missing := set(data.team_ids) - found:
            add("teams", _("Unknown stakeholder team(s): %(ids)s.") % {"ids": sorted(missing)})
    if data.kpis:
        for message in kpis_validate(data.kpis):
            add("kpis", message)
    if campaign is not None:
        for name, messages in _edit_rules(campaign, data, now=timezone.now()).items():
            for message in messages:
                add(name, message)
    return errors


def kpis_validate(kpis: Sequence[KpiInput]) -> list[str]:
    """The rules on a campaign's KPI rows, for the form's KPI rows (see campaign_validate)."""
    messages = []
    names = [k.name.strip().lower() for k in kpis]
    if any(not n for n in names):
        messages.append(_("Each KPI needs a name."))
    elif len(set(names)) != len(names):
        messages.append(_("Two KPIs have the same name."))
    if any(k.target is not None and k.target < 0 for k in kpis):
        messages.append(_("KPI targets cannot be negative."))
    return messages


def _edit_rules(campaign: Campaign, data: CampaignInput, *, now: datetime) -> dict[str, list[str]]:
    """Editing an announced campaign: the teams were told a date, so it keeps a launch date
    (not moved into the past) and at least one team."""
    errors: dict[str, list[str]] = {}
    if campaign.status != Status.ANNOUNCED:
        return errors
    if not data.team_ids:
        errors["teams"] = [_("An announced campaign needs at least one stakeholder team.")]
    if data.launch_at is None:
        errors["launch_at"] = [_("An announced campaign needs a launch date.")]
    elif data.launch_at != campaign.launch_at and data.launch_at < now:
        errors["launch_at"] = [_("Launch date cannot be moved into the past after announcement.")]
    return errors


def _due_at(team: Team, *, now: datetime, launch_at: datetime | None) -> datetime:
    """Teams must acknowledge within their deadline, and before launch when launch comes first."""
    due = now + timedelta(hours=team.ack_deadline_hours)
    if launch_at is not None and now < launch_at < due:
        return launch_at
    return due


def _member_ids(team_ids: Sequence[int]) -> list[int]:
    return list(
        Membership.objects.filter(team_id__in=team_ids, user__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )


def notification_payload(campaign: Campaign, **extra: Any) -> dict[str, Any]:
    """A plain-data snapshot of the campaign for the outbox (see notifications.models)."""
    payload = {
        "campaign_id": campaign.pk,
        "version": campaign.version,
        "title": campaign.title,
        "channel": campaign.channel,
        "status": campaign.status,
        "audience": campaign.audience,
        "estimated_recipients": campaign.estimated_recipients,
        "launch_at": campaign.launch_at.isoformat() if campaign.launch_at else None,
        "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
        "summary": campaign.summary,
        "body": campaign.body,
        "owner_name": campaign.owner.display_name,
        "owner_email": campaign.owner.email,
        "path": reverse("campaigns:detail", args=[campaign.pk]),
    }
    payload.update(extra)
    return payload


def _notify_teams(
    campaign: Campaign,
    team_ids: Sequence[int],
    *,
    kind: str,
    extra: dict[str, Any] | None = None,
) -> None:
    notifications.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=campaign.version,
        kind=kind,
        user_ids=_member_ids(team_ids),
        webhook_team_ids=list(team_ids),
        payload=notification_payload(campaign, **(extra or {})),
    )


def _sync_stakeholders(
    campaign: Campaign, team_ids: Sequence[int], *, now: datetime
) -> tuple[list[int], list[int]]:
    current = set(campaign.stakeholders.values_list("team_id", flat=True))
    wanted = set(team_ids)
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        campaign.stakeholders.filter(team_id__in=removed).delete()
    if added:
        teams = Team.objects.filter(pk__in=added)
        announced = campaign.status == Status.ANNOUNCED
        Stakeholder.objects.bulk_create(
            Stakeholder(
                campaign=campaign,
                team=team,
                due_at=_due_at(team, now=now, launch_at=campaign.launch_at) if announced else None,
            )
            for team in teams
        )
    return added, removed


def _sync_kpis(campaign: Campaign, kpis: Sequence[KpiInput]) -> None:
    keep = []
    for position, item in enumerate(kpis):
        kpi, _created = Kpi.objects.update_or_create(
            campaign=campaign,
            name=item.name.strip(),
            defaults={"target": item.target, "position": position},
        )
        keep.append(kpi.pk)
    campaign.kpis.exclude(pk__in=keep).delete()


# --- create and edit --------------------------------------------------------------------


def campaign_create(*, actor: User, data: CampaignInput) -> Campaign:
    """Create a draft with its stakeholder teams. One transaction; nothing is notified yet."""
    _require_permission(actor, "campaigns.add_campaign", _("Only marketers can create campaigns."))
    if errors := campaign_validate(data):
        raise DomainError.for_fields(errors)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            title=data.title.strip(),
            channel=data.channel,
            audience=data.audience.strip(),
            estimated_recipients=data.estimated_recipients or 0,
            launch_at=data.launch_at,
            ends_at=data.ends_at,
            summary=data.summary,
            body=data.body,
            objective=data.objective,
            owner=actor,
        )
        _sync_stakeholders(campaign, data.team_ids, now=timezone.now())
        if data.kpis:
            _sync_kpis(campaign, data.kpis)
        _record(campaign, actor, EventKind.CREATED, {"title": campaign.title})
    return campaign


def campaign_update(*, actor: User, campaign_id: int, data: CampaignInput) -> Campaign:
    """Edit a draft or announced campaign.

    After announcement a material change (launch date, audience, body, channel) bumps the
    version: every team's acknowledgement no longer matches, due dates restart and the
    teams get a "changed" notice. Other edits are only recorded on the timeline.
    """
    _require_permission(actor, "campaigns.change_campaign", _("Only marketers can edit campaigns."))
    if errors := campaign_validate(data):
        raise DomainError.for_fields(errors)
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if campaign.status not in EDITABLE_STATUSES:
            raise DomainError(
                _("A %(status)s campaign can no longer be edited.")
                % {"status": campaign.get_status_display().lower()},
                code="not_editable",
            )
        announced = campaign.status == Status.ANNOUNCED
        if errors := _edit_rules(campaign, data, now=timezone.now()):
            raise DomainError.for_fields(errors)
        new_values = {
            "title": data.title.strip(),
            "channel": data.channel,
            "audience": data.audience.strip(),
            "estimated_recipients": data.estimated_recipients or 0,
            "launch_at": data.launch_at,
            "ends_at": data.ends_at,
            "summary": data.summary,
            "body": data.body,
            "objective": data.objective,
        }
        changed = [name for name, value in new_values.items() if getattr(campaign, name) != value]
        for name in changed:
            setattr(campaign, name, new_values[name])
        material = [name for name in changed if name in Campaign.MATERIAL_FIELDS]
        now = timezone.now()
        if announced and material:
            campaign.version += 1
        campaign.save()
        added, removed = _sync_stakeholders(campaign, data.team_ids, now=now)
        if data.kpis is not None:
            _sync_kpis(campaign, data.kpis)
        if changed or added or removed:
            _record(
                campaign,
                actor,
                EventKind.EDITED,
                {"fields": changed, "teams_added": added, "teams_removed": removed},
            )
        if announced and material:
            stakeholders = list(campaign.stakeholders.select_related("team"))
            for stakeholder in stakeholders:
                stakeholder.due_at = _due_at(
                    stakeholder.team, now=now, launch_at=campaign.launch_at
                )
            Stakeholder.objects.bulk_update(stakeholders, ["due_at"])
            _record(campaign, actor, EventKind.VERSION_BUMPED, {"fields": material})
            unchanged_teams = [s.team_id for s in stakeholders if s.team_id not in added]
            _notify_teams(
                campaign,
                unchanged_teams,
                kind=NotificationKind.CHANGED,
                extra={"changes": material},
            )
        if announced and added:
            _notify_teams(campaign, added, kind=NotificationKind.ANNOUNCED)
    return campaign


# --- the state machine ------------------------------------------------------------------


def campaign_announce(*, actor: User, campaign_id: int, already_sent_reason: str = "") -> Campaign:
    """Draft → announced. Sets each team's due date and writes the "announced" outbox rows
    in the same transaction; delivery is queued only after commit."""
    _require_permission(
        actor, "campaigns.announce_campaign", _("Only marketers can announce campaigns.")
    )
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        _check_transition(campaign, Status.ANNOUNCED)
        now = timezone.now()
        reason = already_sent_reason.strip()
        errors: dict[str, list[str]] = {}
        if campaign.launch_at is None:
            errors["launch_at"] = [_("Launch date is required to announce a campaign.")]
        elif campaign.launch_at < now and not reason:
            errors["launch_at"] = [
                _(
                    "Launch date is in the past. If the campaign already went out, say so and "
                    "give the reason."
                )
            ]
        stakeholders = list(
            campaign.stakeholders.select_related("team").select_for_update(of=("self",))
        )
        if not stakeholders:
            errors["teams"] = [_("Add at least one stakeholder team before announcing.")]
        if errors:
            raise DomainError.for_fields(errors)
        campaign.status = Status.ANNOUNCED
        campaign.announced_at = now
        campaign.already_sent_reason = reason if campaign.launch_at < now else ""
        campaign.save(update_fields=["status", "announced_at", "already_sent_reason", "updated_at"])
        for stakeholder in stakeholders:
            stakeholder.due_at = _due_at(stakeholder.team, now=now, launch_at=campaign.launch_at)
        Stakeholder.objects.bulk_update(stakeholders, ["due_at"])
        details = {"teams": [s.team.name for s in stakeholders]}
        if campaign.already_sent_reason:
            details["already_sent_reason"] = campaign.already_sent_reason
        _record(campaign, actor, EventKind.ANNOUNCED, details)
        _notify_teams(campaign, [s.team_id for s in stakeholders], kind=NotificationKind.ANNOUNCED)
    return campaign


def _pending_stakeholders(campaign: Campaign) -> list[Stakeholder]:
    # Locked: an acknowledgement withdrawn concurrently waits for us, or we wait for it.
    return list(
        Stakeholder.objects.select_for_update(of=("self",))
        .filter(campaign=campaign)
        .exclude(acknowledged_version=campaign.version)
        .select_related("team")
        .order_by("team__name")
    )


def campaign_mark_done(*, actor: User, campaign_id: int) -> Campaign:
    """Announced → done, only when every stakeholder team acknowledged the current version."""
    _require_permission(
        actor, "campaigns.close_campaign", _("Only marketers can mark campaigns as done.")
    )
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        _check_transition(campaign, Status.DONE)
        if pending := _pending_stakeholders(campaign):
            raise DomainError(
                _("Waiting for %(teams)s to acknowledge version %(version)s.")
                % {"teams": ", ".join(s.team.name for s in pending), "version": campaign.version},
                code="acknowledgements_pending",
            )
        return _close_as_done(campaign, actor, EventKind.DONE, {})


def campaign_override_done(*, actor: User, campaign_id: int, reason: str) -> Campaign:
    """Announced → done without every acknowledgement; managers only, reason recorded."""
    _require_permission(
        actor,
        "campaigns.override_done_campaign",
        _("Only managers can mark a campaign as done without every acknowledgement."),
    )
    if not reason.strip():
        raise DomainError.for_fields(
            {"reason": [_("Reason is required to override the done gate.")]}
        )
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        _check_transition(campaign, Status.DONE)
        pending = _pending_stakeholders(campaign)
        campaign.done_override_reason = reason.strip()
        return _close_as_done(
            campaign,
            actor,
            EventKind.DONE_OVERRIDDEN,
            {"reason": reason.strip(), "pending_teams": [s.team.name for s in pending]},
        )


def _close_as_done(campaign: Campaign, actor: User, kind: str, details: dict[str, Any]) -> Campaign:
    campaign.status = Status.DONE
    campaign.done_at = timezone.now()
    campaign.save(update_fields=["status", "done_at", "done_override_reason", "updated_at"])
    _record(campaign, actor, kind, details)
    notifications.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=campaign.version,
        kind=NotificationKind.DONE,
        user_ids=[],
        webhook_team_ids=list(campaign.stakeholders.values_list("team_id", flat=True)),
        payload=notification_payload(campaign),
    )
    return campaign


def campaign_cancel(*, actor: User, campaign_id: int, reason: str = "") -> Campaign:
    """Draft or announced → cancelled. Teams already told are told it is off."""
    _require_permission(
        actor, "campaigns.close_campaign", _("Only marketers can cancel campaigns.")
    )
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        _check_transition(campaign, Status.CANCELLED)
        was_announced = campaign.status == Status.ANNOUNCED
        campaign.status = Status.CANCELLED
        campaign.cancelled_at = timezone.now()
        campaign.save(update_fields=["status", "cancelled_at", "updated_at"])
        _record(campaign, actor, EventKind.CANCELLED, {"reason": reason.strip()})
        if was_announced:
            team_ids = list(campaign.stakeholders.values_list("team_id", flat=True))
            _notify_teams(
                campaign,
                team_ids,
                kind=NotificationKind.CANCELLED,
                extra={"reason": reason.strip()},
            )
    return campaign


# --- acknowledgements -------------------------------------------------------------------


def _actor_stakeholders(campaign: Campaign, actor: User, team_id: int | None) -> list[Stakeholder]:
    stakeholders = (
        Stakeholder.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, team__memberships__user=actor)
        .select_related("team", "acknowledged_by")
        .order_by("team__name")
    )
    if team_id is not None:
        stakeholders = stakeholders.filter(team_id=team_id)
    found = list(stakeholders)
    if not found:
        if team_id is not None:
            raise PermissionRefused(_("You can only acknowledge for your own teams."))
        raise PermissionRefused(_("You are not in any stakeholder team of this campaign."))
    return found


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


def campaign_acknowledge(
    *,
    actor: User,
    campaign_id: int,
    version: int | None = None,
    team_id: int | None = None,
    note: str = "",
) -> AcknowledgementResult:
    """Acknowledge the current version for the actor's stakeholder teams (or one of them).

    Idempotent: acknowledging again changes nothing and reports who acknowledged when.
    `version` guards a stale link or page: if the campaign changed since, nothing happens.
    """
    note = note.strip()
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if campaign.status != Status.ANNOUNCED:
            raise DomainError(
                _("Only announced campaigns can be acknowledged; this one is %(status)s.")
                % {"status": campaign.get_status_display().lower()},
                code="not_announced",
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
        result = AcknowledgementResult(campaign=campaign)
        now = timezone.now()
        for stakeholder in _actor_stakeholders(campaign, actor, team_id):
            result.teams.append(_acknowledge_one(campaign, stakeholder, actor, note=note, now=now))
        if note and result.was_new:
            notifications.notifications_enqueue(
                campaign_id=campaign.pk,
                campaign_version=campaign.version,
                kind=NotificationKind.FEEDBACK,
                user_ids=[campaign.owner_id],
                payload=notification_payload(
                    campaign,
                    note=note,
                    author_name=actor.display_name,
                    teams=[t.team.name for t in result.teams],
                ),
                # One notice per acknowledgement: a later note (after a withdrawal,
                # or for a second team) is a new message, not a duplicate.
                occurrence="ack-note-"
                + "-".join(str(t.acknowledgement_id) for t in result.teams if t.newly_acknowledged),
            )
    return result


def _acknowledge_one(
    campaign: Campaign, stakeholder: Stakeholder, actor: User, *, note: str, now: datetime
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
    if existing is not None:
        return TeamAcknowledgement(team, False, actor, existing.created_at)
    acknowledgement = Acknowledgement.objects.create(
        stakeholder=stakeholder, user=actor, version=version, note=note
    )
    _record(campaign, actor, EventKind.ACKNOWLEDGED, {"team": team.name, "note": note})
    team_done = team.ack_policy == Team.AckPolicy.ANY_MEMBER or _every_member_acknowledged(
        stakeholder, version
    )
    if team_done:
        stakeholder.acknowledged_version = version
        stakeholder.acknowledged_at = now
        stakeholder.acknowledged_by = actor
        stakeholder.save(
            update_fields=["acknowledged_version", "acknowledged_at", "acknowledged_by"]
        )
        _record(campaign, None, EventKind.TEAM_ACKNOWLEDGED, {"team": team.name})
    return TeamAcknowledgement(team, True, actor, now, acknowledgement.pk)


def campaign_acknowledgement_revoke(*, actor: User, campaign_id: int, team_id: int) -> Stakeholder:
    """Withdraw the actor's acknowledgement of the current version for one team.

    Takes the same locks as mark-done, so a withdrawal and a "mark done" cannot both win.
    """
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if campaign.status != Status.ANNOUNCED:
            raise DomainError(_("Only an announced campaign's acknowledgements can be withdrawn."))
        stakeholder = _actor_stakeholders(campaign, actor, team_id)[0]
        live = stakeholder.acknowledgements.filter(
            version=campaign.version, revoked_at__isnull=True
        )
        updated = live.filter(user=actor).update(revoked_at=timezone.now())
        if not updated:
            raise DomainError(
                _("You have not acknowledged this version."), code="nothing_to_revoke"
            )
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
        _record(campaign, actor, EventKind.ACK_REVOKED, {"team": stakeholder.team.name})
    return stakeholder


# --- reminders and escalations (run by beat) ------------------------------------------


def campaigns_send_due_reminders_and_escalations(*, now: datetime | None = None) -> dict[str, int]:
    """Remind members whose team's due date is near, escalate to leads and managers when it
    has passed. Safe to run as often as beat likes: a team is reminded and escalated at
    most once per campaign version (recorded on the stakeholder row, and each notice has
    a dedupe key), and only teams with something left to send are read."""
    now = now or timezone.now()
    longest_reminder = Team.objects.aggregate(hours=Max("reminder_hours_before"))["hours"] or 0
    version = F("campaign__version")
    not_reminded = Q(reminded_version__isnull=True) | ~Q(reminded_version=version)
    not_escalated = Q(escalated_version__isnull=True) | ~Q(escalated_version=version)
    candidates = (
        Stakeholder.objects.filter(campaign__status=Status.ANNOUNCED, due_at__isnull=False)
        .pending()
        .filter(
            (Q(due_at__lte=now) & not_escalated)
            | (
                Q(due_at__gt=now, due_at__lte=now + timedelta(hours=longest_reminder))
                & not_reminded
            )
        )
        .select_related("team", "campaign", "campaign__owner")
        .order_by("due_at", "pk")
    )
    counts = {"reminders": 0, "escalations": 0}
    manager_ids = list(managers().values_list("pk", flat=True))
    for stakeholder in candidates.iterator(chunk_size=500):
        campaign = stakeholder.campaign
        team = stakeholder.team
        payload = notification_payload(
            campaign, team=team.name, due_at=stakeholder.due_at.isoformat()
        )
        with transaction.atomic():
            if stakeholder.due_at <= now:
                lead_ids = list(
                    Membership.objects.filter(
                        team=team, role=Membership.Role.LEAD, user__is_active=True
                    ).values_list("user_id", flat=True)
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
            elif stakeholder.due_at - timedelta(hours=team.reminder_hours_before) <= now:
                counts["reminders"] += notifications.notifications_enqueue(
                    campaign_id=campaign.pk,
                    campaign_version=campaign.version,
                    kind=NotificationKind.REMINDER,
                    user_ids=_members_yet_to_acknowledge(stakeholder, campaign.version),
                    payload=payload,
                    # Per team: someone in two late teams hears about each of them.
                    occurrence=f"team-{team.pk}",
                )
                Stakeholder.objects.filter(pk=stakeholder.pk).update(
                    reminded_version=campaign.version
                )
    return counts


def _members_yet_to_acknowledge(stakeholder: Stakeholder, version: int) -> list[int]:
    acknowledged = stakeholder.acknowledgements.filter(
        version=version, revoked_at__isnull=True
    ).values("user_id")
    return list(
        Membership.objects.filter(team_id=stakeholder.team_id, user__is_active=True)
        .exclude(user_id__in=acknowledged)
        .values_list("user_id", flat=True)
    )


# --- the feedback thread and results ----------------------------------------------------

FEEDBACK_MAX_LENGTH = 5000
FEEDBACK_STATUSES = frozenset({Status.ANNOUNCED, Status.DONE})
RESULTS_STATUSES = frozenset({Status.ANNOUNCED, Status.DONE})
_MAX_ACTUAL = 2_147_483_647  # the ceiling of a PositiveIntegerField on every database


def feedback_post(*, actor: User, campaign_id: int, tag: str, body: str) -> Feedback:
    """Add a message (a question, an answer, a customer reaction) to a campaign's thread.

    Anyone logged in may post, on an announced or done campaign. One transaction: the
    message and the owner's outbox rows are written together, delivery is queued on commit.
    Not idempotent (posting twice makes two messages), but each message notifies the owner
    at most once: the dedupe key names the message. The timeline is left alone, it records
    state changes; the thread is its own list.
    """
    if not actor.is_active:
        raise PermissionRefused(_("Your account is inactive."))
    body = body.strip()
    errors: dict[str, list[str]] = {}
    if tag not in Feedback.Tag.values:
        errors["tag"] = [_("Choose what kind of message this is.")]
    if not body:
        errors["body"] = [_("Message is required.")]
    elif len(body) > FEEDBACK_MAX_LENGTH:
        errors["body"] = [
            _("Message must be at most %(max)s characters.") % {"max": FEEDBACK_MAX_LENGTH}
        ]
    if errors:
        raise DomainError.for_fields(errors)
    with transaction.atomic():
        # Locked so a message cannot land on a campaign being cancelled at the same moment.
        try:
            campaign = (
                Campaign.objects.select_for_update(of=("self",))
                .select_related("owner")
                .get(pk=campaign_id)
            )
        except Campaign.DoesNotExist:
            raise DomainError(_("This campaign does not exist."), code="not_found") from None
        if campaign.status not in FEEDBACK_STATUSES:
            raise DomainError(
                _("Messages can be posted once the campaign is announced.")
                if campaign.status == Status.DRAFT
                else _("This campaign was cancelled: its thread is closed."),
                code="feedback_closed",
            )
        feedback = Feedback.objects.create(campaign=campaign, author=actor, tag=tag, body=body)
        if actor.pk != campaign.owner_id:
            notifications.notifications_enqueue(
                campaign_id=campaign.pk,
                campaign_version=campaign.version,
                kind=NotificationKind.FEEDBACK,
                user_ids=[campaign.owner_id],
                payload=notification_payload(
                    campaign, note=body, author_name=actor.display_name, tag=tag
                ),
                occurrence=f"feedback-{feedback.pk}",
            )
    return feedback


def campaign_record_results(
    *, actor: User, campaign_id: int, actuals: Mapping[int, int | None]
) -> Campaign:
    """Record the actual value of some of the campaign's KPIs (by KPI id; None clears one).

    Marketers only, once the campaign has launched (announced or done, launch date past).
    One transaction with the campaign row locked; only values that change are written, and
    listed on one RESULTS timeline event. Idempotent: the same values again write nothing.
    """
    _require_permission(actor, "campaigns.change_campaign", _("Only marketers can record results."))
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)
        if campaign.status not in RESULTS_STATUSES:
            raise DomainError(
                _(
                    "Results can be recorded only for an announced or done campaign; "
                    "this one is %(status)s."
                )
                % {"status": campaign.get_status_display().lower()},
                code="results_closed",
            )
        if campaign.launch_at is None or campaign.launch_at > timezone.now():
            raise DomainError(
                _("Results can be recorded once the campaign has launched."),
                code="not_launched",
            )
        kpis = {kpi.pk: kpi for kpi in Kpi.objects.select_for_update().filter(campaign=campaign)}
        if unknown := sorted(set(actuals) - set(kpis)):
            raise DomainError(
                _("Unknown indicator(s) for this campaign: %(ids)s.") % {"ids": unknown},
                code="unknown_kpi",
            )
        errors: dict[str, list[str]] = {}
        for kpi_id, value in actuals.items():
            if value is not None and value < 0:
                errors[f"kpi_{kpi_id}"] = [
                    _("%(kpi)s: the actual value cannot be negative.") % {"kpi": kpis[kpi_id].name}
                ]
            elif value is not None and value > _MAX_ACTUAL:
                errors[f"kpi_{kpi_id}"] = [
                    _("%(kpi)s: the actual value is too large.") % {"kpi": kpis[kpi_id].name}
                ]
        if errors:
            raise DomainError.for_fields(errors)
        changed = []
        changes = []
        for kpi in sorted(kpis.values(), key=lambda k: (k.position, k.pk)):
            if kpi.pk in actuals and actuals[kpi.pk] != kpi.actual:
                changes.append({"kpi": kpi.name, "before": kpi.actual, "after": actuals[kpi.pk]})
                kpi.actual = actuals[kpi.pk]
                changed.append(kpi)
        if changed:
            Kpi.objects.bulk_update(changed, ["actual"])
            _record(campaign, actor, EventKind.RESULTS, {"results": changes})
    return campaign


# --- the campaign form: attachments and duplicates --------------------------------------

ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# What each accepted extension must contain, and the name shown when it does not.
ATTACHMENT_TYPES: dict[str, tuple[str, str]] = {
    ".pdf": ("application/pdf", "PDF"),
    ".png": ("image/png", "PNG"),
    ".jpg": ("image/jpeg", "JPEG"),
    ".jpeg": ("image/jpeg", "JPEG"),
    ".webp": ("image/webp", "WebP"),
}


def _sniff_content_type(head: bytes) -> str | None:
    """The type the file's first bytes (magic numbers) show, whatever its name says."""
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _attachment_name(raw: str | None) -> str:
    # Browsers send a base name; some older ones and scripts send a whole path.
    name = PurePosixPath((raw or "").replace("\\", "/")).name.strip()
    return (name or "file")[:255]


def _attachment_content_type(name: str, uploaded_file: UploadedFile) -> str:
    """The checked content type, or a DomainError on `file` that names the file."""

    def refuse(message: str) -> DomainError:
        return DomainError.for_fields({"file": [message]})

    extension = PurePosixPath(name.lower()).suffix
    if extension not in ATTACHMENT_TYPES:
        raise refuse(
            _("“%(name)s” was refused: only PDF, PNG, JPEG and WebP files are accepted.")
            % {"name": name}
        )
    size = uploaded_file.size or 0
    if size == 0:
        raise refuse(_("“%(name)s” was refused: the file is empty.") % {"name": name})
    if size > ATTACHMENT_MAX_BYTES:
        raise refuse(
            _("“%(name)s” was refused: it is %(size)s, the limit is %(max)s.")
            % {
                "name": name,
                "size": filesizeformat(size),
                "max": filesizeformat(ATTACHMENT_MAX_BYTES),
            }
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    expected, kind = ATTACHMENT_TYPES[extension]
    if _sniff_content_type(head) != expected:
        raise refuse(
            _("“%(name)s” was refused: its content is not a %(kind)s file.")
            % {"name": name, "kind": kind}
        )
    return expected


def _storage_name(name: str) -> str:
    path = PurePosixPath(name)
    try:
        stem = get_valid_filename(path.stem)[:80]
    except SuspiciousFileOperation:
        stem = "file"
    return f"{stem}{path.suffix.lower()}"


def _check_attachments_editable(campaign: Campaign) -> None:
    if campaign.status not in EDITABLE_STATUSES:
        raise DomainError(
            _("The attachments of a %(status)s campaign can no longer change.")
            % {"status": campaign.get_status_display().lower()},
            code="not_editable",
        )


def attachment_add(*, actor: User, campaign_id: int, uploaded_file: UploadedFile) -> Attachment:
    """Attach a file to a draft or announced campaign: PDF, PNG, JPEG or WebP, at most
    10 MB, its type checked by extension *and* by its first bytes.

    The file goes to Django's storage (an S3-compatible bucket in production) before the
    transaction, because a 10 MB upload must not hold the campaign's row lock. The row and
    its timeline event are then written in one transaction; if that fails, the stored file
    is deleted again, so neither a row without a file nor an unlisted file is left. Not
    idempotent: the same file sent twice makes two attachments.
    """
    _require_permission(
        actor, "campaigns.change_campaign", _("Only marketers can add attachments.")
    )
    name = _attachment_name(uploaded_file.name)
    content_type = _attachment_content_type(name, uploaded_file)
    try:
        campaign = Campaign.objects.get(pk=campaign_id)
    except Campaign.DoesNotExist:
        raise DomainError(_("This campaign does not exist."), code="not_found") from None
    _check_attachments_editable(campaign)
    attachment = Attachment(
        campaign=campaign,
        original_name=name,
        content_type=content_type,
        size=uploaded_file.size,
        uploaded_by=actor,
    )
    attachment.file.save(_storage_name(name), uploaded_file, save=False)
    try:
        with transaction.atomic():
            # Checked again under the lock: the campaign may have closed during the upload.
            campaign = _lock_campaign(campaign_id)
            _check_attachments_editable(campaign)
            attachment.campaign = campaign
            attachment.save()
            _record(campaign, actor, EventKind.EDITED, {"attachment_added": name})
    except Exception:
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attachment_remove(*, actor: User, attachment_id: int) -> Attachment:
    """Remove an attachment from a draft or announced campaign.

    The row and its timeline event go in one transaction; the stored file is deleted only
    after commit, so a rolled-back removal never leaves a row whose file is gone (if the
    storage then fails, an unlisted file remains, which is logged). Removing twice is
    refused the second time as "does not exist".
    """
    _require_permission(
        actor, "campaigns.change_campaign", _("Only marketers can remove attachments.")
    )
    missing = DomainError(_("This attachment does not exist."), code="not_found")
    campaign_id = (
        Attachment.objects.filter(pk=attachment_id).values_list("campaign_id", flat=True).first()
    )
    if campaign_id is None:
        raise missing
    with transaction.atomic():
        campaign = _lock_campaign(campaign_id)  # campaign first, as everywhere
        attachment = campaign.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise missing
        _check_attachments_editable(campaign)
        storage, stored_name = attachment.file.storage, attachment.file.name
        attachment.delete()
        _record(campaign, actor, EventKind.EDITED, {"attachment_removed": attachment.original_name})
        transaction.on_commit(lambda: storage.delete(stored_name), robust=True)
    return attachment


def campaign_duplicate(*, actor: User, campaign_id: int) -> Campaign:
    """A new draft with another campaign's content, KPI targets and stakeholder teams (next
    year's greeting card), owned by the actor, at version 1, without dates, results,
    attachments or history; its timeline starts with a "duplicated" event naming the
    source. One transaction; nobody is notified. Not idempotent: each call makes a copy.
    """
    _require_permission(
        actor, "campaigns.add_campaign", _("Only marketers can duplicate campaigns.")
    )
    with transaction.atomic():
        try:
            source = Campaign.objects.get(pk=campaign_id)
        except Campaign.DoesNotExist:
            raise DomainError(_("This campaign does not exist."), code="not_found") from None
        copy_of = _("%(title)s (copy)")
        room = Campaign._meta.get_field("title").max_length - len(copy_of % {"title": ""})
        copy = Campaign.objects.create(
            title=copy_of % {"title": source.title[:room].rstrip()},
            channel=source.channel,
            audience=source.audience,
            estimated_recipients=source.estimated_recipients,
            summary=source.summary,
            body=source.body,
            objective=source.objective,
            owner=actor,
        )
        Stakeholder.objects.bulk_create(
            Stakeholder(campaign=copy, team_id=team_id)
            for team_id in source.stakeholders.values_list("team_id", flat=True)
        )
        Kpi.objects.bulk_create(
            Kpi(campaign=copy, name=kpi.name, target=kpi.target, position=kpi.position)
            for kpi in source.kpis.all()
        )
        _record(
            copy,
            actor,
            EventKind.DUPLICATED,
            {"source_id": source.pk, "source_title": source.title},
        )
    return copy


# --- nudges from the dashboard -----------------------------------------------------------


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
    is_manager = actor.is_active and actor.has_perm("campaigns.view_dashboard")
    is_lead = (
        actor.is_active
        and Membership.objects.filter(
            team_id=team_id, user=actor, role=Membership.Role.LEAD
        ).exists()
    )
    if not (is_manager or is_lead):
        raise PermissionRefused(_("Only managers and the team's leads can nudge its members."))
    stakeholder = (
        Stakeholder.objects.select_related("campaign", "campaign__owner", "team")
        .filter(campaign_id=campaign_id, team_id=team_id, campaign__status=Status.ANNOUNCED)
        .first()
    )
    if stakeholder is None:
        raise DomainError(
            _("This team has nothing to acknowledge for this campaign."), code="not_pending"
        )
    campaign = stakeholder.campaign
    if stakeholder.acknowledged_version == campaign.version:
        raise DomainError(_("This team already acknowledged this campaign."), code="not_pending")
    if user_id not in _members_yet_to_acknowledge(stakeholder, campaign.version):
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
    return written > 0
