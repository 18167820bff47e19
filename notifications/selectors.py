from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from django.db import router
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.db.models.lookups import LessThan
from django.utils.translation import gettext
from django_stubs_ext import WithAnnotations

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
from notifications.services import (
    PERSON_CHANNELS,
    PersonRow,
    active_memberships,
    dedupe_key,
    digest_user_ids,
    person_rows_plan,
    webhook_team_ids_reached,
)

INBOX_CURSOR_SALT = "notifications.inbox.cursor"
_INBOX_CURSOR = (Slot.MOMENT, Slot.ID)


class _Thread(TypedDict):
    earlier_count: int  # notices about the same campaign folded under this one
    group_unread: bool  # this one or a folded one is unread


type InboxNotice = WithAnnotations[Notification, _Thread]


@dataclass(frozen=True)
class InboxPage:
    notices: list[InboxNotice]
    older_cursor: str | None  # where "Older notifications" starts; None on the last page
    earlier: dict[int, list[Notification]] = field(default_factory=dict)  # by notice id


# How many of the notices folded under a card are listed in it ("and 12 more" beyond).
EARLIER_SHOWN = 5


def _same_thread(user: User) -> QuerySet[Notification]:
    """The person's in-app notices about the outer row's campaign."""
    return Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, campaign_id=OuterRef("campaign_id")
    )


