"""Sending the outbox: claim a row, post it signed outside any transaction, record the
outcome; and the sweep that keeps the outbox moving.

- **Claimed once.** A conditional update moves a row from "pending" (due, its endpoint
  active) to "sending"; a second task for the same row finds nothing to claim.
- **No lock held over the network.** The claim commits on its own (autocommit) before the
  POST; the outcome is written after, conditional on the row still being "sending" (the
  sweep may have freed it meanwhile).
- **Retried, not hammered.** 5xx, 408, 429, timeouts and unreachable receivers go back to
  "pending" with a later `next_attempt_at` (RETRY_DELAYS, with jitter, or later when the
  receiver's `Retry-After` asks for more, up to RETRY_AFTER_MAX); the sweep queues them
  when due. Any other answer, and an address refused as private, fails at once.
- **Failing receivers are disabled.** Each failure keeps the endpoint's `failing_since`
  (the first of the run) and `last_failure_at`; a success clears both. When failures
  still happen more than WEBHOOKS_DISABLE_AFTER_HOURS after the first, the sweep disables
  the endpoint and a manager is told by e-mail. "410 Gone" disables it at once.
"""

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.channels import DeliveryError, exchange_json
from notifications.publish import publish_task
from webhooks import signing
from webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
Status = WebhookDelivery.Status

