"""The daily digest and the Monday "week ahead" e-mail: once per person and period.

A beat task finds who is due and hands them to workers in batches of people (the
`digests` queue), so ten thousand digests are sent by as many workers as there are, each
batch under its own time limit, rather than inline in one beat task.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from accounts.models import User
from core.working_time import WorkingCalendar, a_working_day_before
from notifications.channels import DeliveryError, send_digest, send_week_ahead
from notifications.models import (
    Channel,
    DeliverySettings,
    DigestRun,
    Kind,
    Notification,
    Preference,
)
from notifications.services.outbox import chunked
from notifications.subjects import (
    WaitingQuestion,
    question_owners,
    waiting_questions,
)

logger = logging.getLogger(__name__)
Status = Notification.Status
# People per digest task: a batch stays well under the task's time limit even when each
# e-mail takes a second.
DIGEST_BATCH = 200


# Switching off immediate e-mails for these kinds turns the digest on, unless the person
# chose otherwise: a stakeholder who does not want an e-mail per campaign should still
# hear about them once a day.
DIGEST_DEFAULT_KINDS = (Kind.ANNOUNCED, Kind.CHANGED)
# The working week the digest counts "a working day" in: a question's owner has no
# calendar of their own (teams do), so the installation's default one.
DIGEST_CALENDAR = WorkingCalendar()


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


def digest_batches_due(*, now: datetime | None = None) -> list[list[int]]:
    """The people whose daily digest may go out now, in batches of DIGEST_BATCH: digest
    readers with something held or new for them, whose local digest hour has come.
    Reads only; a few queries whatever the number of people."""
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
    # Owners reading a digest with questions waiting for an answer since a working day.
    with_questions = (
        question_owners(older_than=a_working_day_before(now, DIGEST_CALENDAR)) & readers
    )
    candidates = User.objects.filter(
        is_active=True, pk__in=with_held | ((with_in_app | with_questions) & readers)
    ).order_by("pk")
    # Already served today (in their own time zone): not handed out again every hour.
    served = set(
        DigestRun.objects.filter(
            sent_at__gte=now - timedelta(days=1), period__startswith="daily:"
        ).values_list("user_id", "period")
    )
    due = []
    for user in candidates.only("pk", "time_zone"):
        local = _local_now(user, now)
        if local.hour < settings.NOTIFICATIONS_DIGEST_HOUR:
            continue
        if (user.pk, f"daily:{local.date().isoformat()}") in served:
            continue
        due.append(user.pk)
    return list(chunked(due, DIGEST_BATCH))


def digests_send_for(*, user_ids: Sequence[int], now: datetime | None = None) -> int:
    """Send the daily digest of each of `user_ids` whose local digest hour has come: the
    notices held for them, plus their in-app-only announced/changed notices since their
    last digest, and the questions on their campaigns unanswered for a working day. At
    most one digest per person and local day (`DigestRun`), however often
    this runs; nobody with nothing new gets one. Returns how many were sent.

    Held rows stay "held" while the digest is sent (no claim the sweep could turn into
    single e-mails); the DigestRun row, claimed in a short transaction, is what stops a
    second send the same day. Each person is sent outside any transaction, and one
    person's failure does not stop the others'."""
    now = now or timezone.now()
    readers = digest_user_ids(user_ids=user_ids)
    sent = 0
    for user in User.objects.filter(pk__in=list(user_ids), is_active=True).order_by("pk"):
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
            questions = (
                waiting_questions(
                    user_id=user.pk, older_than=a_working_day_before(now, DIGEST_CALENDAR)
                )
                if user.pk in readers
                else []
            )
            if not held and not in_app and not questions:
                continue
            _run, created = DigestRun.objects.get_or_create(user=user, period=period)
            if not created:
                continue
        if _send_one_digest(user, held, period=period, extra=in_app, questions=questions):
            sent += 1
    return sent


def digests_send_due(*, now: datetime | None = None) -> int:
    """Every due digest, sent here batch after batch (the beat task hands the batches to
    workers instead; see notifications.tasks.send_daily_digests)."""
    now = now or timezone.now()
    return sum(digests_send_for(user_ids=batch, now=now) for batch in digest_batches_due(now=now))


def _send_one_digest(
    user: User,
    held: list[Notification],
    *,
    period: str,
    extra: Sequence[Notification] = (),
    questions: Sequence[WaitingQuestion] = (),
) -> bool:
    ids = [n.pk for n in held]
    items = sorted([*held, *extra], key=lambda n: (n.created_at, n.pk))
    for notification in items:
        notification.recipient = user
    try:
        send_digest(user, items, questions)
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


def week_ahead_served(*, now: datetime) -> set[tuple[int, str]]:
    """(person, period) of the week-ahead e-mails already sent around `now`: those people
    are not handed to a worker again every hour of their Monday."""
    return set(
        DigestRun.objects.filter(
            period__startswith="week:",
            sent_at__gte=now - timedelta(days=2),
        ).values_list("user_id", "period")
    )


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
