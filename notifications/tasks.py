"""Celery tasks: thin wrappers that take ids and call services. All are idempotent, which
is what makes `acks_late` (a task re-run after a worker dies) safe. Each runs on the
queue of its kind (hub.celery.QUEUES) with time limits of its own."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from notifications import services
from notifications.publish import publish_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def expand_dispatch(dispatch_id: int) -> int:
    """Write the outbox rows of a large audience, after the change committed."""
    return services.dispatch_expand(dispatch_id=dispatch_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def fan_out(dispatch_id: int) -> int:
    """Queue delivery of one dispatch's pending rows, by channel. Running it twice queues
    the same rows twice, and the second claim finds them taken."""
    by_channel = services.pending_by_channel(dispatch_id=dispatch_id)
    services.publish_deliveries(by_channel)
    return sum(len(ids) for ids in by_channel.values())


def _retry_later(report: services.DeliveryReport, task: str) -> None:
    if report.retry and report.retry_at is not None:
        delay = max(0.0, (report.retry_at - timezone.now()).total_seconds())
        publish_task(task, report.retry, countdown=delay)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def deliver(notification_ids: list[int]) -> dict[str, int]:
    """Claim and send a batch of e-mails; transient failures come back with backoff."""
    report = services.notifications_deliver(notification_ids=notification_ids)
    _retry_later(report, "notifications.tasks.deliver")
    return {"sent": len(report.sent), "retry": len(report.retry), "failed": len(report.failed)}


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def deliver_webhook(notification_ids: list[int]) -> dict[str, int]:
    """Post one team chat message (alone: a chat server that hangs delays nothing else)."""
    report = services.notifications_deliver(notification_ids=notification_ids)
    _retry_later(report, "notifications.tasks.deliver_webhook")
    return {"sent": len(report.sent), "retry": len(report.retry), "failed": len(report.failed)}


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def sweep_stale_notifications() -> int:
    """Beat: give back rows of dead workers, re-queue what was never queued or was lost,
    and expand dispatches whose expansion never ran."""
    report = services.notifications_sweep()
    for dispatch_id in report.dispatch_ids:
        publish_task("notifications.tasks.expand_dispatch", dispatch_id)
    services.publish_deliveries(report.by_channel)
    return report.count


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def send_daily_digests() -> int:
    """Beat, hourly: hand the people whose digest hour has come to workers, in batches."""
    now = timezone.now()
    batches = services.digest_batches_due(now=now)
    for batch in batches:
        publish_task("notifications.tasks.send_digest_batch", batch, now.isoformat())
    return len(batches)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def send_digest_batch(user_ids: list[int], now: str) -> int:
    """Send the digests of a batch of people; once per person and day (DigestRun)."""
    return services.digests_send_for(user_ids=user_ids, now=datetime.fromisoformat(now))


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def notifications_purge_expired() -> dict[str, int]:
    """Beat, daily: delete delivered notifications and their payloads older than
    NOTIFICATION_RETENTION_DAYS (docs/PRIVACY.md), in batches; rows still on their way
    stay. Stopped by its time limit, it resumes where it was the next day."""
    report = services.notifications_purge_expired()
    return {
        "notifications": report.notifications,
        "dispatches": report.dispatches,
        "digest_runs": report.digest_runs,
    }
