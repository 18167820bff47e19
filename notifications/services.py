"""Writes to the notification outbox, and its delivery.

`notifications_enqueue` runs inside the caller's transaction and only queues Celery work
after commit. Delivery claims rows, does network I/O outside any transaction, then records
each outcome with a conditional update, so a retried or duplicated task sends nothing
twice.
"""

import logging
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from notifications.channels import (
    DeliveryError,
    send_digest,
    send_emails,
    send_webhook,
    send_week_ahead,
)
from notifications.models import (
    Channel,
    DeliverySettings,
    DigestRun,
    Dispatch,
    Kind,
    Notification,
    Preference,
)
from notifications.payload import CampaignPayload
from notifications.publish import publish_task
from teams.models import Team

logger = logging.getLogger(__name__)
Status = Notification.Status

# People may switch any channel off, except e-mails for escalations to leads/managers.
MANDATORY = frozenset({(Kind.ESCALATION, Channel.EMAIL)})
PERSON_CHANNELS = (Channel.IN_APP, Channel.EMAIL)
_BULK_BATCH = 1000


def dedupe_key(
    campaign_id: int, version: int, kind: str, addressee: str, channel: str, occurrence: str
) -> str:
    """The outbox row's unique key: one row per event, addressee and channel.
    `notifications.selectors.first_notified_at` builds the same keys to ask "was this
    already sent?" through the key's unique index."""
    key = f"{campaign_id}:{version}:{kind}:{addressee}:{channel}"
    return f"{key}:{occurrence}" if occurrence else key


def _open_channels(kind: str, opted_out: Collection[str]) -> list[str]:
    """The person channels `kind` goes out on for someone who switched off `opted_out`;
    mandatory channels stay on whatever the preference says."""
    return [
        channel
        for channel in PERSON_CHANNELS
        if channel not in opted_out or (kind, channel) in MANDATORY
    ]


def person_channels_open(*, user_id: int, kind: str) -> list[str]:
    """The channels a person still receives `kind` on, in `PERSON_CHANNELS` order."""
    opted_out = Preference.objects.filter(user_id=user_id, kind=kind, enabled=False)
    return _open_channels(kind, set(opted_out.values_list("channel", flat=True)))


def notifications_enqueue(
    *,
    campaign_id: int,
    campaign_version: int,
    kind: str,
    user_ids: Sequence[int],
    payload: CampaignPayload,
    webhook_team_ids: Sequence[int] = (),
    occurrence: str = "",
) -> int:
    """Write outbox rows for each person (per their preferences) and each team webhook.

    Must run inside the transaction of the change that causes it; delivery is queued on
    commit. Re-running it for the same event creates nothing (unique dedupe key). Returns
    the number of rows written.
    """
    now = timezone.now()
    user_ids = sorted(set(user_ids))
    opted_out: dict[int, set[str]] = defaultdict(set)
    for user_id, channel in Preference.objects.filter(
        user_id__in=user_ids, kind=kind, enabled=False
    ).values_list("user_id", "channel"):
        opted_out[user_id].add(channel)
    digest_users = digest_user_ids(user_ids=user_ids)
    rows: list[Notification] = []
    for user_id in user_ids:
        for channel in _open_channels(kind, opted_out[user_id]):
            status = Status.PENDING
            if channel == Channel.IN_APP:
                status = Status.SENT  # the row is the in-app message
            elif user_id in digest_users and kind != Kind.ESCALATION:
                status = Status.HELD
            rows.append(
                Notification(
                    recipient_id=user_id,
                    campaign_id=campaign_id,
                    campaign_version=campaign_version,
                    kind=kind,
                    channel=channel,
                    status=status,
                    sent_at=now if status == Status.SENT else None,
                    next_attempt_at=now,
                    dedupe_key=dedupe_key(
                        campaign_id, campaign_version, kind, f"u{user_id}", channel, occurrence
                    ),
                )
            )
    hooked_teams = Team.objects.filter(pk__in=webhook_team_ids).exclude(webhook_url="")
    for team_id in hooked_teams.values_list("pk", flat=True):
        rows.append(
            Notification(
                team_id=team_id,
                campaign_id=campaign_id,
                campaign_version=campaign_version,
                kind=kind,
                channel=Channel.WEBHOOK,
                next_attempt_at=now,
                dedupe_key=dedupe_key(
                    campaign_id, campaign_version, kind, f"t{team_id}", Channel.WEBHOOK, occurrence
                ),
            )
        )
    rows = _without_existing(rows)
    if not rows:
        return 0
    dispatch = Dispatch.objects.create(
        campaign_id=campaign_id, campaign_version=campaign_version, kind=kind, payload=payload
    )
    for row in rows:
        row.dispatch = dispatch
    # ignore_conflicts still guards a concurrent enqueue of the same event.
    Notification.objects.bulk_create(rows, batch_size=_BULK_BATCH, ignore_conflicts=True)
    created = len(rows)
    if any(row.status == Status.PENDING for row in rows):
        transaction.on_commit(
            lambda: publish_task("notifications.tasks.fan_out", campaign_id, campaign_version, kind)
        )
    return created


