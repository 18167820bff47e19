"""Celery tasks of the webhooks app: thin, ids in, idempotent (which makes `acks_late`
safe). Each runs on the queue of its kind (hub.queues) with its own time limits."""

from celery import shared_task

from notifications.publish import publish_task
from webhooks import services
from webhooks.services.delivery import DELIVER_SOFT_TIME_LIMIT, DELIVER_TIME_LIMIT, NOTICE_TASK
from webhooks.services.outbox import deliveries_queue


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=DELIVER_SOFT_TIME_LIMIT,
    time_limit=DELIVER_TIME_LIMIT,
)
def webhook_deliver(delivery_id: int) -> str:
    """One attempt at one message (claimed first: a duplicate task finds nothing to do).
    A retry is not queued from here: the row waits, pending, for the sweep to find it due."""
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def webhooks_sweep() -> dict[str, int]:
    """Beat: free rows of dead workers, disable endpoints failing for too long, queue
    due deliveries and lost notices."""
    report = services.webhooks_sweep()
    deliveries_queue(report.delivery_ids)
    for endpoint_id in report.notice_endpoint_ids:
        publish_task(NOTICE_TASK, endpoint_id)
    return {
        "queued": len(report.delivery_ids),
        "freed": report.freed,
        "disabled": report.disabled,
        "notices": len(report.notice_endpoint_ids),
    }


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def webhook_endpoint_disabled_notify(endpoint_id: int) -> int:
    """E-mail the manager of an endpoint that was disabled (once; the sweep retries)."""
    return services.webhook_endpoint_disabled_notify(endpoint_id=endpoint_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=540, time_limit=600)
def webhook_deliveries_purge_expired() -> int:
    """Beat, daily: delete delivered and failed messages older than
    WEBHOOKS_RETENTION_DAYS (docs/PRIVACY.md), in batches; stopped by its time limit, it
    resumes where it was the next day."""
    return services.webhook_deliveries_purge_expired()
