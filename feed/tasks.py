from datetime import datetime

from celery import shared_task
from django.utils import timezone

from feed.week_ahead import week_ahead_batches_due, week_ahead_send_for
from notifications.publish import publish_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def send_week_ahead() -> int:
    """Beat, hourly: hand the people whose Monday e-mail is due to workers, in batches."""
    now = timezone.now()
    batches = week_ahead_batches_due(now=now)
    for batch in batches:
        publish_task("feed.tasks.send_week_ahead_batch", batch, now.isoformat())
    return len(batches)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def send_week_ahead_batch(user_ids: list[int], now: str) -> int:
    """The Monday "week ahead" e-mail of a batch of people, once per person and ISO week
    (DigestRun rows make it idempotent)."""
    return week_ahead_send_for(user_ids=user_ids, now=datetime.fromisoformat(now))