def _without_existing(rows: list[Notification]) -> list[Notification]:
    """Drop rows whose dedupe key is already in the outbox (a repeated event)."""
    keys = [row.dedupe_key for row in rows]
    existing: set[str] = set()
    for start in range(0, len(keys), 5000):
        existing.update(
            Notification.objects.filter(dedupe_key__in=keys[start : start + 5000]).values_list(
                "dedupe_key", flat=True
            )
        )
    return [row for row in rows if row.dedupe_key not in existing]


# --- delivery ---------------------------------------------------------------------------


def pending_notification_ids(*, campaign_id: int, campaign_version: int, kind: str) -> list[int]:
    return list(
        Notification.objects.filter(
            campaign_id=campaign_id,
            campaign_version=campaign_version,
            kind=kind,
            status=Status.PENDING,
            next_attempt_at__lte=timezone.now(),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def chunked(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry_at: datetime | None = None


def _claim(ids: Sequence[int], now: datetime) -> list[int]:
    with transaction.atomic():
        claimable = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                pk__in=ids,
                status=Status.PENDING,
                next_attempt_at__lte=now,
                attempts__lt=settings.NOTIFICATIONS_MAX_ATTEMPTS,
            )
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=claimable).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return claimable


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: about base·2^(n-1) seconds, capped at 15 minutes
    (well under the Redis visibility timeout, so a countdown is never delivered twice)."""
    base = settings.NOTIFICATIONS_RETRY_BASE_SECONDS
    ceiling = min(900, base * 2 ** max(0, attempt - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def notifications_deliver(*, notification_ids: Sequence[int]) -> DeliveryReport:
    """Claim the given pending rows and send them. Idempotent: rows already claimed, sent
    or failed are skipped. No transaction is held while talking to SMTP or a webhook."""
    now = timezone.now()
    claimed = _claim(notification_ids, now)
    report = DeliveryReport()
    if not claimed:
        return report
    notifications = list(
        Notification.objects.filter(pk__in=claimed)
        .select_related("recipient", "team", "dispatch")
        .order_by("pk")
    )
    emails = [n for n in notifications if n.channel == Channel.EMAIL]
    outcomes: dict[int, DeliveryError | None] = {}
    try:
        if emails:
            outcomes.update(send_emails(emails))
        for notification in notifications:
            if notification.channel == Channel.WEBHOOK:
                try:
                    send_webhook(notification)
                    outcomes[notification.pk] = None
                except DeliveryError as error:
                    outcomes[notification.pk] = error
    finally:
        # Even if something unexpected stops the batch (a time limit, a bug), what was
        # sent is recorded as sent and the rest comes back as a retry, rather than the
        # whole batch waiting in "sending" for the sweep to send it all again.
        _record_outcomes(notifications, outcomes, report)
    return report


def _record_outcomes(
    notifications: Sequence[Notification],
    outcomes: dict[int, DeliveryError | None],
    report: DeliveryReport,
) -> None:
    now = timezone.now()
    max_attempts = settings.NOTIFICATIONS_MAX_ATTEMPTS
    failed: dict[str, list[int]] = {}
    for notification in notifications:
        error = outcomes.get(notification.pk, DeliveryError("not attempted", transient=True))
        if error is None:
            report.sent.append(notification.pk)
        elif error.transient and notification.attempts < max_attempts:
            retry_at = now + retry_delay(notification.attempts)
            _still_ours([notification.pk]).update(
                status=Status.PENDING, next_attempt_at=retry_at, last_error=str(error)[:2000]
            )
            report.retry.append(notification.pk)
            report.retry_at = max(report.retry_at or retry_at, retry_at)
        else:
            failed.setdefault(str(error)[:2000], []).append(notification.pk)
            report.failed.append(notification.pk)
            logger.warning(
                "notification %s failed for good after %s attempt(s): %s",
                notification.pk,
                notification.attempts,
                error,
            )
    # One UPDATE for the whole batch's successes: the common case stays cheap at volume.
    _still_ours(report.sent).update(status=Status.SENT, sent_at=now, last_error="")
    for message, ids in failed.items():
        _still_ours(ids).update(status=Status.FAILED, last_error=message)


def _still_ours(ids: Sequence[int]) -> "QuerySet[Notification]":
    # Conditional on "still sending": if the sweeper freed a row meanwhile, leave it alone.
    return Notification.objects.filter(pk__in=ids, status=Status.SENDING)


def notifications_sweep(*, now: datetime | None = None) -> list[int]:
    """Free rows stuck in "sending" by a dead worker and return pending rows that nobody
    has queued in a while (Redis was down at commit, a retry message was lost)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATIONS_STALE_AFTER_SECONDS)
    stuck_before = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    stuck = Notification.objects.filter(status=Status.SENDING, claimed_at__lt=stuck_before)
    # A row a dead worker left in "sending" after its last allowed attempt fails for good;
    # the others get another go. Conditional on claimed_at, so a row re-claimed since the
    # query above is left alone.
    exhausted = stuck.filter(attempts__gte=settings.NOTIFICATIONS_MAX_ATTEMPTS).update(
        status=Status.FAILED, last_error="the worker stopped while sending (attempts exhausted)"
    )
    stuck_ids = list(stuck.values_list("pk", flat=True))
    freed = Notification.objects.filter(
        pk__in=stuck_ids, status=Status.SENDING, claimed_at__lt=stuck_before
    ).update(status=Status.PENDING, next_attempt_at=now)
    if freed or exhausted:
        logger.warning("sweep: %s notification(s) freed, %s failed for good", freed, exhausted)
    overdue = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lt=stale)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:10_000]
    )
    # Pushed forward so the next sweep does not queue them again while they wait in a
    # backlog behind a large fan-out.
    Notification.objects.filter(pk__in=overdue, status=Status.PENDING).update(next_attempt_at=now)
    return sorted(set(stuck_ids) | set(overdue))


