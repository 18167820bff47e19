"""Celery tasks of accounts: thin wrappers over accounts.invitation_delivery."""

from celery import shared_task

from accounts import invitation_delivery
from notifications.publish import publish_task


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=300)
def invitations_send(invitation_ids: list[int]) -> int:
    """Send invitation e-mails (idempotent: a sent one is skipped)."""
    return invitation_delivery.invitations_send(invitation_ids=invitation_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=50, time_limit=60)
def invitations_sweep() -> int:
    """Beat: send the invitations whose task was never queued, or failed."""
    unsent = invitation_delivery.invitations_unsent()
    for start in range(0, len(unsent), 50):
        publish_task("accounts.tasks.invitations_send", unsent[start : start + 50])
    return len(unsent)


def invitations_queue(invitation_ids: list[int]) -> None:
    """After the commit: queue the sending (the sweep covers a broker that is down)."""
    for start in range(0, len(invitation_ids), 50):
        publish_task("accounts.tasks.invitations_send", invitation_ids[start : start + 50])
