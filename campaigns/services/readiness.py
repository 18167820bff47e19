"""A stakeholder team answering "not ready", and the owner's reply.

A team that cannot face customers yet (the advisors' script is missing, the stock is
not there) says so with a reason. Until the team acknowledges, the campaign cannot be
marked as done (campaigns.rules: MARK_DONE's readiness names the team and its reason);
a manager's override still closes it and records the open objection.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Stakeholder
from campaigns.rules import Action
from campaigns.services.common import (
    EventKind,
    chat_posts_touch,
    free_text,
    lock_team,
    notification_payload,
    record,
)
from core.errors import DomainError
from notifications import services as notifications
from notifications.models import Kind as NotificationKind

NOT_READY_REASON_MAX_LENGTH = 2000

_OBJECTION_FIELDS = [
    "not_ready_reason",
    "not_ready_at",
    "not_ready_by",
    "not_ready_reply",
    "not_ready_replied_at",
    "not_ready_replied_by",
]


def _text(value: str, *, field: str, label: str, required: str) -> str:
    text = free_text(value, field=field, label=label)
    if not text:
        raise DomainError.for_fields({field: [required]})
    if len(text) > NOT_READY_REASON_MAX_LENGTH:
        raise DomainError.for_fields(
            {
                field: [
                    _("%(label)s must be at most %(max)s characters.")
                    % {"label": label, "max": NOT_READY_REASON_MAX_LENGTH}
                ]
            }
        )
    return text


def stakeholder_not_ready(
    *, actor: User, campaign_id: int, team_id: int, reason: str, via: str = ""
) -> Stakeholder:
    """One of the team's members says the team is not ready, and why.

    One transaction, the campaign and its stakeholder rows locked: the same locks as
    "mark as done", so the two cannot both win a race. Any member may say it, whatever
    the team's policy; a member who had acknowledged takes their acknowledgement back,
    and the team no longer counts as acknowledged. Saying it again replaces the reason
    (the timeline keeps both). The owner is told at once, by e-mail (never held for a
    digest, never switched off) and in the app: outbox rows, delivered after commit.
    `via` says on the timeline which channel it came through (chat, e-mail link)."""
    reason = _text(
        reason,
        field="reason",
        label=_("Reason"),
        required=_("Say what the team is missing, so marketing can answer."),
    )
    with transaction.atomic():
        campaign, stakeholder = lock_team(Action.SAY_NOT_READY, actor, campaign_id, team_id)
        now = timezone.now()
        stakeholder.acknowledgements.filter(user=actor).update(revoked_at=now)
        stakeholder.acknowledged_version = None
        stakeholder.acknowledged_at = None
        stakeholder.acknowledged_by = None
        stakeholder.not_ready_reason = reason
        stakeholder.not_ready_at = now
        stakeholder.not_ready_by = actor
        stakeholder.not_ready_reply = ""
        stakeholder.not_ready_replied_at = None
        stakeholder.not_ready_replied_by = None
        stakeholder.save(
            update_fields=[
                "acknowledged_version",
                "acknowledged_at",
                "acknowledged_by",
                *_OBJECTION_FIELDS,
            ]
        )
        event = record(
            campaign,
            actor,
            EventKind.NOT_READY,
            {"team": stakeholder.team.name, "reason": reason, **({"via": via} if via else {})},
        )
        notifications.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=campaign.version,
            kind=NotificationKind.NOT_READY,
            user_ids=[campaign.owner_id],
            payload=notification_payload(
                campaign,
                team=stakeholder.team.name,
                reason=reason,
                author_name=actor.display_name,
            ),
            occurrence=f"not-ready-{event.pk}",
        )
        chat_posts_touch(campaign)
    return stakeholder


def stakeholder_not_ready_reply(
    *, actor: User, campaign_id: int, team_id: int, reply: str
) -> Stakeholder:
    """The owner (a co-editor, a manager) answers a team that is not ready.

    The answer does not lift the hold: the team does, by acknowledging (perhaps a new
    version, if the answer was to change the campaign). Its members and its chat are
    told the answer (outbox rows after commit). One transaction, campaign locked."""
    reply = _text(
        reply,
        field="reply",
        label=_("Reply"),
        required=_("Write your reply to the team."),
    )
    with transaction.atomic():
        campaign, stakeholder = lock_team(Action.REPLY_NOT_READY, actor, campaign_id, team_id)
        stakeholder.not_ready_reply = reply
        stakeholder.not_ready_replied_at = timezone.now()
        stakeholder.not_ready_replied_by = actor
        stakeholder.save(
            update_fields=["not_ready_reply", "not_ready_replied_at", "not_ready_replied_by"]
        )
        event = record(
            campaign,
            actor,
            EventKind.NOT_READY_REPLIED,
            {"team": stakeholder.team.name, "reason": stakeholder.not_ready_reason, "reply": reply},
        )
        notifications.notifications_enqueue(
            campaign_id=campaign.pk,
            campaign_version=campaign.version,
            kind=NotificationKind.NOT_READY_REPLY,
            member_team_ids=[team_id],
            webhook_team_ids=[team_id],
            payload=notification_payload(
                campaign,
                team=stakeholder.team.name,
                reason=stakeholder.not_ready_reason,
                note=reply,
                author_name=actor.display_name,
            ),
            occurrence=f"not-ready-reply-{event.pk}",
        )
        chat_posts_touch(campaign)
    return stakeholder


def objection_lift(stakeholder: Stakeholder) -> bool:
    """Clear a team's "not ready" once it acknowledges (inside the caller's transaction,
    the stakeholder row locked). Returns whether there was one."""
    if stakeholder.not_ready_at is None:
        return False
    stakeholder.not_ready_reason = ""
    stakeholder.not_ready_at = None
    stakeholder.not_ready_by = None
    stakeholder.not_ready_reply = ""
    stakeholder.not_ready_replied_at = None
    stakeholder.not_ready_replied_by = None
    return True


OBJECTION_FIELDS = tuple(_OBJECTION_FIELDS)
