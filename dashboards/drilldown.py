"""Reads for the team drill-down page: what the team owes, who owes it, and its trend
(the weekly figures themselves are the overview's, in dashboards.selectors).

Every function here runs a fixed number of queries, whatever the number of campaigns
or people.
"""

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import connections, router
from django.db.models import Count, DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from accounts.models import User
from campaigns import rules
from campaigns.models import (
    UNDATED_SORTS_AS,
    Acknowledgement,
    Campaign,
    Stakeholder,
    stakeholder_overdue_q,
)
from campaigns.selectors import nudges_this_hour
from core.cursors import Slot, cursor_read, cursor_write
from core.db import RowValue
from dashboards.selectors import (
    TREND_WEEKS,
    WeekRate,
    dashboard_scope,
    empty_weeks,
    weekly_on_time_by_team,
)
from notifications.models import Notification
from teams.models import Membership, Team
from teams.roles import Actor


def team_can_view(*, user: User, team: Team, actor: Actor | None = None) -> bool:
    """The overview's rule for one team: managers see every team, leads their own."""
    scope = dashboard_scope(user=user, actor=actor)
    return scope is not None and (scope.team_ids is None or team.pk in scope.team_ids)


# Up to this many people who owe a campaign are listed in its row of the team page.
PEOPLE_LISTED_INLINE = 4


@dataclass
class PendingAcknowledgement:
    """One announced campaign whose current version the team has not acknowledged."""

    stakeholder: Stakeholder
    campaign: Campaign
    due_at: datetime | None
    is_overdue: bool
    people: list[User] = field(default_factory=list)
    # When each of `people` was nudged in the current hour (no second nudge until the
    # next one), by user id.
    nudged_at: dict[int, datetime] = field(default_factory=dict)

    @property
    def people_and_nudges(self) -> list[tuple[User, datetime | None]]:
        return [(person, self.nudged_at.get(person.pk)) for person in self.people]

    @property
    def lists_people_inline(self) -> bool:
        """Whether the team page lists these people in the row. A longer list is read
        when its row is opened: listed, a page of 20 campaigns grew with the team."""
        return len(self.people) <= PEOPLE_LISTED_INLINE


@dataclass(frozen=True)
class PendingPage:
    """A page of the team's pending acknowledgements, most urgent first, and the totals."""

    rows: list[PendingAcknowledgement]
    next_cursor: str | None
    total: int
    overdue: int
    # A cursor was given but could not be read (tampered with, or signed with an old
    # key): these rows are the first page again, not the next one.
    restarted: bool = False


PENDING_PAGE_SIZE = 20
PENDING_CURSOR_SALT = "dashboards.team.pending"


_PENDING_CURSOR_SHAPE = (Slot.MOMENT, Slot.MOMENT, Slot.ID)


def _pending_cursor_write(row: PendingAcknowledgement) -> str:
    due = row.due_at or UNDATED_SORTS_AS
    return cursor_write(
        salt=PENDING_CURSOR_SALT, values=[due, row.campaign.launch_at, row.stakeholder.pk]
    )


def _pending_cursor_read(token: str) -> tuple[datetime, datetime, int] | None:
    """The (due, launch, id) a page starts after, or None (the first page) for anything
    unreadable or tampered with."""
    values = cursor_read(token, salt=PENDING_CURSOR_SALT, shape=_PENDING_CURSOR_SHAPE)
    if values is None:
        return None
    due, launch, pk = values  # checked against the shape by cursor_read
    return cast(datetime, due), cast(datetime, launch), cast(int, pk)


@dataclass(frozen=True)
class PendingSlice:
    """The heavy half of a page of pending acknowledgements: which stakeholder rows (with
    their campaigns) and the team's totals. Plain data, so a dashboard may keep it."""

    stakeholders: list[Stakeholder]
    has_more: bool
    total: int
    overdue: int
    restarted: bool