# --- daily digest -----------------------------------------------------------------------

# Switching off immediate e-mails for these kinds turns the digest on, unless the person
# chose otherwise: a stakeholder who does not want an e-mail per campaign should still
# hear about them once a day.
DIGEST_DEFAULT_KINDS = (Kind.ANNOUNCED, Kind.CHANGED)


def digest_wanted(*, choice: bool | None, email_off_for_notices: bool) -> bool:
    """The digest rule in one place: an explicit choice wins; without one, the digest is
    on exactly for people who switched off e-mails for announced or changed campaigns."""
    return choice if choice is not None else email_off_for_notices


def digest_user_ids(*, user_ids: Iterable[int] | None = None) -> set[int]:
    """Who gets the daily digest, among `user_ids` (everybody when None). Two queries."""
    choices = DeliverySettings.objects.filter(daily_digest__isnull=False)
    quiet = Preference.objects.filter(
        kind__in=DIGEST_DEFAULT_KINDS, channel=Channel.EMAIL, enabled=False
    )
    if user_ids is not None:
        user_ids = list(user_ids)
        choices = choices.filter(user_id__in=user_ids)
        quiet = quiet.filter(user_id__in=user_ids)
    chosen = dict(choices.values_list("user_id", "daily_digest"))
    email_off = set(quiet.values_list("user_id", flat=True))
    candidates = set(user_ids) if user_ids is not None else set(chosen) | email_off
    return {
        user_id
        for user_id in candidates
        if digest_wanted(choice=chosen.get(user_id), email_off_for_notices=user_id in email_off)
    }


