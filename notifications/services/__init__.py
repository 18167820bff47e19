"""Writes to the notification outbox, its delivery, digests and a person's settings.

- `outbox`: an event and its audience, committed with the change; expansion into rows
- `delivery`: claiming, sending, outcomes, leases, the sweep, retries by hand
- `digests`: the daily digest and the Monday "week ahead", in batches of people
- `inbox`: read marks and notification preferences
- `bounces`: what the e-mail provider reports later (bounces, refusals)
- `retention`: purging what is older than NOTIFICATION_RETENTION_DAYS (docs/PRIVACY.md)
"""

from notifications.models import MANDATORY
from notifications.services.bounces import UNDELIVERED_EVENTS, notification_bounced
from notifications.services.delivery import (
    DELIVERY_TASKS,
    DeliveryReport,
    SweepReport,
    notifications_deliver,
    notifications_retry,
    notifications_sweep,
    pending_by_channel,
    publish_deliveries,
    retry_delay,
    team_webhook_mark_broken,
    team_webhook_repaired,
)
from notifications.services.digests import (
    DIGEST_DEFAULT_KINDS,
    digest_batches_due,
    digest_user_ids,
    digest_wanted,
    digests_send_due,
    digests_send_for,
    week_ahead_due,
    week_ahead_opted_out,
    week_ahead_period,
    week_ahead_send,
    week_ahead_served,
)
from notifications.services.inbox import (
    UNSUBSCRIBE_TOPICS,
    email_unsubscribe,
    email_unsubscribe_possible,
    inbox_mark_read,
    inbox_settle_acknowledged,
    preferences_save,
)
from notifications.services.outbox import (
    PERSON_CHANNELS,
    PersonRow,
    active_memberships,
    chunked,
    dedupe_key,
    dispatch_expand,
    notifications_enqueue,
    person_channels_open,
    person_rows_plan,
    webhook_team_ids_reached,
)
from notifications.services.retention import PurgeReport, notifications_purge_expired

__all__ = [
    "DELIVERY_TASKS",
    "DIGEST_DEFAULT_KINDS",
    "MANDATORY",
    "PERSON_CHANNELS",
    "UNDELIVERED_EVENTS",
    "UNSUBSCRIBE_TOPICS",
    "DeliveryReport",
    "PersonRow",
    "PurgeReport",
    "SweepReport",
    "active_memberships",
    "chunked",
    "dedupe_key",
    "digest_batches_due",
    "digest_user_ids",
    "digest_wanted",
    "digests_send_due",
    "digests_send_for",
    "dispatch_expand",
    "email_unsubscribe",
    "email_unsubscribe_possible",
    "inbox_mark_read",
    "inbox_settle_acknowledged",
    "notification_bounced",
    "notifications_deliver",
    "notifications_enqueue",
    "notifications_purge_expired",
    "notifications_retry",
    "notifications_sweep",
    "pending_by_channel",
    "person_channels_open",
    "person_rows_plan",
    "preferences_save",
    "publish_deliveries",
    "retry_delay",
    "team_webhook_mark_broken",
    "team_webhook_repaired",
    "webhook_team_ids_reached",
    "week_ahead_due",
    "week_ahead_opted_out",
    "week_ahead_period",
    "week_ahead_send",
    "week_ahead_served",
]
