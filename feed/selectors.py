"""The stakeholders' weekly feed: what launches this week, in the reader's time zone.

Reads only (selectors), each in a fixed number of queries whatever the number of
campaigns or teams: the campaigns with their owners, the reader's stakeholder rows with
their acknowledgement state, and one aggregate query for the reaction tallies.
"""

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import groupby
from typing import TypedDict, cast

from django.db import router
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_stubs_ext import WithAnnotations

from campaigns import rules
from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.models import Acknowledgement, Campaign, Feedback, Stakeholder
from campaigns.rules import Action
from campaigns.search import campaigns_searched
from campaigns.selectors import ActionState, FeedbackTally
from core.cursors import Slot, cursor_read, cursor_write
from core.db import CompiledQuery, compiled, compiled_rows
from core.errors import NotFound
from teams.roles import Actor

Status = Campaign.Status

FEED_STATUSES = (Status.ANNOUNCED, Status.DONE, Status.CANCELLED)
CURSOR_SALT = "campaigns.feed.cursor"  # kept: cursors in open pages stay readable
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


# --- the week -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """An ISO week; its bounds depend on the time zone it is read in."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> "Week":
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def parse(cls, value: str) -> "Week":
        """`2026-W48` → Week; ValueError for anything else, including "2026-W54"."""
        match = _WEEK.fullmatch(value)
        if not match or not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
            raise ValueError(value)
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)  # ValueError if bad
        return cls.of(monday)

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def previous(self) -> "Week":
        return Week.of(self.monday - timedelta(days=7))

    @property
    def next(self) -> "Week":
        return Week.of(self.monday + timedelta(days=7))

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) in `tz`. Each bound gets the UTC offset in
        force at that moment, so a week holding a DST change is 167 or 169 hours long."""
        start = timezone.make_aware(datetime.combine(self.monday, time.min), tz)
        end = timezone.make_aware(datetime.combine(self.monday + timedelta(days=7), time.min), tz)
        return start, end


# --- filters and search -------------------------------------------------------------------


@dataclass(frozen=True)
class FeedFilters:
    """What the feed is narrowed to; plain values, parsed by the view's form."""

    my_teams: bool = False
    channel: str = ""
    status: str = ""
    query: str = ""


# --- the feed -----------------------------------------------------------------------------


class _Mine(TypedDict):
    mine: bool  # the reader acknowledged the current version themselves


type ReaderStakeholder = WithAnnotations[Stakeholder, _Mine]


class _ReaderRows(TypedDict):
    my_stakeholders: list[ReaderStakeholder]


# A campaign with the reader's own stakeholder rows (see _feed_queryset).
type FeedCampaign = WithAnnotations[Campaign, _ReaderRows]


@dataclass
class FeedItem:
    campaign: Campaign
    day: date  # the launch day in the reader's time zone
    my_stakeholders: list[ReaderStakeholder]
    tally: FeedbackTally
    acknowledge: ActionState  # the rule book's answer for the reader's teams


@dataclass(frozen=True)
class FeedDay:
    day: date
    items: list[FeedItem]
    continued: bool = False  # the previous page ended on this day: no second heading


@dataclass(frozen=True)
class FeedPage:
    days: list[FeedDay] = field(default_factory=list)
    next_cursor: str | None = None

    @property
    def items(self) -> Iterator[FeedItem]:
        for day in self.days:
            yield from day.items


def _feed_queryset(*, viewer: Actor) -> QuerySet[FeedCampaign]:
    """Campaigns with their owner and the reader's stakeholder rows (two queries).

    Each row says whether the reader acknowledged the current version themselves
    (`mine`), which matters for teams where every member must acknowledge."""
    mine = Acknowledgement.objects.filter(
        stakeholder=OuterRef("pk"),
        version=OuterRef("campaign__version"),
        revoked_at__isnull=True,
    )
    # Nobody signed in acknowledged anything (nor sees any campaign: visible_campaigns).
    mine = mine.filter(user_id=viewer.user_id) if viewer.user_id is not None else mine.none()
    my_rows = (
        Stakeholder.objects.filter(team_id__in=viewer.team_ids)
        .select_related("team", "acknowledged_by")
        .annotate(mine=Exists(mine))
        .order_by("team__name")
    )
    return (
        visible_campaigns(viewer)
        .select_related("owner")
        .prefetch_related(Prefetch("stakeholders", queryset=my_rows, to_attr="my_stakeholders"))
    )


