from celery import shared_task

from campaigns.services import campaigns_send_due_reminders_and_escalations


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_reminders_and_escalations() -> dict[str, int]:
    """Beat: reminders before each team's due date, escalations after. Idempotent through
    the outbox dedupe keys."""
    return campaigns_send_due_reminders_and_escalations()
