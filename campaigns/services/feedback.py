"""The reverse flow: questions, answers and customer reactions on a campaign's thread."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Feedback
from campaigns.rules import Action
from campaigns.services.common import lock_campaign, notify_owner, require
from core.errors import DomainError

FEEDBACK_MAX_LENGTH = 5000


def feedback_post(*, actor: User, campaign_id: int, tag: str, body: str) -> Feedback:
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
        feedback = Feedback.objects.create(campaign=campaign, author=actor, tag=tag, body=body)
        if actor.pk != campaign.owner_id:
            notify_owner(
                campaign,
                occurrence=f"feedback-{feedback.pk}",
                note=body,
                author_name=actor.display_name,
                tag=tag,
            )
    return feedback