def visible_campaigns(viewer: Actor) -> QuerySet[Campaign]:
    """What the feed shows: campaigns that went out to the teams (campaigns.rules: drafts,
    and drafts cancelled before anyone was told, are not news), to anyone signed in, so
    no role is asked."""
    hidden = _hidden_q(viewer)
    return Campaign.objects.none() if hidden is None else Campaign.objects.exclude(hidden)


def _hidden_q(viewer: Actor) -> Q | None:
    """What the feed leaves out for `viewer`, or None when they see nothing at all."""
    return rules.private_q() if viewer.is_active else None


def _filtered[C: Campaign](
    campaigns: QuerySet[C], *, team_ids: frozenset[int], filters: FeedFilters
) -> QuerySet[C]:
    if filters.my_teams:
        campaigns = campaigns.filter(
            Exists(Stakeholder.objects.filter(campaign=OuterRef("pk"), team_id__in=team_ids))
        )
    if filters.channel:
        campaigns = campaigns.filter(channel=filters.channel)
    if filters.status:
        campaigns = campaigns.filter(status=filters.status)
    return campaigns_searched(campaigns, filters.query)


def feed_tallies(*, campaign_ids: list[int]) -> dict[int, FeedbackTally]:
    """Reaction counts for many campaigns in one aggregate query (GROUP BY campaign)."""
    if not campaign_ids:
        return {}
    tag = Feedback.Tag
    rows = (
        Feedback.objects.filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .order_by()
        .annotate(
            positive=Count("pk", filter=Q(tag=tag.POSITIVE)),
            neutral=Count("pk", filter=Q(tag=tag.NEUTRAL)),
            negative=Count("pk", filter=Q(tag=tag.NEGATIVE)),
            question=Count("pk", filter=Q(tag=tag.QUESTION)),
            total=Count("pk"),
        )
    )
    return {
        row["campaign_id"]: FeedbackTally(
            positive=row["positive"],
            neutral=row["neutral"],
            negative=row["negative"],
            question=row["question"],
            total=row["total"],
        )
        for row in rows
    }


def _acknowledge_state(campaign: FeedCampaign, viewer: Actor, now: datetime) -> ActionState:
    """The rule book's answer for acknowledging from the feed. Only the reader's own
    stakeholder rows are at hand, which is exactly what this rule reads (is the reader in
    one of its teams), so it needs no other query."""
    facts = rules.facts_of(
        campaign, stakeholders=campaign.my_stakeholders, editor_ids=(), acknowledgers=False
    )
    return ActionState.of(rules.decide(Action.ACKNOWLEDGE, viewer, facts, now=now))


def _items(campaigns: list[FeedCampaign], tz: tzinfo, viewer: Actor) -> list[FeedItem]:
    tallies = feed_tallies(campaign_ids=[c.pk for c in campaigns])
    now = timezone.now()
    return [
        FeedItem(
            campaign=c,
            day=timezone.localtime(c.launch_at, tz).date(),
            my_stakeholders=c.my_stakeholders,
            tally=tallies.get(c.pk, FeedbackTally()),
            acknowledge=_acknowledge_state(c, viewer, now),
        )
        for c in campaigns
    ]


_CURSOR_SHAPE = (Slot.TEXT, Slot.MOMENT, Slot.ID)


def _cursor_write(campaign: Campaign, week: Week) -> str:
    return cursor_write(salt=CURSOR_SALT, values=[str(week), campaign.launch_at, campaign.pk])


def _cursor_read(token: str, week: Week) -> tuple[datetime, int] | None:
    """(launch_at, id) the page starts after; None (first page) if unreadable or made for
    another week."""
    values = cursor_read(token, salt=CURSOR_SALT, shape=_CURSOR_SHAPE)
    if values is None or values[0] != str(week):
        return None
    return cast(datetime, values[1]), cast(int, values[2])  # checked against the shape


def _week_rows[C: Campaign](
    campaigns: QuerySet[C],
    *,
    viewer: Actor,
    week: Week,
    filters: FeedFilters,
    tz: tzinfo,
    cursor: str,
) -> tuple[QuerySet[C], date | None]:
    """The week's campaigns, filtered, newest launch first, from `cursor` on; and the
    local day the previous page ended on."""
    position = _cursor_read(cursor, week)
    previous_day = None
    if position is not None:
        previous_day = timezone.localtime(position[0], tz).date()
    rows = _week_slice(
        campaigns,
        team_ids=_filter_teams(viewer, filters),
        bounds=week.bounds(tz),
        filters=filters,
        position=position,
    )
    return rows, previous_day