def inbox(*, user: User, cursor: str = "", page_size: int = 30) -> InboxPage:
    """A page of the person's in-app notices, newest first, with what they say (the
    dispatch): only the latest notice about each campaign, with how many earlier ones it
    folds (a changed version supersedes the announcement, a second reminder the first)
    and whether any of them is unread. Keyset pagination on (created_at, id), read from
    the inbox's partial index, each row checked against the (recipient, campaign) one:
    the 300th page costs what the first does. What each campaign is now comes from
    notifications.subjects. Two queries: the page, and the few earlier notices listed
    under its cards."""
    thread = _same_thread(user)
    newer = thread.filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    earlier = thread.filter(
        Q(created_at__lt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id"))
    )
    counted = earlier.order_by().values("campaign_id").annotate(n=Count("pk")).values("n")
    notices = (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
        .filter(~Exists(newer))
        .annotate(
            earlier_count=Coalesce(Subquery(counted), 0),
            group_unread=ExpressionWrapper(
                Q(read_at__isnull=True) | Q(Exists(earlier.filter(read_at__isnull=True))),
                output_field=BooleanField(),
            ),
        )
        .select_related("dispatch")
        .order_by("-created_at", "-id")
    )
    position = cursor_read(cursor, salt=INBOX_CURSOR_SALT, shape=_INBOX_CURSOR)
    if position is not None:
        before = RowValue(Value(position[0]), Value(position[1]))
        notices = notices.filter(LessThan(RowValue(F("created_at"), F("id")), before))
    rows: list[InboxNotice] = list(notices[: page_size + 1])
    older = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        older = cursor_write(salt=INBOX_CURSOR_SALT, values=[last.created_at, last.pk])
    return InboxPage(notices=rows, older_cursor=older, earlier=_earlier(user, rows))


def inbox_stamp_query(*, user: User) -> tuple[str, str, list[object]]:
    """What changes a person's inbox pages (core/pages.py): their newest in-app notice
    and how many are unread (a notice arriving, read or marked unread), as one query
    (database alias, SQL, parameters) on the inbox's two partial indexes. The kept inbox
    reads it with the revisions of the campaigns its cards show (what each card says
    about its campaign) in one round trip.

    Written out: it runs on every inbox request, and built through the ORM (two
    correlated subqueries) it cost twenty times its 0.3 ms of SQL."""
    table = Notification._meta.db_table
    in_app = "recipient_id = %s AND channel = %s"
    sql = (
        f"SELECT (SELECT id FROM {table} WHERE {in_app} "  # noqa: S608 - the model's table
        "ORDER BY created_at DESC, id DESC LIMIT 1), "
        f"(SELECT COUNT(*) FROM {table} WHERE {in_app} AND read_at IS NULL)"
    )
    params: list[object] = [user.pk, Channel.IN_APP, user.pk, Channel.IN_APP]
    return router.db_for_read(Notification), sql, params


def _earlier(user: User, shown: list[InboxNotice]) -> dict[int, list[Notification]]:
    """Up to EARLIER_SHOWN notices folded under each shown one, newest first, in one
    query (none when nothing is folded)."""
    folding = {n.campaign_id: n for n in shown if n.earlier_count}
    if not folding:
        return {}
    rank = Window(
        RowNumber(),
        partition_by=[F("campaign_id")],
        order_by=[F("created_at").desc(), F("id").desc()],
    )
    rows = (
        Notification.objects.filter(
            recipient=user, channel=Channel.IN_APP, campaign_id__in=list(folding)
        )
        .select_related("dispatch")
        .annotate(rank=rank)
        .filter(rank__gt=1, rank__lte=EARLIER_SHOWN + 1)
        .order_by("campaign_id", "-created_at", "-id")
    )
    found: dict[int, list[Notification]] = {n.pk: [] for n in folding.values()}
    for row in rows:
        latest = folding[row.campaign_id]
        # A notice newer than the page's (arrived since it was read) is not folded here.
        if (row.created_at, row.pk) < (latest.created_at, latest.pk):
            found[latest.pk].append(row)
    return found


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


def failures_stamp(*, campaign_id: int) -> int:
    """How many of a campaign's deliveries failed, from the index alone: part of the
    campaign page's stamp for those who see the failures (core/pages.py)."""
    return Notification.objects.filter(
        campaign_id=campaign_id, status=Notification.Status.FAILED
    ).count()


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


# --- who an event will reach (the announce confirmation) ------------------------------


@dataclass(frozen=True)
class Reach:
    """How many people a team-wide event reaches, per channel."""

    people: int
    email: int
    in_app: int
    # E-mails held for the person's daily digest (counted in `email` too).
    email_in_digest: int
    # Team chat webhooks posted to (for one team: 0 or 1).
    webhooks: int


@dataclass(frozen=True)
class Audience:
    per_team: dict[int, Reach]
    # Each person once, however many of the teams they are in: what the outbox writes.
    total: Reach


def _reach(plan: Sequence[PersonRow], people: set[int], webhooks: int) -> Reach:
    rows = [row for row in plan if row.user_id in people]
    emails = [row for row in rows if row.channel == Channel.EMAIL]
    return Reach(
        people=len(people),
        email=len(emails),
        in_app=sum(1 for row in rows if row.channel == Channel.IN_APP),
        email_in_digest=sum(1 for row in emails if row.status == Notification.Status.HELD),
        webhooks=webhooks,
    )


def team_event_audience(*, kind: str, team_ids: Sequence[int]) -> Audience:
    """Who an event told to the members and chat webhooks of `team_ids` would reach, per
    team and in all, counted by the rules the outbox writes its rows by
    (notifications.services.person_rows_plan, webhook_team_ids_reached), so a preview
    cannot disagree with the fan-out. Five queries, whatever the number of people."""
    members: dict[int, set[int]] = defaultdict(set)
    for team_id, user_id in active_memberships(team_ids).values_list("team_id", "user_id"):
        members[team_id].add(user_id)
    everybody = set().union(*members.values()) if members else set()
    plan = person_rows_plan(kind=kind, user_ids=sorted(everybody))
    hooked = set(webhook_team_ids_reached(team_ids))
    return Audience(
        per_team={
            team_id: _reach(plan, members[team_id], int(team_id in hooked)) for team_id in team_ids
        },
        total=_reach(plan, everybody, len(hooked)),
    )


def active_person(*, user_id: int) -> User | None:
    """The active person an unsubscribe link names, for its page's language; None when
    they were deactivated or erased."""
    return User.objects.filter(pk=user_id, is_active=True).first()


AckTeams = Mapping[tuple[int, int], frozenset[int]]


def acknowledging_teams(notifications: Sequence[Notification]) -> AckTeams:
    """For each (recipient, campaign) of a batch of e-mails, the campaign's stakeholder
    teams the recipient is in: what their acknowledge link is bound to. One query for
    the batch."""
    from teams.models import Membership

    pairs = {(n.recipient_id, n.campaign_id) for n in notifications if n.recipient_id}
    if not pairs:
        return {}
    found: dict[tuple[int, int], set[int]] = defaultdict(set)
    rows = Membership.objects.filter(
        user_id__in={user for user, _campaign in pairs},
        team__stakeholdings__campaign_id__in={campaign for _user, campaign in pairs},
    ).values_list("user_id", "team__stakeholdings__campaign_id", "team_id")
    for user_id, campaign_id, team_id in rows:
        if (user_id, campaign_id) in pairs:
            found[(user_id, campaign_id)].add(team_id)
    return {pair: frozenset(teams) for pair, teams in found.items()}