def team_pending_slice(
    *, team: Team, now: datetime, cursor: str = "", page_size: int | None = None
) -> PendingSlice:
    """The team's pending stakeholder rows, most urgent first (due date, then launch), a
    page at a time on a keyset of (due date, launch date, id), with how many are pending
    and overdue in all. Two queries: both read every campaign awaiting acknowledgement,
    which is what makes this the part worth keeping (dashboards.views)."""
    page_size = page_size or PENDING_PAGE_SIZE
    pending = Stakeholder.objects.filter(
        rules.status_q(rules.AWAITING, "campaign__"), team=team
    ).pending()
    totals = pending.aggregate(
        total=Count("pk"), overdue=Count("pk", filter=stakeholder_overdue_q(now))
    )
    due_key = Coalesce("due_at", Value(UNDATED_SORTS_AS, output_field=DateTimeField()))
    page = pending.alias(due_key=due_key)
    position = _pending_cursor_read(cursor)
    if position is not None:
        page = page.filter(
            GreaterThan(
                RowValue(F("due_key"), F("campaign__launch_at"), F("pk")),
                RowValue(*(Value(part) for part in position)),
            )
        )
    stakeholders = list(
        page.select_related("campaign")
        .defer("campaign__body")
        .order_by("due_key", "campaign__launch_at", "pk")[: page_size + 1]
    )
    return PendingSlice(
        stakeholders=stakeholders[:page_size],
        has_more=len(stakeholders) > page_size,
        total=totals["total"],
        overdue=totals["overdue"],
        restarted=bool(cursor) and position is None,
    )


