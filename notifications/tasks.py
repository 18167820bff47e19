"""Celery tasks: thin wrappers that take ids and call services. All are idempotent, which
is what makes `acks_late` (a task re-run after a worker dies) safe."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications import services
from notifications.publish import publish_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fan_out(campaign_id: int, campaign_version: int, kind: str) -> int:
    """Split the pending rows of one event into delivery batches. Running it twice queues
    the same rows twice, and the second claim finds them taken."""
    ids = services.pending_notification_ids(
        campaign_id=campaign_id, campaign_version=campaign_version, kind=kind
    )
    for batch in services.chunked(ids, settings.NOTIFICATIONS_BATCH_SIZE):
        deliver.delay(batch)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver(notification_ids: list[int]) -> dict[str, int]:
    """Claim and send a batch; transient failures come back later with backoff."""
    report = services.notifications_deliver(notification_ids=notification_ids)
    if report.retry and report.retry_at is not None:
        delay = max(0.0, (report.retry_at - timezone.now()).total_seconds())
        publish_task("notifications.tasks.deliver", report.retry, countdown=delay)
    return {"sent": len(report.sent), "retry": len(report.retry), "failed": len(report.failed)}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_stale_notifications() -> int:
    """Beat: re-queue what was never queued or was lost, and free rows of dead workers."""
    ids = services.notifications_sweep()
    for batch in services.chunked(ids, settings.NOTIFICATIONS_BATCH_SIZE):
        deliver.delay(batch)
    return len(ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_daily_digests() -> int:
    """Beat, hourly: send each opted-in person's digest once their local digest hour came."""
    return services.digests_send_due()
