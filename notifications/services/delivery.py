"""Delivering the outbox: claim rows, send them outside any transaction, record each
outcome as soon as it is known.

Guarantees, and why they hold:
- **Nothing lost.** A row is only ever moved out of "pending" by a claim, and out of
  "sending" by its outcome or by the sweep, which gives back the rows of a worker whose
  lease expired (killed, out of memory, lost its database). Transient failures are
  retried with capped backoff for NOTIFICATIONS_RETRY_WINDOW_HOURS, not a number of
  attempts, so an outage of hours still ends in delivery; only then does a row fail,
  "gave up", and its owner can retry it.
- **Nothing sent twice, or one message per killed worker.** A claim is a conditional
  update (`SELECT … FOR UPDATE SKIP LOCKED`, then "sending"): two tasks never hold the
  same row. Each outcome is written right after its message went out, before the next
  one, and retried on a fresh connection if the database connection dropped; a worker
  killed between the SMTP `DATA` and that write resends that one message when its lease
  expires: exactly-once is impossible there, at-most-one-duplicate is what is promised.
- **Recovered in seconds.** A worker renews its lease (`claimed_at`) while it sends; the
  sweep, every NOTIFICATIONS_SWEEP_SECONDS, gives back rows whose lease is older than
  NOTIFICATIONS_LEASE_SECONDS and re-queues rows that waited past
  NOTIFICATIONS_STALE_AFTER_SECONDS (the broker was down when they were queued).
"""

import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event
from notifications.channels import DeliveryError, send_emails, send_webhook
from notifications.models import Channel, FailureReason, Kind, Notification
from notifications.payload import CampaignPayload
from notifications.publish import publish_task
from notifications.services.outbox import chunked, dispatches_unexpanded, notifications_enqueue
from teams.models import Membership, Team
from teams.selectors import managers

logger = logging.getLogger(__name__)
Status = Notification.Status

# The task that delivers each channel's rows (see hub.celery for their queues).
DELIVERY_TASKS: dict[str, str] = {
    Channel.EMAIL: "notifications.tasks.deliver",
    Channel.WEBHOOK: "notifications.tasks.deliver_webhook",
}


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry_at: datetime | None = None


# --- the database, even when its connection drops -----------------------------------------


def _with_database_retry[T](write: Callable[[], T], *, attempts: int = 6) -> T:
    """Run a write in autocommit, on a fresh connection if the one it had was cut (a
    failover, a PgBouncer restart, an idle-connection killer). An outcome that cannot be
    written leaves its row "sending" until the lease expires and it is sent again: worth
    a few seconds of trying."""
    for attempt in range(attempts):
        try:
            return write()
        except (OperationalError, InterfaceError):
            if attempt == attempts - 1:
                raise
            logger.warning("database connection lost while recording a delivery; reconnecting")
            connection.close()
            time.sleep(min(5.0, 0.2 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover


# --- claiming ----------------------------------------------------------------------------


def _claim(ids: Sequence[int], now: datetime) -> list[int]:
    """Take the rows among `ids` that are pending and due, for this worker: "sending",
    with a fresh lease. Rows another task holds are skipped, not waited for."""
    with transaction.atomic():
        claimable = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, status=Status.PENDING, next_attempt_at__lte=now)
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=claimable).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return claimable


def _still_ours(ids: Sequence[int]) -> "QuerySet[Notification]":
    # Conditional on "still sending": if the sweep gave a row back meanwhile, leave it.
    return Notification.objects.filter(pk__in=ids, status=Status.SENDING)