def _local_now(user: User, now: datetime) -> datetime:
    return timezone.localtime(now, user.tzinfo)


def _in_app_only_notices(user_ids: Iterable[int], since: datetime) -> "QuerySet[Notification]":
    """In-app announced/changed notices with no e-mail beside them (the person switched
    e-mail off for that kind): what the digest summarises on top of held e-mails."""
    email_sibling = Notification.objects.filter(
        recipient_id=OuterRef("recipient_id"),
        dispatch_id=OuterRef("dispatch_id"),
        channel=Channel.EMAIL,
    )
    return Notification.objects.filter(
        recipient_id__in=list(user_ids),
        channel=Channel.IN_APP,
        kind__in=DIGEST_DEFAULT_KINDS,
        created_at__gte=since,
    ).exclude(Exists(email_sibling))


def digests_send_due(*, now: datetime | None = None) -> int:
    """Send each digest reader one e-mail with the notices held for them, plus their
    in-app-only announced/changed notices since their last digest, once their local
    digest hour has come. At most one digest per person and local day (`DigestRun`),
    however often beat fires; nobody with nothing new gets one.

    Held rows stay "held" while the digest is sent (no claim the sweep could turn into
    single e-mails); the DigestRun row is what stops a second send the same day. Each
    person is sent outside any transaction, and one person's failure does not stop the
    others'."""
    now = now or timezone.now()
    readers = digest_user_ids()
    # A day and a bit: the longest gap between two digests is a day plus a missed hour.
    lookback = now - timedelta(days=2)
    with_held = set(
        Notification.objects.filter(
            status=Status.HELD, channel=Channel.EMAIL, recipient__isnull=False
        ).values_list("recipient_id", flat=True)
    )
    with_in_app = set(
        _in_app_only_notices(readers, lookback).values_list("recipient_id", flat=True)
    )
    users = User.objects.filter(is_active=True, pk__in=with_held | (with_in_app & readers))
    sent = 0
    for user in users.order_by("pk"):
        local = _local_now(user, now)
        if local.hour < settings.NOTIFICATIONS_DIGEST_HOUR:
            continue
        period = f"daily:{local.date().isoformat()}"
        with transaction.atomic():
            held = list(
                Notification.objects.filter(
                    recipient=user, channel=Channel.EMAIL, status=Status.HELD
                )
                .select_related("dispatch")
                .order_by("created_at")
            )
            in_app: list[Notification] = []
            if user.pk in readers:
                last = (
                    DigestRun.objects.filter(user=user, period__startswith="daily:")
                    .order_by("-sent_at")
                    .values_list("sent_at", flat=True)
                    .first()
                )
                in_app = list(
                    _in_app_only_notices([user.pk], last or now - timedelta(days=1))
                    .select_related("dispatch")
                    .order_by("created_at")
                )
            if not held and not in_app:
                continue
            _run, created = DigestRun.objects.get_or_create(user=user, period=period)
            if not created:
                continue
        if _send_one_digest(user, held, period=period, extra=in_app):
            sent += 1
    return sent


def _send_one_digest(
    user: User, held: list[Notification], *, period: str, extra: Sequence[Notification] = ()
) -> bool:
    ids = [n.pk for n in held]
    items = sorted([*held, *extra], key=lambda n: (n.created_at, n.pk))
    for notification in items:
        notification.recipient = user
    try:
        send_digest(user, items)
    except DeliveryError as error:
        if error.transient:
            DigestRun.objects.filter(user=user, period=period).delete()  # next hour retries
            Notification.objects.filter(pk__in=ids, status=Status.HELD).update(
                last_error=str(error)[:2000]
            )
        else:
            Notification.objects.filter(pk__in=ids, status=Status.HELD).update(
                status=Status.FAILED, last_error=str(error)[:2000]
            )
        logger.warning("digest for user %s not sent: %s", user.pk, error)
        return False
    except Exception:
        # One person's broken digest must not stop everybody else's. The claim stays (no
        # hourly retry of a bug); the rows stay held and go into the next day's digest.
        logger.exception("digest for user %s failed", user.pk)
        return False
    Notification.objects.filter(pk__in=ids, status=Status.HELD).update(
        status=Status.SENT, sent_at=timezone.now(), last_error="", attempts=F("attempts") + 1
    )
    return True


