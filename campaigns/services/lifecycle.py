"""The campaign's life: announce, mark as done (or override), cancel.

Which moves exist, and who may make them, is campaigns.rules; each function here locks
the campaign, asks the rule book, changes the status and writes the timeline event and
the outbox rows in the same transaction. Delivery is queued only after commit.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from campaigns.models import Campaign, Stakeholder
from campaigns.rules import Action
from campaigns.services.common import (
    EventKind,
    Status,
    chat_posts_touch,
    due_at,
    free_text,
    keep_version,
    lock_campaign,
    notification_payload,
    notify_teams,
    record,
    require,
    stakeholders_with_acknowledgements,
)
from core.errors import DomainError
from notifications import services as notifications
from notifications.models import Kind as NotificationKind


def campaign_announce(*, actor: User, campaign_id: int, already_sent_reason: str = "") -> Campaign:
    """Draft → announced (its owner, co-editors or a manager). Sets each team's due date
    and writes the "announced" outbox rows in the same transaction; delivery is queued only
    after commit. A second announce is refused as "already announced by…", and writes
    nothing."""
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
        require(Action.ANNOUNCE, actor, campaign, stakeholders=stakeholders)
        assert campaign.launch_at is not None  # the rule book's "ready" check
        now = timezone.now()
        reason = already_sent_reason.strip()
        if campaign.launch_at < now and not reason:
            raise DomainError.for_fields(
                {
                    "launch_at": [
                        _(
                            "Launch date is in the past. If the campaign already went out, "
                            "say so and give the reason."
                        )
                    ]
                }
            )
        campaign.status = Status.ANNOUNCED
        campaign.announced_at = now
        campaign.already_sent_reason = reason if campaign.launch_at < now else ""
        # A conditional update besides the row lock: a second announce that got past the
        # check (a database without row locks, such as SQLite's shared test database)
        # still changes nothing, and is told who announced it.
        moved = Campaign.objects.filter(pk=campaign.pk, status=Status.DRAFT).update(
            status=Status.ANNOUNCED,
            announced_at=now,
            already_sent_reason=campaign.already_sent_reason,
            updated_at=now,
        )
        if not moved:
            require(Action.ANNOUNCE, actor, lock_campaign(campaign_id))  # "Already … by …"
            raise DomainError(_("This campaign was already announced."), code="already_done")
        for stakeholder in stakeholders:
            stakeholder.due_at = due_at(stakeholder.team, now=now, launch_at=campaign.launch_at)
        Stakeholder.objects.bulk_update(stakeholders, ["due_at"])
        details: dict[str, Any] = {"teams": [s.team.name for s in stakeholders]}
        if campaign.already_sent_reason:
            details["already_sent_reason"] = campaign.already_sent_reason
        record(campaign, actor, EventKind.ANNOUNCED, details)
        keep_version(campaign, actor)
        notify_teams(campaign, [s.team_id for s in stakeholders], kind=NotificationKind.ANNOUNCED)
    return campaign


def campaign_mark_done(*, actor: User, campaign_id: int) -> Campaign:
    """Announced → done, only when every stakeholder team acknowledged the current version.

    The campaign row and its stakeholder rows are locked (`FOR UPDATE`), the same locks a
    withdrawal takes, so a withdrawal racing with "mark done" cannot slip through."""
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
        require(Action.MARK_DONE, actor, campaign, stakeholders=stakeholders)
        return _close_as_done(campaign, actor, EventKind.DONE, {})


def campaign_override_done(*, actor: User, campaign_id: int, reason: str) -> Campaign:
    """Announced → done while some teams have not acknowledged; managers only, with a
    reason kept on the timeline with the teams that were still pending."""
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        stakeholders = stakeholders_with_acknowledgements(campaign, lock=True)
        facts = require(Action.OVERRIDE_DONE, actor, campaign, stakeholders=stakeholders)
        reason = free_text(reason, field="reason", label=_("Reason"))
        if not reason.strip():
            raise DomainError.for_fields(
                {"reason": [_("Reason is required to override the acknowledgement check.")]}
            )
        campaign.done_override_reason = reason.strip()
        pending = [t.name for t in facts.pending_teams]
        # The objections the manager overrode stay on record, each with its reason.
        objections = [{"team": t.name, "reason": t.not_ready_reason} for t in facts.not_ready_teams]
        details: dict[str, Any] = {"reason": reason.strip(), "pending_teams": pending}
        if objections:
            details["not_ready"] = objections
        record_audit_event(
            actor=actor,
            action=AuditAction.DONE_OVERRIDDEN,
            target=campaign,
            target_label=campaign.title,
            details=details,
        )
        return _close_as_done(campaign, actor, EventKind.DONE_OVERRIDDEN, details)


def _close_as_done(campaign: Campaign, actor: User, kind: str, details: dict[str, Any]) -> Campaign:
    campaign.status = Status.DONE
    campaign.done_at = timezone.now()
    campaign.save(update_fields=["status", "done_at", "done_override_reason", "updated_at"])
    record(campaign, actor, kind, details)
    chat_posts_touch(campaign)
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
    """Draft or announced → cancelled (its owner, co-editors or a manager). Teams already
    told are told it is off, with the reason; a draft's cancellation tells nobody."""
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        require(Action.CANCEL, actor, campaign)
        reason = free_text(reason, field="reason", label=_("Reason"))
        was_told = campaign.phase.awaiting_acknowledgement
        campaign.status = Status.CANCELLED
        campaign.cancelled_at = timezone.now()
        campaign.save(update_fields=["status", "cancelled_at", "updated_at"])
        record(campaign, actor, EventKind.CANCELLED, {"reason": reason.strip()})
        if was_told:
            chat_posts_touch(campaign)
            team_ids = list(campaign.stakeholders.values_list("team_id", flat=True))
            notify_teams(campaign, team_ids, kind=NotificationKind.CANCELLED, reason=reason.strip())
    return campaign
