from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Value
from django.db.models.lookups import LessThan
from django.utils.translation import gettext

from accounts.models import User
from core.cursors import Slot, cursor_read, cursor_write
from core.db import RowValue
from notifications.models import (
    Channel,
    DeliverySettings,
    FailureReason,
    Kind,
    Notification,
    Preference,
)
from notifications.services import PERSON_CHANNELS, dedupe_key, digest_user_ids

INBOX_CURSOR_SALT = "notifications.inbox.cursor"
_INBOX_CURSOR = (Slot.MOMENT, Slot.ID)


@dataclass(frozen=True)
class InboxPage:
    notices: list[Notification]
    older_cursor: str | None  # where "Older notifications" starts; None on the last page


def inbox(*, user: User, cursor: str = "", page_size: int = 30) -> InboxPage:
    """A page of the person's in-app notices, newest first, with what they say (the
    dispatch). Keyset pagination on (created_at, id), read from the inbox's partial
    index: the 300th page costs what the first does, and no notice is counted. What each
    campaign is now comes from notifications.subjects. One query."""
    notices = (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
        .select_related("dispatch")
        .order_by("-created_at", "-id")
    )
    position = cursor_read(cursor, salt=INBOX_CURSOR_SALT, shape=_INBOX_CURSOR)
    if position is not None:
        before = RowValue(Value(position[0]), Value(position[1]))
        notices = notices.filter(LessThan(RowValue(F("created_at"), F("id")), before))
    rows = list(notices[: page_size + 1])
    older = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        older = cursor_write(salt=INBOX_CURSOR_SALT, values=[last.created_at, last.pk])
    return InboxPage(notices=rows, older_cursor=older)


# The badge says "99+" beyond this: nobody reads the exact number of a long backlog, and
# counting it would read every unread notice.
UNREAD_SHOWN_UP_TO = 99


def unread_count(*, user: User) -> int:
    """The person's unread in-app notices, counted up to UNREAD_SHOWN_UP_TO + 1, from the
    partial index on unread in-app notices (one index-only query, however long the
    backlog)."""
    unread = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).values("pk")
    return unread[: UNREAD_SHOWN_UP_TO + 1].count()


def preferences_matrix(*, user: User) -> dict[tuple[str, str], bool]:
    """(kind, channel) → enabled, with defaults (on) filled in."""
    stored = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    return {
        (kind, channel): stored.get((kind, channel), True)
        for kind in Kind.values
        for channel in (Channel.EMAIL, Channel.IN_APP)
    }


def wants_daily_digest(*, user: User) -> bool:
    """Whether the digest is on for the person, the default included (see services)."""
    return user.pk in digest_user_ids(user_ids=[user.pk])


def wants_weekly_preview(*, user: User) -> bool:
    return not DeliverySettings.objects.filter(user=user, weekly_preview=False).exists()


@dataclass(frozen=True)
class FailureSummary:
    total: int
    by_reason: list[tuple[str, int]]  # (why, in words; how many), most first
    examples: list[Notification]  # a few rows, with their recipient or team


def failures_for_campaign(*, campaign_id: int, examples: int = 10) -> FailureSummary:
    """What could not be delivered for a campaign, counted by reason in the database
    (one query when nothing failed, two however many rows failed)."""
    failed = Notification.objects.filter(campaign_id=campaign_id, status=Notification.Status.FAILED)
    counts = list(
        failed.values("failure_reason").annotate(n=Count("pk")).order_by("-n", "failure_reason")
    )
    total = sum(row["n"] for row in counts)
    rows = (
        list(failed.select_related("recipient", "team").order_by("-created_at")[:examples])
        if total
        else []
    )
    return FailureSummary(
        total=total,
        by_reason=[(_reason_label(row["failure_reason"]), row["n"]) for row in counts],
        examples=rows,
    )


def _reason_label(code: str) -> str:
    if code in FailureReason.values:
        return str(FailureReason(code).label)
    return gettext("could not be delivered")


def first_notified_at(
    *,
    kind: str,
    occurrence: str,
    campaign_versions: Mapping[int, int],
    user_ids: Sequence[int],
) -> dict[tuple[int, int], datetime]:
    """When each person was first told of this event (`kind` + `occurrence`) about each
    campaign's given version, on any channel, keyed (campaign id, user id). One query on
    the outbox's unique key, with the keys `notifications_enqueue` would have written."""
    keys = [
        dedupe_key(campaign_id, version, kind, f"u{user_id}", channel, occurrence)
        for campaign_id, version in campaign_versions.items()
        for user_id in user_ids
        for channel in PERSON_CHANNELS
    ]
    found: dict[tuple[int, int], datetime] = {}
    rows = Notification.objects.filter(dedupe_key__in=keys).values_list(
        "campaign_id", "recipient_id", "created_at"
    )
    for campaign_id, user_id, created_at in rows:
        key = (campaign_id, user_id)
        found[key] = min(created_at, found.get(key, created_at))
    return found


def active_person(*, user_id: int) -> User | None:
    """The active person an unsubscribe link names, for its page's language; None when
    they were deactivated or erased."""
    return User.objects.filter(pk=user_id, is_active=True).first()
