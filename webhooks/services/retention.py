"""How long the delivery log keeps messages (docs/PRIVACY.md): a message's payload names
the person who acted and may quote a thread message, so delivered and failed ones are
deleted WEBHOOKS_RETENTION_DAYS after they were written, by a daily beat task."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core.db import delete_in_batches
from webhooks.models import WebhookDelivery

FINISHED = (WebhookDelivery.Status.DELIVERED, WebhookDelivery.Status.FAILED)


def webhook_deliveries_purge_expired(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete delivered and failed messages created more than WEBHOOKS_RETENTION_DAYS ago,
    in batches committed one by one; pending and sending ones stay whatever their age (a
    disabled endpoint's messages wait for it to be enabled again). Idempotent. Returns how
    many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    return delete_in_batches(
        WebhookDelivery.objects.filter(created_at__lt=cutoff, status__in=FINISHED), batch_size
    )
