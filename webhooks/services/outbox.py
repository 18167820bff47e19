"""Publishing an event: one outbox row per endpoint that wants it, in the caller's
transaction; delivery queued after commit."""

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.publish import publish_task
from webhooks import signing
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.tasks.webhook_deliver"


def deliveries_queue(delivery_ids: Sequence[int]) -> None:
    """Hand each delivery to a task of its own: a slow receiver holds up no other. Best
    effort (notifications.publish): a publish that fails leaves the row to the sweep."""
    for delivery_id in delivery_ids:
        publish_task(DELIVER_TASK, delivery_id)


def webhook_event_publish(
    *, event_type: str, data: dict[str, Any], occurred_at: datetime | None = None
) -> int:
    """Write one pending delivery of this event for each active endpoint subscribed to
    `event_type` (one query finds them; nothing more when there are none), and queue their
    delivery once the caller's transaction commits: a rolled-back change sends nothing,
    and a committed one is never lost (the sweep queues what the broker missed).

    `data` is plain JSON, the message's `data`; `occurred_at` (default now) its
    `timestamp`. Not idempotent: each call is a new event, with new message ids. Returns
    how many deliveries were written."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    # Endpoints are few (an installation's integrations): filtering their event lists
    # here reads the same on SQLite, which has no JSON containment lookup.
    wanted = [
        pk
        for pk, types in WebhookEndpoint.objects.filter(active=True).values_list(
            "pk", "event_types"
        )
        if not types or event_type in types
    ]
    if not wanted:
        return 0
    now = timezone.now()
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint_id=endpoint_id,
            message_id=signing.message_id_make(),
            event_type=event_type,
            payload=data,
            occurred_at=occurred_at or now,
            next_attempt_at=now,
            queued_at=now,
        )
        for endpoint_id in wanted
    )
    transaction.on_commit(partial(deliveries_queue, [row.pk for row in rows]))
    return len(rows)