class _Lease:
    """Renews the claim on the rows a worker has not finished, every third of the lease."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.remaining = set(ids)
        self.renewed = time.monotonic()

    def done(self, pk: int) -> None:
        self.remaining.discard(pk)

    def keep_alive(self) -> None:
        if time.monotonic() - self.renewed < settings.NOTIFICATIONS_LEASE_SECONDS / 3:
            return
        self.renewed = time.monotonic()
        if self.remaining:
            remaining = list(self.remaining)
            _with_database_retry(lambda: _still_ours(remaining).update(claimed_at=timezone.now()))


# --- recording outcomes ------------------------------------------------------------------


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: about base·2^(n-1) seconds, capped at
    NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS (and under the broker's visibility timeout, so
    a countdown is never delivered twice)."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    ceiling = min(settings.NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def _window_closed(notification: Notification, now: datetime) -> bool:
    started = notification.window_started_at or notification.created_at
    return now >= started + timedelta(hours=settings.NOTIFICATIONS_RETRY_WINDOW_HOURS)


# `_still_ours([pk]).update(status=SENT, …)` written once: it is the one write each
# e-mail of a fan-out waits for, and compiling the query every time was a third of it.
_MARK_SENT = (
    "UPDATE notifications_notification SET status = %s, sent_at = %s, last_error = '', "
    "failure_reason = '', provider_message_id = %s WHERE id = %s AND status = %s"
)


def _mark_sent(pk: int, now: datetime, provider_message_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT,
            [
                Status.SENT.value,
                connection.ops.adapt_datetimefield_value(now),
                provider_message_id,
                pk,
                Status.SENDING.value,
            ],
        )


def _record(
    notification: Notification,
    error: DeliveryError | None,
    report: DeliveryReport,
    *,
    provider_message_id: str = "",
) -> None:
    """Write one row's outcome now (its own autocommit transaction, retried on a new
    connection if need be)."""
    now = timezone.now()
    pk = notification.pk
    # For structured logs (LOG_FORMAT=json): each outcome is one line with these ids.
    context = {
        "notification_id": pk,
        "campaign_id": notification.campaign_id,
        "dispatch_id": notification.dispatch_id,
    }
    if error is None:
        _with_database_retry(lambda: _mark_sent(pk, now, provider_message_id))
        report.sent.append(pk)
        logger.info("notification %s sent (%s)", pk, notification.channel, extra=context)
        return
    detail = str(error)[:2000]
    if error.transient and not _window_closed(notification, now):
        retry_at = now + retry_delay(notification.attempts)
        _with_database_retry(
            lambda: _still_ours([pk]).update(
                status=Status.PENDING, next_attempt_at=retry_at, last_error=detail
            )
        )
        report.retry.append(pk)
        report.retry_at = max(report.retry_at or retry_at, retry_at)
        logger.info(
            "notification %s not delivered, retried at %s: %s",
            pk,
            retry_at.isoformat(),
            detail,
            extra=context,
        )
        return
    reason = FailureReason.GAVE_UP if error.transient else (error.reason or "")
    _with_database_retry(
        lambda: _still_ours([pk]).update(
            status=Status.FAILED, last_error=detail, failure_reason=reason
        )
    )
    report.failed.append(pk)
    logger.warning(
        "notification %s failed for good after %s attempt(s) (%s): %s",
        pk,
        notification.attempts,
        reason,
        error,
        extra=context,
    )
    if error.reason == FailureReason.WEBHOOK_GONE and notification.team_id is not None:
        team_webhook_mark_broken(
            team_id=notification.team_id, reason=str(error), notification=notification
        )


# --- delivering ----------------------------------------------------------------------------


def notifications_deliver(*, notification_ids: Sequence[int]) -> DeliveryReport:
    """Claim the given rows that are pending and due, send them, and record each outcome
    as soon as it is known. Idempotent: rows already claimed, sent or failed are skipped.
    No transaction is held while talking to SMTP or a webhook."""
    claimed = _claim(notification_ids, timezone.now())
    report = DeliveryReport()
    if not claimed:
        return report
    notifications = list(
        Notification.objects.filter(pk__in=claimed)
        .select_related("recipient", "team", "dispatch")
        .order_by("pk")
    )
    lease = _Lease(claimed)
    try:
        emails = [n for n in notifications if n.channel == Channel.EMAIL]
        for outcome in send_emails(emails):
            _record(
                outcome.notification,
                outcome.error,
                report,
                provider_message_id=outcome.provider_message_id,
            )
            lease.done(outcome.notification.pk)
            lease.keep_alive()
        for notification in notifications:
            if notification.channel != Channel.WEBHOOK:
                continue
            try:
                send_webhook(notification)
            except DeliveryError as error:
                _record(notification, error, report)
            else:
                _record(notification, None, report)
            lease.done(notification.pk)
            lease.keep_alive()
    finally:
        # Whatever stopped the batch (a time limit, a bug), the rows not sent go back to
        # pending now rather than waiting for their lease to expire.
        if lease.remaining:
            remaining = list(lease.remaining)
            try:
                _with_database_retry(
                    lambda: _still_ours(remaining).update(
                        status=Status.PENDING, next_attempt_at=timezone.now()
                    )
                )
            except DatabaseError:
                logger.exception(
                    "could not give back %s unsent notification(s)",
                    len(remaining),
                    extra={"notification_ids": remaining},
                )
    return report


def publish_deliveries(ids_by_channel: dict[str, list[int]]) -> None:
    """Queue delivery tasks for pending rows: e-mails in batches, each webhook alone (a
    slow chat server must not hold up the others)."""
    for channel, ids in ids_by_channel.items():
        task = DELIVERY_TASKS.get(channel)
        if task is None:
            continue
        size = settings.NOTIFICATIONS_BATCH_SIZE if channel == Channel.EMAIL else 1
        for batch in chunked(ids, size):
            publish_task(task, batch)


def pending_by_channel(*, dispatch_id: int) -> dict[str, list[int]]:
    """The dispatch's rows waiting for delivery, due now, by channel."""
    found: dict[str, list[int]] = {}
    rows = (
        Notification.objects.filter(
            dispatch_id=dispatch_id, status=Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .order_by("pk")
        .values_list("channel", "pk")
    )
    for channel, pk in rows:
        found.setdefault(channel, []).append(pk)
    return found


# --- the sweep ---------------------------------------------------------------------------


@dataclass
class SweepReport:
    by_channel: dict[str, list[int]] = field(default_factory=dict)
    dispatch_ids: list[int] = field(default_factory=list)
    freed: int = 0

    @property
    def count(self) -> int:
        return sum(len(ids) for ids in self.by_channel.values()) + len(self.dispatch_ids)


def notifications_sweep(*, now: datetime | None = None) -> SweepReport:
    """Give back rows whose worker's lease expired, and find what nobody has queued in a
    while: pending rows (their publish failed, a retry message was lost) and dispatches
    never expanded. Safe to run as often as beat likes; each step is a conditional
    update, so two sweeps never hand out the same row twice."""
    now = now or timezone.now()
    lease_expired = now - timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_STALE_AFTER_SECONDS)
    report = SweepReport()
    expired = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=lease_expired)
    expired_ids = list(expired.values_list("pk", flat=True)[:10_000])
    report.freed = Notification.objects.filter(
        pk__in=expired_ids, status=Status.SENDING, claimed_at__lt=lease_expired
    ).update(status=Status.PENDING, next_attempt_at=now)
    if report.freed:
        logger.warning("sweep: %s notification(s) given back from an expired lease", report.freed)
    overdue = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lt=stale)
        .order_by("next_attempt_at")
        .values_list("channel", "pk")[:10_000]
    )
    # Pushed forward so the next sweep does not queue them again while they wait in a
    # backlog behind a large fan-out.
    Notification.objects.filter(
        pk__in=[pk for _channel, pk in overdue], status=Status.PENDING
    ).update(next_attempt_at=now)
    freed_rows = Notification.objects.filter(pk__in=expired_ids, status=Status.PENDING)
    for channel, pk in [*overdue, *freed_rows.values_list("channel", "pk")]:
        report.by_channel.setdefault(channel, []).append(pk)
    for ids in report.by_channel.values():
        ids[:] = sorted(set(ids))
    report.dispatch_ids = dispatches_unexpanded(older_than=stale)
    return report


