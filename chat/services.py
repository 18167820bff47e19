"""Writes of the chat integrations that campaigns' services call inside their transaction:
marking posted chat messages for an update. Nothing here imports campaigns (the
dependency points from campaigns to chat); the actions chat receives are in chat.actions.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import ChatAction, ChatPost, Platform
from core.db import delete_in_batches
from notifications.channels import DeliveryError
from notifications.publish import publish_task


def chat_posts_touch(*, campaign_id: int) -> int:
    """Mark the campaign's posted chat messages for an update, inside the caller's
    transaction: the change they show and the mark commit together, and the update is
    queued after commit (the sweep re-queues it if that publish is lost). Returns how
    many messages will be updated."""
    # Always a new mark, even on a message already stale: a worker sending the previous
    # state then sees the mark moved and leaves the message stale for this one.
    touched = ChatPost.objects.filter(campaign_id=campaign_id).update(stale_since=timezone.now())
    if touched:
        transaction.on_commit(
            lambda: publish_task("chat.tasks.chat_posts_refresh", campaign_id), robust=True
        )
    return touched


def chat_posts_refresh(*, campaign_id: int) -> int:
    """Re-render each stale message of the campaign and replace it in the chat (network
    I/O outside any transaction). A message is marked fresh only if nothing touched it
    while it was sent (the mark is compared, as a conditional update); a failure leaves
    it stale for the sweep. Returns how many were updated."""
    from chat import mattermost, slack

    updated = 0
    for post in ChatPost.objects.filter(campaign_id=campaign_id, stale_since__isnull=False):
        update = slack.update_post if post.platform == Platform.SLACK else mattermost.update_post
        try:
            update(post)
        except DeliveryError as error:
            ChatPost.objects.filter(pk=post.pk).update(last_error=str(error)[:1000])
            if not error.transient:
                # A message Slack refuses to change (deleted, bot removed) stays as it is.
                ChatPost.objects.filter(pk=post.pk, stale_since=post.stale_since).update(
                    stale_since=None
                )
            continue
        updated += ChatPost.objects.filter(pk=post.pk, stale_since=post.stale_since).update(
            stale_since=None, updated_at=timezone.now(), last_error=""
        )
    return updated


STALE_AFTER = timedelta(seconds=30)


def chat_sweep(*, now: datetime | None = None) -> int:
    """Queue again the Slack actions still pending and the messages still stale after
    30 s (their task was lost with a worker or a broker). Returns how many tasks."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    queued = 0
    for action_id in ChatAction.objects.filter(
        status=ChatAction.Status.PENDING, received_at__lt=cutoff
    ).values_list("pk", flat=True)[:500]:
        queued += publish_task("chat.tasks.chat_action_process", action_id)
    for campaign_id in (
        ChatPost.objects.filter(stale_since__lt=cutoff)
        .values_list("campaign_id", flat=True)
        .distinct()[:500]
    ):
        queued += publish_task("chat.tasks.chat_posts_refresh", campaign_id)
    return queued


def chat_actions_purge_expired(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete the clicks and forms received from chat (their payloads name the chat user)
    once carried out or refused and older than a replay could be: a Mattermost button's
    signed token is accepted CHAT_ACTION_MAX_AGE_DAYS, and until then the row's unique
    fingerprint is what refuses the same request twice (Slack's 5-minute timestamp
    window is far shorter). A day of margin; pending rows stay. Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.CHAT_ACTION_MAX_AGE_DAYS + 1)
    return delete_in_batches(
        ChatAction.objects.filter(received_at__lt=cutoff).exclude(status=ChatAction.Status.PENDING),
        batch_size,
    )
