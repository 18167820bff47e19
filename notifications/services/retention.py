"""How long the outbox keeps what it delivered (docs/PRIVACY.md): notification rows and
their payloads are personal data (who was told what, with names and notes in them), kept
NOTIFICATION_RETENTION_DAYS and then purged by a daily beat task."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.db import delete_in_batches
from notifications.models import DigestRun, Dispatch, Notification

# Rows still on their way (or waiting for a digest) are never purged, however old:
# deleting them would lose a message, and the sweep or the digest still owns them.
FINISHED = (Notification.Status.SENT, Notification.Status.FAILED)
PURGE_BATCH_SIZE = 1000


@dataclass
class PurgeReport:
    notifications: int = 0
    dispatches: int = 0
    digest_runs: int = 0


def notifications_purge_expired(
    *, now: datetime | None = None, batch_size: int = PURGE_BATCH_SIZE
) -> PurgeReport:
    """Delete notification rows (sent or failed) and dispatches (the payloads) created
    more than NOTIFICATION_RETENTION_DAYS ago, and digest marks as old. Pending, sending
    and held rows stay whatever their age, and so does a dispatch that still has rows or
    was never expanded. In batches, each committed on its own (no transaction around the
    whole purge); idempotent: a second run finds nothing left to delete."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.NOTIFICATION_RETENTION_DAYS)
    report = PurgeReport()
    report.notifications = delete_in_batches(
        Notification.objects.filter(created_at__lt=cutoff, status__in=FINISHED), batch_size
    )
    rows_left = Notification.objects.filter(dispatch_id=OuterRef("pk"))
    report.dispatches = delete_in_batches(
        Dispatch.objects.filter(created_at__lt=cutoff, expanded_at__isnull=False).exclude(
            Exists(rows_left)
        ),
        batch_size,
    )
    report.digest_runs = delete_in_batches(DigestRun.objects.filter(sent_at__lt=cutoff), batch_size)
    return report
