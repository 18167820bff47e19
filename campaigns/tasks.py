from celery import shared_task

from campaigns.digests import week_ahead_send_due
from campaigns.services import campaigns_send_due_reminders_and_escalations


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_reminders_and_escalations() -> dict[str, int]:
    """Beat: reminders before each team's due date, escalations after. Idempotent through
    the outbox dedupe keys."""
    return campaigns_send_due_reminders_and_escalations()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_week_ahead() -> int:
    """Beat, hourly: the Monday "week ahead" e-mail, once per person and ISO week, at the
    digest hour in each person's time zone. Idempotent through DigestRun rows."""
    return week_ahead_send_due()
