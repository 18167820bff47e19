from celery import shared_task

from api import services


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def idempotent_requests_purge() -> int:
    """Beat, hourly: forget Idempotency-Key answers older than a day. Idempotent."""
    return services.idempotent_requests_purge()