# The task's own limits (webhooks.tasks): a row still "sending" after them belonged to a
# worker that died, and the sweep gives it back.
DELIVER_SOFT_TIME_LIMIT = 50
DELIVER_TIME_LIMIT = 60
STUCK_AFTER = timedelta(seconds=DELIVER_TIME_LIMIT + 30)
# Waits after each failed attempt, then the message fails for good ("gave up"): about a
# day and a half in all, past the endpoint's default failure window, so a receiver down
# that long is disabled (and its manager told) before its messages give up.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=6),
    timedelta(hours=6),
    timedelta(hours=6),
    timedelta(hours=6),
)
# The longest wait a receiver's `Retry-After` may ask for: the schedule's longest step, so
# a receiver cannot park its messages past the failure window with one header.
RETRY_AFTER_MAX = max(RETRY_DELAYS)
# A row handed to a task this long ago and still waiting: the task was lost, queue again.
REQUEUE_AFTER = timedelta(minutes=2)
# After a rotation, the old secret still signs messages this long (the receiver switches).
ROTATION_OVERLAP = timedelta(hours=24)
NOTICE_TASK = "webhooks.tasks.webhook_endpoint_disabled_notify"
# A worker's claim on sending an endpoint's "disabled" notice (webhooks.services.notices).
NOTICE_LEASE = timedelta(minutes=5)
SWEEP_BATCH = 1000


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, ±20 % so that messages failed
    together do not all come back together; None once the schedule is spent."""
    if attempts > len(RETRY_DELAYS):
        return None
    return RETRY_DELAYS[max(attempts, 1) - 1] * random.uniform(0.8, 1.2)


def message_body(delivery: WebhookDelivery) -> bytes:
    """The JSON body the standard recommends: type, timestamp of the event, data."""
    return json.dumps(
        {
            "type": delivery.event_type,
            "timestamp": delivery.occurred_at.isoformat(),
            "data": delivery.payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and now < (endpoint.previous_secret_until)
    ):
        secrets.append(endpoint.previous_secret)
    return secrets


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    status_code: int | None = None
    transient: bool = False
    gone: bool = False
    detail: str = ""
    retry_after: timedelta | None = None


def _post(delivery: WebhookDelivery, now: datetime) -> _Outcome:
    endpoint = delivery.endpoint
    body = message_body(delivery)
    headers = signing.headers(
        secrets_=signing_secrets(endpoint, now),
        message_id=delivery.message_id,
        timestamp=int(now.timestamp()),
        body=body,
    )
    try:
        # send_json resolves the host once and connects to that address only if it is
        # public (unless NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE), follows no redirect and
        # times out: a receiver's address is checked again at each attempt, since DNS
        # may have changed since registration.
        answer = exchange_json(endpoint.url, body, headers=headers, read=300)
    except DeliveryError as error:
        return _Outcome(delivered=False, transient=error.transient, detail=str(error))
    code = answer.status
    if 200 <= code < 300:
        return _Outcome(delivered=True, status_code=code)
    text = answer.body.decode(errors="replace").strip()
    detail = f"HTTP {code}" + (f": {text}" if text else "")
    return _Outcome(
        delivered=False,
        status_code=code,
        transient=code >= 500 or code in {408, 429},
        gone=code == 410,
        detail=detail,
        retry_after=(
            timedelta(seconds=answer.retry_after) if answer.retry_after is not None else None
        ),
    )


def _wait_before_retry(attempts: int, asked: timedelta | None) -> timedelta | None:
    """The schedule's wait after this attempt, or the receiver's `Retry-After` when it asks
    for longer (capped at RETRY_AFTER_MAX); None once the schedule is spent: a header does
    not buy a message more attempts."""
    delay = retry_delay(attempts)
    if delay is None or asked is None:
        return delay
    return max(delay, min(asked, RETRY_AFTER_MAX))


def _record(delivery: WebhookDelivery, outcome: _Outcome) -> str:
    """Write the outcome of an attempt, with what it says about the endpoint, in one short
    transaction; only if the row is still ours ("sending")."""
    now = timezone.now()
    ours = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING)
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
    context = {"webhook_delivery_id": delivery.pk, "webhook_endpoint_id": delivery.endpoint_id}
    with transaction.atomic():
        if outcome.delivered:
            if not ours.update(
                status=Status.DELIVERED,
                delivered_at=now,
                last_status_code=outcome.status_code,
                last_error="",
            ):
                return "lost"
            endpoint.filter(failing_since__isnull=False).update(
                failing_since=None, last_failure_at=None
            )
            logger.info("webhook %s delivered", delivery.message_id, extra=context)
            return "delivered"
        detail = outcome.detail[:2000]
        delay = (
            _wait_before_retry(delivery.attempts, outcome.retry_after)
            if outcome.transient
            else None
        )
        if delay is not None:
            result = "retry"
            written = ours.update(
                status=Status.PENDING,
                next_attempt_at=now + delay,
                queued_at=None,  # the sweep queues it when due
                last_status_code=outcome.status_code,
                last_error=detail,
            )
        else:
            result = "failed"
            if outcome.transient:
                detail = f"gave up after {delivery.attempts} attempts; last: {detail}"[:2000]
            written = ours.update(
                status=Status.FAILED, last_status_code=outcome.status_code, last_error=detail
            )
        if not written:
            return "lost"
        endpoint.update(
            failing_since=Coalesce(F("failing_since"), Value(now, output_field=DateTimeField())),
            last_failure_at=now,
        )
        if outcome.gone:
            endpoint_disable(endpoint_id=delivery.endpoint_id, reason=DisabledReason.GONE)
    # A failure for good is worth an operator's eye; a retry is routine.
    log = logger.warning if result == "failed" else logger.info
    log("webhook %s not delivered (%s): %s", delivery.message_id, result, detail, extra=context)
    return result


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """Claim one delivery (pending, due, its endpoint active), POST it signed, record the
    outcome: "delivered", "retry", "failed", "skipped" (nothing to claim: already sent,
    taken by another task, not due, endpoint disabled) or "lost" (the sweep freed it
    meanwhile). Idempotent; no transaction is open during the POST."""
    now = timezone.now()
    # Every condition on the row itself, none through a join: Django turns an UPDATE
    # filtered across a relation into `id IN (subquery)`, which PostgreSQL does not check
    # again once a concurrent claim commits, and both workers would send.
    active = WebhookEndpoint.objects.filter(active=True).values("pk")
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now, endpoint_id__in=active
    ).update(status=Status.SENDING, last_attempt_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # its endpoint was deleted just now
        return "skipped"
    return _record(delivery, _post(delivery, now))


# --- disabling an endpoint ------------------------------------------------------------------


def endpoint_disable(*, endpoint_id: int, reason: str, now: datetime | None = None) -> bool:
    """Stop sending to an endpoint (a conditional update: only an active one) and queue the
    e-mail telling its manager, after commit. Its pending deliveries stay pending: they go
    out if it is enabled again. Returns whether this call disabled it."""
    now = now or timezone.now()
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint_id, active=True).update(
            active=False,
            disabled_at=now,
            disabled_reason=reason,
            disabled_notice_claimed_at=None,
            disabled_notice_sent_at=None,
        )
        if disabled:
            logger.warning(
                "webhook endpoint %s disabled (%s)",
                endpoint_id,
                reason,
                extra={"webhook_endpoint_id": endpoint_id},
            )
            transaction.on_commit(partial(publish_task, NOTICE_TASK, endpoint_id))
    return bool(disabled)


# --- the sweep -----------------------------------------------------------------------------


@dataclass
class SweepReport:
    delivery_ids: list[int] = field(default_factory=list)
    notice_endpoint_ids: list[int] = field(default_factory=list)
    freed: int = 0
    disabled: int = 0


def webhooks_sweep(*, now: datetime | None = None) -> SweepReport:
    """Beat's tick: give back rows stuck in "sending" past the task's time limit, disable
    endpoints whose failures have lasted longer than WEBHOOKS_DISABLE_AFTER_HOURS, and
    list what must be queued: due deliveries no task was handed recently, and notices of
    disabled endpoints never sent. Each step is a conditional update, so sweeps running
    together hand out nothing twice that a claim would not refuse anyway."""
    now = now or timezone.now()
    report = SweepReport()
    report.freed = WebhookDelivery.objects.filter(
        status=Status.SENDING, last_attempt_at__lt=now - STUCK_AFTER
    ).update(status=Status.PENDING, next_attempt_at=now, queued_at=None)
    if report.freed:
        logger.warning(
            "webhooks sweep: %s delivery(ies) given back from dead workers", report.freed
        )

    window = timedelta(hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS)
    failing = WebhookEndpoint.objects.filter(
        active=True,
        failing_since__isnull=False,
        last_failure_at__gt=F("failing_since") + window,
    ).values_list("pk", flat=True)
    for endpoint_id in list(failing):
        report.disabled += endpoint_disable(
            endpoint_id=endpoint_id, reason=DisabledReason.FAILING, now=now
        )

    not_queued = Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER)
    due = WebhookDelivery.objects.filter(
        not_queued, status=Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
    )
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    WebhookDelivery.objects.filter(not_queued, pk__in=ids, status=Status.PENDING).update(
        queued_at=now
    )
    report.delivery_ids = ids

    report.notice_endpoint_ids = list(
        WebhookEndpoint.objects.filter(
            Q(disabled_notice_claimed_at__isnull=True)
            | Q(disabled_notice_claimed_at__lt=now - NOTICE_LEASE),
            active=False,
            disabled_notice_sent_at__isnull=True,
            disabled_at__lt=now - REQUEUE_AFTER,
        ).values_list("pk", flat=True)
    )
    return report
