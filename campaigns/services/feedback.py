"""The reverse flow: questions, answers and customer reactions on a campaign's thread,
replies to them, @mentions, and questions marked answered."""

import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import rules
from campaigns.models import Feedback
from campaigns.rules import Action
from campaigns.services.common import (
    lock_campaign,
    notification_payload,
    notify_owner,
    require,
)
from core.errors import DomainError, NotFound, PermissionRefused
from notifications import services as notifications
from notifications.models import Kind as NotificationKind
from teams.roles import Actor
from webhooks.models import EventType as WebhookEventType
from webhooks.services import webhook_event_publish

FEEDBACK_MAX_LENGTH = 5000
# "@sophie.martin": the part of a person's e-mail address before the "@". A handle two
# people share names nobody (the author sees it was not a mention).
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]*[A-Za-z0-9_%+-])")
MENTIONS_MAX = 20


def mentioned_people(body: str) -> list[User]:
    """The active people a message mentions, by their address's local part; one query."""
    handles = {h.lower() for h in MENTION.findall(body)[:MENTIONS_MAX]}
    if not handles:
        return []
    matches: dict[str, list[User]] = {}
    query = Q()
    for handle in handles:
        query |= Q(email__istartswith=f"{handle}@")
    for person in User.objects.filter(query, is_active=True):
        matches.setdefault(person.email.split("@", 1)[0].lower(), []).append(person)
    return [people[0] for handle, people in matches.items() if len(people) == 1]


def feedback_post(
    *,
    actor: User,
    campaign_id: int,
    tag: str,
    body: str,
    parent_id: int | None = None,
    via: str = "",
) -> Feedback:
    """Add a message (a question, an answer, a customer reaction) to a campaign's thread.

    Anyone who may see the campaign may post, once it is announced and until it is
    cancelled (campaigns.rules). One transaction, the campaign locked so a message cannot
    land on a campaign being cancelled at the same moment: the message and the owner's
    outbox row are written together, delivery is queued on commit. Not idempotent
    (posting twice makes two messages), but each message notifies the owner at most once:
    the dedupe key names the message. The timeline is left alone, it records state
    changes; the thread is its own list.
    """
    body = body.strip()
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        require(Action.POST_FEEDBACK, actor, campaign)
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
        parent = None
        if parent_id is not None:
            parent = Feedback.objects.filter(
                pk=parent_id, campaign=campaign, parent__isnull=True
            ).first()
            if parent is None:
                raise NotFound(_("This message is no longer in the thread."))
        feedback = Feedback.objects.create(
            campaign=campaign, author=actor, tag=tag, body=body, parent=parent, via=via
        )
        webhook_event_publish(
            event_type=WebhookEventType.FEEDBACK_CREATED,
            data={
                "id": feedback.pk,
                "campaign_id": campaign.pk,
                "parent_id": parent.pk if parent is not None else None,
                "author": {"id": actor.pk, "name": actor.display_name},
                "tag": tag,
                "body": body,
            },
            occurred_at=feedback.created_at,
        )
        # Each person is told once about this message, by the most personal reason:
        # mentioned, else answered in their own thread, else as the campaign's owner.
        told: dict[int, str] = {}
        if actor.pk != campaign.owner_id:
            told[campaign.owner_id] = "owner"
        if parent is not None and parent.author_id != actor.pk:
            told[parent.author_id] = "reply"
        for person in mentioned_people(body):
            if person.pk != actor.pk:
                told[person.pk] = "mention"
        if told.get(campaign.owner_id) == "owner":
            notify_owner(
                campaign,
                occurrence=f"feedback-{feedback.pk}",
                note=body,
                author_name=actor.display_name,
                tag=tag if parent is None else "reply",
            )
        for reason in ("reply", "mention"):
            if people := [pk for pk, why in told.items() if why == reason]:
                notifications.notifications_enqueue(
                    campaign_id=campaign.pk,
                    campaign_version=campaign.version,
                    kind=NotificationKind.FEEDBACK,
                    user_ids=people,
                    payload=notification_payload(
                        campaign, note=body, author_name=actor.display_name, tag=reason
                    ),
                    occurrence=f"feedback-{feedback.pk}-{reason}",
                )
    return feedback


def feedback_mark_answered(*, actor: User, feedback_id: int, answered: bool = True) -> Feedback:
    """Mark a question of the thread answered (or open again): its asker, or the
    campaign's owner, co-editors and managers, while the thread is open. Idempotent.
    One transaction, the campaign locked as for posting."""
    question = Feedback.objects.filter(pk=feedback_id).only("campaign_id").first()
    if question is None:
        raise NotFound(_("This message is no longer in the thread."))
    with transaction.atomic():
        campaign = lock_campaign(question.campaign_id)
        facts = require(Action.POST_FEEDBACK, actor, campaign)
        question = Feedback.objects.select_for_update().get(pk=feedback_id)
        if question.tag != Feedback.Tag.QUESTION or question.parent_id is not None:
            raise DomainError(_("Only a question can be marked answered."), code="not_a_question")
        person = Actor.of(actor)
        if question.author_id != actor.pk and not any(
            rules.holds(relation, person, facts) for relation in rules.EDITORS
        ):
            raise PermissionRefused(
                _("Only the person who asked and the campaign's owner can mark it answered.")
            )
        if answered and question.answered_at is None:
            question.answered_at = timezone.now()
            question.answered_by = actor
        elif not answered:
            question.answered_at = None
            question.answered_by = None
        question.save(update_fields=["answered_at", "answered_by"])
    return question