def _filter_teams(viewer: Actor, filters: FeedFilters) -> frozenset[int]:
    """The teams "my teams" narrows to: none asked, none read."""
    return viewer.team_ids if filters.my_teams else frozenset()


def _week_slice[C: Campaign](
    campaigns: QuerySet[C],
    *,
    team_ids: frozenset[int],
    bounds: tuple[datetime, datetime],
    filters: FeedFilters,
    position: tuple[datetime, int] | None,
) -> QuerySet[C]:
    """`campaigns` filtered, launched within `bounds`, after `position`, newest first:
    made of plain values only, so that the stamp's SQL can be kept (_week_stamp_query)."""
    start, end = bounds
    campaigns = _filtered(campaigns, team_ids=team_ids, filters=filters).filter(
        launch_at__gte=start, launch_at__lt=end
    )
    if position is not None:
        launch_at, pk = position
        campaigns = campaigns.filter(Q(launch_at__lt=launch_at) | Q(launch_at=launch_at, id__lt=pk))
    return campaigns.order_by(F("launch_at").desc(), F("id").desc())


def feed_week(
    *,
    viewer: Actor,
    week: Week,
    filters: FeedFilters,
    tz: tzinfo,
    cursor: str = "",
    page_size: int | None = None,
) -> FeedPage:
    """The week's campaigns, newest launch first, grouped by local day.

    With `page_size`, one page of a keyset walk on (launch_at, id): `cursor` names the
    last row of the previous page. Four queries, whatever the number of campaigns."""
    campaigns, previous_day = _week_rows(
        _feed_queryset(viewer=viewer),
        viewer=viewer,
        week=week,
        filters=filters,
        tz=tz,
        cursor=cursor,
    )
    if page_size is None:
        rows, has_more = list(campaigns), False
    else:
        rows = list(campaigns[: page_size + 1])
        has_more = len(rows) > page_size
        rows = rows[:page_size]
    days = [
        FeedDay(day=day, items=list(items), continued=day == previous_day)
        for day, items in groupby(_items(rows, tz, viewer), key=lambda item: item.day)
    ]
    return FeedPage(
        days=days, next_cursor=_cursor_write(rows[-1], week) if rows and has_more else None
    )


class WeekPageArgs(TypedDict):
    """One page of the feed, as feed_week and feed_week_stamp both take it."""

    viewer: Actor
    week: Week
    filters: FeedFilters
    tz: tzinfo
    cursor: str
    page_size: int


def feed_week_stamp(
    *, viewer: Actor, week: Week, filters: FeedFilters, tz: tzinfo, cursor: str, page_size: int
) -> list[tuple[int, int]]:
    """What one page of feed_week shows, as the ids and revisions of its rows (one
    query): it changes whenever the page would (core/pages.py)."""
    alias = router.db_for_read(Campaign)
    query = _week_stamp_query(
        alias,
        _hidden_q(viewer),
        _filter_teams(viewer, filters),
        week.bounds(tz),
        filters,
        _cursor_read(cursor, week),
        page_size + 1,
    )
    return [(pk, revision) for pk, revision in compiled_rows(alias, query)]


@functools.lru_cache(maxsize=1024)
def _week_stamp_query(
    alias: str,
    hidden: Q | None,
    team_ids: frozenset[int],
    bounds: tuple[datetime, datetime],
    filters: FeedFilters,
    position: tuple[datetime, int] | None,
    rows: int,
) -> CompiledQuery | None:
    """The stamp's SQL and parameters, compiled once per process for the same inputs (as
    campaigns.selectors._stamp_query does for the list); None when they match nothing.
    Every request for a kept feed page runs the stamp, and building and compiling it
    through the ORM was half its cost (1.0 of 2.2 ms for a search). The key holds what
    the SQL is made of, the viewer only through what the feed hides from them and the
    teams "my teams" names; a week's bounds change with the week, so one reader's keys
    stay few."""
    if hidden is None:
        return None
    campaigns = _week_slice(
        Campaign.objects.exclude(hidden),
        team_ids=team_ids,
        bounds=bounds,
        filters=filters,
        position=position,
    )
    return compiled(campaigns.values_list("pk", "revision")[:rows], alias)


def feed_item(*, viewer: Actor, campaign_id: int, tz: tzinfo) -> FeedItem:
    """One campaign of the feed, as feed_week shows it (after an inline acknowledgement).
    NotFound for drafts and unknown ids."""
    campaign = _feed_queryset(viewer=viewer).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("This campaign does not exist."))
    return _items([campaign], tz, viewer)[0]
