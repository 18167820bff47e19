from celery import shared_task

from feed.week_ahead import week_ahead_send_due


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_week_ahead() -> int:
    """Beat, hourly: the Monday "week ahead" e-mail, once per person and ISO week, at the
    digest hour in each person's time zone. Idempotent through DigestRun rows."""
    return week_ahead_send_due()