def team_pending_acknowledgements(
    *,
    team: Team,
    now: datetime | None = None,
    cursor: str = "",
    page_size: int | None = None,
    pending: PendingSlice | None = None,
) -> PendingPage:
    """One page of the team's pending and late acknowledgements (team_pending_slice,
    or `pending` when the caller kept one), each with the active members who have not
    acknowledged the current version and when they were nudged this hour, both read now.
    Five queries, whatever the page (three with `pending`)."""
    now = now or timezone.now()
    if pending is None:
        pending = team_pending_slice(team=team, now=now, cursor=cursor, page_size=page_size)
    stakeholders = pending.stakeholders
    if not stakeholders:
        return PendingPage([], None, pending.total, pending.overdue, pending.restarted)
    members = [
        membership.user
        for membership in Membership.objects.filter(team=team, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]
    acknowledged = set(
        Acknowledgement.objects.filter(
            stakeholder__in=[s.pk for s in stakeholders],
            revoked_at__isnull=True,
            version=F("stakeholder__campaign__version"),
        ).values_list("stakeholder_id", "user_id")
    )
    nudged = nudges_this_hour(
        team_id=team.pk,
        campaign_versions={s.campaign_id: s.campaign.version for s in stakeholders},
        user_ids=[member.pk for member in members],
        now=now,
    )
    # An any-member team that owes the version has no acknowledgement of it, so every
    # member is listed; an every-member team lists those still missing.
    rows = []
    for stakeholder in stakeholders:
        people = [m for m in members if (stakeholder.pk, m.pk) not in acknowledged]
        rows.append(
            PendingAcknowledgement(
                stakeholder=stakeholder,
                campaign=stakeholder.campaign,
                due_at=stakeholder.due_at,
                is_overdue=stakeholder.due_at is not None and stakeholder.due_at <= now,
                people=people,
                nudged_at={
                    person.pk: nudged[(stakeholder.campaign_id, person.pk)]
                    for person in people
                    if (stakeholder.campaign_id, person.pk) in nudged
                },
            )
        )
    return PendingPage(
        rows=rows,
        next_cursor=_pending_cursor_write(rows[-1]) if pending.has_more else None,
        total=pending.total,
        overdue=pending.overdue,
        restarted=pending.restarted,
    )


def team_weekly_trend(
    *, team: Team, now: datetime | None = None, weeks: int = TREND_WEEKS
) -> list[WeekRate]:
    """Per ISO week (in the current time zone) of the last `weeks` weeks, this one
    included: how many of the team's due dates have passed, and how many of those were
    acknowledged (current version) by the due date. Cancelled and draft campaigns do
    not count; due dates still ahead are not judged yet. One query."""
    rows = Stakeholder.objects.filter(team=team)
    return weekly_on_time_by_team(rows, now=now, weeks=weeks).get(team.pk) or empty_weeks(
        now=now, weeks=weeks
    )


UNDELIVERED_ROWS = 50


@dataclass(frozen=True)
class UndeliveredPage:
    """Messages about announced campaigns that never reached the team, and how many."""

    rows: list[Notification]
    total: int


def _team_failed(team: Team) -> QuerySet[Notification]:
    campaign_ids = Stakeholder.objects.filter(
        rules.status_q(rules.AWAITING, "campaign__"), team=team
    ).values("campaign_id")
    member = Membership.objects.filter(team=team, user_id=OuterRef("recipient_id"))
    return Notification.objects.filter(
        Q(team=team) | Exists(member),
        campaign_id__in=campaign_ids,
        status=Notification.Status.FAILED,
    )


def team_undelivered_count(*, team: Team) -> int:
    """How many messages never reached the team (team_undelivered's total), written by
    the delivery workers: part of the team page's stamp (core/pages.py), read on every
    request (team_undelivered_count_query)."""
    alias, sql, params = team_undelivered_count_query(team=team)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def team_undelivered_count_query(*, team: Team) -> tuple[str, str, tuple[Any, ...]]:
    """team_undelivered_count's query (database alias, SQL, parameters), for the kept
    team page to read with the revisions of the campaigns it shows, in one round trip.
    Built once per team and database: the ORM's building of it cost twice its planning
    and running together."""
    alias = router.db_for_read(Notification)
    sql, params = _team_failed_count_sql(team.pk, alias)
    return alias, sql, params


@functools.lru_cache(maxsize=1024)
def _team_failed_count_sql(team_id: int, alias: str) -> tuple[str, tuple[Any, ...]]:
    # _team_failed reads nothing but the team's id, and no clock: its SQL is the same for
    # as long as the process runs.
    query = _team_failed(Team(pk=team_id)).order_by().values("pk").query
    sql, params = query.get_compiler(using=alias).as_sql()
    return f"SELECT COUNT(*) FROM ({sql}) failed", tuple(params)  # noqa: S608 - the ORM's SQL


def team_undelivered(*, team: Team, limit: int = UNDELIVERED_ROWS) -> UndeliveredPage:
    """What never reached the team about its announced campaigns: failed messages to its
    chat webhook or to its current members (the overview's `undelivered_q`, for one
    team), soonest launch first, each with its campaign and person; the first `limit`
    and the total. Two queries, whatever the team's size: the campaigns come from the
    team's stakeholder rows, and their failed messages from the outbox's (campaign,
    status) index."""
    failed = _team_failed(team)
    rows = list(
        failed.select_related("campaign", "recipient")
        .only(
            "pk",
            "channel",
            "kind",
            "failure_reason",
            "team_id",
            "campaign__id",
            "campaign__title",
            "campaign__launch_at",
            "recipient__id",
            "recipient__full_name",
            "recipient__email",
        )
        .order_by("campaign__launch_at", "campaign_id", "recipient__full_name", "pk")[:limit]
    )
    total = len(rows) if len(rows) < limit else failed.count()
    return UndeliveredPage(rows=rows, total=total)


def team_campaign_pending(*, team: Team, campaign_id: int) -> PendingAcknowledgement | None:
    """One campaign the team still owes, with the active members who have not
    acknowledged its current version: what "nudge them" (from an escalation) would
    remind. None when the team is not a stakeholder of it or no longer owes it. Four
    queries."""
    pending = Stakeholder.objects.filter(
        rules.status_q(rules.AWAITING, "campaign__"), team=team, campaign_id=campaign_id
    ).pending()
    stakeholder = pending.select_related("campaign").first()
    if stakeholder is None:
        return None
    # The same rows as the team page's, so the page lists whom the button nudges.
    one = PendingSlice(
        stakeholders=[stakeholder], has_more=False, total=1, overdue=0, restarted=False
    )
    return team_pending_acknowledgements(team=team, pending=one).rows[0]
