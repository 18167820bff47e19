"""The Celery queues, one per kind of work, and which task goes to which.

Kinds are kept apart so one cannot starve another: a 10,000-person fan-out queues two
hundred e-mail batches, and the sweep, a slow chat server or the Monday digests must not
wait behind them. A worker started without `-Q` consumes every queue; a large
installation runs workers per queue (README, docs/OPERATIONS.md).
"""

from kombu import Queue

FANOUT = "fanout"  # expanding a large audience, splitting it into deliveries
EMAIL = "email"
WEBHOOKS = "webhooks"
DIGESTS = "digests"  # daily digests and the Monday e-mail, in batches of people
HOUSEKEEPING = "housekeeping"  # beat's ticks: the sweep, reminders, scheduling digests

QUEUE_NAMES = (FANOUT, EMAIL, WEBHOOKS, DIGESTS, HOUSEKEEPING)

ROUTES = {
    "notifications.tasks.expand_dispatch": FANOUT,
    "notifications.tasks.fan_out": FANOUT,
    "notifications.tasks.deliver": EMAIL,
    "accounts.tasks.invitations_send": EMAIL,
    "notifications.tasks.deliver_webhook": WEBHOOKS,
    "chat.tasks.chat_action_process": WEBHOOKS,
    "chat.tasks.chat_posts_refresh": WEBHOOKS,
    "chat.tasks.chat_sweep": HOUSEKEEPING,
    "chat.tasks.chat_actions_purge_expired": HOUSEKEEPING,
    "notifications.tasks.send_digest_batch": DIGESTS,
    "feed.tasks.send_week_ahead_batch": DIGESTS,
    "notifications.tasks.sweep_stale_notifications": HOUSEKEEPING,
    "notifications.tasks.send_daily_digests": HOUSEKEEPING,
    "notifications.tasks.notifications_purge_expired": HOUSEKEEPING,
    "feed.tasks.send_week_ahead": HOUSEKEEPING,
    "campaigns.tasks.send_due_reminders_and_escalations": HOUSEKEEPING,
    "campaigns.tasks.launch_changes_purge": HOUSEKEEPING,
    "core.tasks.ping": HOUSEKEEPING,
    "accounts.tasks.invitations_sweep": HOUSEKEEPING,
    "api.tasks.idempotent_requests_purge": HOUSEKEEPING,
    "webhooks.tasks.webhook_deliver": WEBHOOKS,
    "webhooks.tasks.webhook_endpoint_disabled_notify": EMAIL,
    "webhooks.tasks.webhooks_sweep": HOUSEKEEPING,
    "dashboards.tasks.figures_refresh": HOUSEKEEPING,
    "dashboards.tasks.figures_keep_warm": HOUSEKEEPING,
    "webhooks.tasks.webhook_deliveries_purge_expired": HOUSEKEEPING,
}


def task_queues(prefix: str = "") -> list[Queue]:
    """The queues, each name prefixed (tests give each run queues of its own)."""
    return [Queue(prefix + name, routing_key=prefix + name) for name in QUEUE_NAMES]


def task_routes(prefix: str = "") -> dict[str, dict[str, str]]:
    return {task: {"queue": prefix + queue} for task, queue in ROUTES.items()}
