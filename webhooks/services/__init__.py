"""Writes of the webhooks app, each owning its transaction (or joining the caller's, for
`webhook_event_publish`). See each module: outbox (publishing events), delivery (sending,
the sweep), endpoints (what managers do), notices (the "disabled" e-mail), retention
(the daily purge of the delivery log)."""

from webhooks.services.delivery import (
    SweepReport,
    endpoint_disable,
    message_body,
    retry_delay,
    webhook_delivery_attempt,
    webhooks_sweep,
)
from webhooks.services.endpoints import (
    EndpointInput,
    delivery_missing,
    endpoint_missing,
    endpoint_validate,
    webhook_delivery_resend,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_enable,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
)
from webhooks.services.notices import notice_recipients, webhook_endpoint_disabled_notify
from webhooks.services.outbox import deliveries_queue, webhook_event_publish
from webhooks.services.retention import webhook_deliveries_purge_expired

__all__ = [
    "EndpointInput",
    "SweepReport",
    "deliveries_queue",
    "delivery_missing",
    "endpoint_disable",
    "endpoint_missing",
    "endpoint_validate",
    "message_body",
    "notice_recipients",
    "retry_delay",
    "webhook_deliveries_purge_expired",
    "webhook_delivery_attempt",
    "webhook_delivery_resend",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_disabled_notify",
    "webhook_endpoint_enable",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_send_test",
    "webhook_endpoint_update",
    "webhook_event_publish",
    "webhooks_sweep",
]