# --- Monday "week ahead" ------------------------------------------------------------------


def week_ahead_period(local: datetime) -> str:
    year, week, _weekday = local.isocalendar()
    return f"week:{year}-W{week:02d}"


def week_ahead_due(*, user: User, now: datetime) -> str | None:
    """The period to send for if it is Monday at or after the digest hour where the person
    lives, else None."""
    local = _local_now(user, now)
    if local.weekday() != 0 or local.hour < settings.NOTIFICATIONS_DIGEST_HOUR:
        return None
    return week_ahead_period(local)


def week_ahead_opted_out(*, user_ids: Iterable[int]) -> set[int]:
    return set(
        DeliverySettings.objects.filter(
            user_id__in=list(user_ids), weekly_preview=False
        ).values_list("user_id", flat=True)
    )


def week_ahead_send(*, user: User, period: str, sections: list[dict[str, Any]]) -> bool:
    """Send one person's Monday e-mail for `period` (plain-data `sections`, one per team),
    at most once: the DigestRun row is claimed first, in its own short transaction, and
    the e-mail goes out after it. A transient failure deletes the claim so the next hourly
    run tries again; a permanent one keeps it (logged, not retried); anything unexpected
    is logged and retried, and never stops the caller's loop over other people."""
    if not sections:
        return False
    _run, created = DigestRun.objects.get_or_create(user=user, period=period)
    if not created:
        return False
    try:
        send_week_ahead(user, sections)
    except DeliveryError as error:
        if error.transient:
            DigestRun.objects.filter(user=user, period=period).delete()
        logger.warning(
            "week-ahead e-mail for user %s not sent (%s): %s",
            user.pk,
            "will retry" if error.transient else "permanent",
            error,
        )
        return False
    except Exception:
        # Isolated per person; the claim stays, so a bug is not retried every hour.
        logger.exception("week-ahead e-mail for user %s failed", user.pk)
        return False
    return True


# --- inbox and preferences --------------------------------------------------------------


def inbox_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one in-app notification (or all of them) read. Idempotent."""
    unread = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    )
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def preferences_save(
    *,
    user: User,
    enabled: Collection[tuple[str, str]],
    daily_digest: bool | None,
    weekly_preview: bool | None = None,
) -> None:
    """Store which (kind, channel) pairs are on; mandatory ones stay on whatever is sent.

    `daily_digest=None` means the person did not touch the digest choice: a stored choice
    stays, and without one the default applies (on when e-mails for announced or changed
    campaigns are off). `weekly_preview=None` leaves it as it is. One transaction; held
    e-mails are released (queued after commit) when the digest ends up off."""
    with transaction.atomic():
        for kind in Kind.values:
            for channel in PERSON_CHANNELS:
                on = (kind, channel) in enabled or (kind, channel) in MANDATORY
                Preference.objects.update_or_create(
                    user=user, kind=kind, channel=channel, defaults={"enabled": on}
                )
        delivery, _created = DeliverySettings.objects.get_or_create(user=user)
        if daily_digest is not None:
            delivery.daily_digest = daily_digest
        if weekly_preview is not None:
            delivery.weekly_preview = weekly_preview
        delivery.save(update_fields=["daily_digest", "weekly_preview"])
        email_off = any((kind, Channel.EMAIL) not in enabled for kind in DIGEST_DEFAULT_KINDS)
        if not digest_wanted(choice=delivery.daily_digest, email_off_for_notices=email_off):
            # Whatever was waiting for a digest goes out now, as ordinary e-mails.
            released = list(
                Notification.objects.filter(
                    recipient=user, channel=Channel.EMAIL, status=Status.HELD
                ).values_list("pk", flat=True)
            )
            Notification.objects.filter(pk__in=released).update(
                status=Status.PENDING, next_attempt_at=timezone.now()
            )
            for batch in chunked(released, settings.NOTIFICATIONS_BATCH_SIZE):
                transaction.on_commit(partial(publish_task, "notifications.tasks.deliver", batch))
