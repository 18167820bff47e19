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
        _move(
            campaign,
            actor,
            Action.ANNOUNCE,
            to=Status.ANNOUNCED,
            announced_at=now,
            already_sent_reason=reason if campaign.launch_at < now else "",
        )
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
        return _close_as_done(campaign, actor, EventKind.DONE, {}, action=Action.MARK_DONE)


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
        # The append-only log names the teams whose objection was overridden, not their
        # words: a reason is its author's text, which erasure must be able to remove
        # (it stays on the timeline, where it can be).
        audited = {"reason": reason.strip(), "pending_teams": pending}
        if objections:
            audited["not_ready_teams"] = [objection["team"] for objection in objections]
        record_audit_event(
            actor=actor,
            action=AuditAction.DONE_OVERRIDDEN,
            target=campaign,
            target_label=campaign.title,
            details=audited,
        )
        return _close_as_done(
            campaign, actor, EventKind.DONE_OVERRIDDEN, details, action=Action.OVERRIDE_DONE
        )


def _move(campaign: Campaign, actor: User, action: Action, *, to: str, **fields: Any) -> None:
    """Write the status the rule book allowed, with `fields`, as a conditional update on
    the status it read. Besides the row lock every transition takes, this keeps a second
    request that got past the check (on a database without row locks, such as SQLite's
    shared test database) from moving the campaign twice: it changes nothing and is
    refused as the book words it ("Already announced by Marie on…")."""
    moved = Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if not moved:
        require(action, actor, lock_campaign(campaign.pk))
        raise DomainError(_("This campaign changed meanwhile: reload it."), code="already_done")
    campaign.status = to
    for name, value in fields.items():
        setattr(campaign, name, value)


def _close_as_done(
    campaign: Campaign, actor: User, kind: str, details: dict[str, Any], *, action: Action
) -> Campaign:
    _move(
        campaign,
        actor,
        action,
        to=Status.DONE,
        done_at=timezone.now(),
        done_override_reason=campaign.done_override_reason,
    )
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
        _move(campaign, actor, Action.CANCEL, to=Status.CANCELLED, cancelled_at=timezone.now())
        record(campaign, actor, EventKind.CANCELLED, {"reason": reason.strip()})
        if was_told:
            chat_posts_touch(campaign)
            team_ids = list(campaign.stakeholders.values_list("team_id", flat=True))
            notify_teams(campaign, team_ids, kind=NotificationKind.CANCELLED, reason=reason.strip())
    return campaign