# --- retry by hand, and what failed --------------------------------------------------------


def notifications_retry(*, campaign_id: int, notification_ids: Sequence[int] | None = None) -> int:
    """Give failed rows of a campaign another delivery window (all of them, or those
    listed), from now. One transaction; delivery is queued on commit. Rows that are not
    failed (any more) are left alone, so retrying twice queues nothing more."""
    with transaction.atomic():
        rows = Notification.objects.select_for_update().filter(
            campaign_id=campaign_id, status=Status.FAILED
        )
        if notification_ids is not None:
            rows = rows.filter(pk__in=list(notification_ids))
        picked = list(rows.values_list("channel", "pk"))
        now = timezone.now()
        Notification.objects.filter(pk__in=[pk for _c, pk in picked]).update(
            status=Status.PENDING,
            next_attempt_at=now,
            window_started_at=now,
            attempts=0,
            failure_reason="",
        )
        by_channel: dict[str, list[int]] = {}
        for channel, pk in picked:
            by_channel.setdefault(channel, []).append(pk)
        transaction.on_commit(partial(publish_deliveries, by_channel))
    return len(picked)


# --- a team's webhook that is gone --------------------------------------------------------


def team_webhook_mark_broken(*, team_id: int, reason: str, notification: Notification) -> bool:
    """The chat server said the team's webhook no longer exists (HTTP 404/410): stop
    posting to it, and tell the team's leads and the managers, once. Its pending posts
    fail now ("webhook gone") rather than hammering a dead address for a day. One
    transaction; returns whether this call was the one that marked it."""
    with transaction.atomic():
        marked = Team.objects.filter(pk=team_id, webhook_broken_at__isnull=True).update(
            webhook_broken_at=timezone.now(), webhook_broken_reason=reason[:300]
        )
        if not marked:
            return False
        Notification.objects.filter(
            team_id=team_id, channel=Channel.WEBHOOK, status=Status.PENDING
        ).update(
            status=Status.FAILED,
            failure_reason=FailureReason.WEBHOOK_GONE,
            last_error="the team's webhook was marked broken",
        )
        team = Team.objects.get(pk=team_id)
        leads = Membership.objects.filter(
            team_id=team_id, role=Membership.Role.LEAD, user__is_active=True
        ).values_list("user_id", flat=True)
        payload: CampaignPayload = {
            **notification.payload,
            "team": team.name,
            "reason": reason[:300],
        }
        notifications_enqueue(
            campaign_id=notification.campaign_id,
            campaign_version=notification.campaign_version,
            kind=Kind.WEBHOOK_BROKEN,
            payload=payload,
            user_ids=sorted(set(leads) | set(managers().values_list("pk", flat=True))),
            occurrence=f"team-{team_id}-{int(time.time())}",
        )
    return True


def team_webhook_repaired(
    *,
    team_ids: Collection[int],
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Post to these teams' webhooks again (their URLs were fixed), in one UPDATE.

    One transaction: the UPDATE and an audit entry per team that was broken (the broken
    reason kept in the entry). Idempotent: a team already working is left alone and gets
    no entry. Returns how many teams were repaired."""
    with transaction.atomic():
        broken = list(
            Team.objects.select_for_update()
            .filter(pk__in=team_ids, webhook_broken_at__isnull=False)
            .order_by("pk")
        )
        repaired = Team.objects.filter(pk__in=[team.pk for team in broken]).update(
            webhook_broken_at=None, webhook_broken_reason=""
        )
        for team in broken:
            record_audit_event(
                actor=actor,
                action=AuditAction.WEBHOOK_REPAIRED,
                target=team,
                details={
                    "broken_since": team.webhook_broken_at,
                    "broken_reason": team.webhook_broken_reason,
                },
                request=request,
            )
    return repaired
