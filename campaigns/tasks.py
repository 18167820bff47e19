from celery import shared_task

from campaigns import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_reminders_and_escalations() -> dict[str, int]:
    """Beat: reminders before each team's due date, escalations after. Idempotent through
    the outbox dedupe keys."""
    return services.campaigns_send_due_reminders_and_escalations()


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def launch_changes_purge() -> int:
    """Beat, every minute: forget launch changes a few minutes old (the calendars' stamp
    reads them all)."""
    return services.launch_changes_purge()
