"""The stakeholders' weekly feed: what launches this week, in the reader's time zone.

Reads only (selectors), each in a fixed number of queries whatever the number of
campaigns or teams: the campaigns with their owners, the reader's stakeholder rows with
their acknowledgement state, and one aggregate query for the reaction tallies.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import groupby

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core import signing
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from campaigns.calendar import FIRST_YEAR, LAST_YEAR
from campaigns.models import Acknowledgement, Campaign, Feedback, Stakeholder
from campaigns.selectors import FeedbackTally

Status = Campaign.Status

# Text search configurations created by migration 0005 (PostgreSQL only): the language's
# stemmer behind `unaccent`, so "voeux" finds "vœux" and "campagne" finds "campagnes".
SEARCH_CONFIGS = ("french_unaccent", "english_unaccent")
SEARCH_FIELDS = ("title", "summary", "body")
FEED_STATUSES = (Status.ANNOUNCED, Status.DONE, Status.CANCELLED)
CURSOR_SALT = "campaigns.feed.cursor"
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


def search_document() -> SearchVector:
    """Title, summary and body as one document, stemmed in French and in English.

    Migration 0005 indexes this very expression (GIN), so keep the two in step."""
    french, english = (SearchVector(*SEARCH_FIELDS, config=config) for config in SEARCH_CONFIGS)
    return french + english


def _search_query(text: str) -> SearchQuery:
    french, english = (
        SearchQuery(text, config=config, search_type="websearch") for config in SEARCH_CONFIGS
    )
    return french | english


def _ligature_variants(text: str) -> set[str]:
    """The spellings SQLite's fallback also tries: "voeux" ↔ "vœux"."""
    variants = {text}
    for plain, ligature in (("oe", "œ"), ("ae", "æ")):
        variants |= {v.replace(plain, ligature) for v in variants}
        variants |= {v.replace(ligature, plain) for v in variants}
    return variants


def _searched(campaigns: QuerySet[Campaign], text: str) -> QuerySet[Campaign]:
    text = text.strip()
    if not text:
        return campaigns
    if settings.DATABASE_IS_POSTGRES:
        return campaigns.alias(search=search_document()).filter(search=_search_query(text))
    # SQLite fallback (development only): substring match on the three fields, with
    # œ/oe spelled either way. No stemming; accents must match (SQLite's LIKE folds
    # ASCII case only).
    condition = Q()
    for variant in _ligature_variants(text):
        for name in SEARCH_FIELDS:
            condition |= Q(**{f"{name}__icontains": variant})
    return campaigns.filter(condition)


# --- the feed -----------------------------------------------------------------------------


@dataclass
class FeedItem:
    campaign: Campaign
    day: date  # the launch day in the reader's time zone
    my_stakeholders: list[Stakeholder]
    tally: FeedbackTally


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


def _feed_queryset(*, user: User) -> QuerySet[Campaign]:
    """Campaigns with their owner and the reader's stakeholder rows (two queries).

    Each row says whether the reader acknowledged the current version themselves
    (`mine`), which matters for teams where every member must acknowledge."""
    mine = Acknowledgement.objects.filter(
        stakeholder=OuterRef("pk"),
        user=user,
        version=OuterRef("campaign__version"),
        revoked_at__isnull=True,
    )
    my_rows = (
        Stakeholder.objects.filter(team__memberships__user=user)
        .select_related("team", "acknowledged_by")
        .annotate(mine=Exists(mine))
        .order_by("team__name")
    )
    return (
        visible_campaigns()
        .select_related("owner")
        .prefetch_related(Prefetch("stakeholders", queryset=my_rows, to_attr="my_stakeholders"))
    )


def visible_campaigns() -> QuerySet[Campaign]:
    """What advisors see: campaigns that were announced (drafts, and drafts cancelled
    before anyone was told, never reached them)."""
    return Campaign.objects.exclude(status=Status.DRAFT).exclude(
        status=Status.CANCELLED, announced_at__isnull=True
    )


def _filtered(
    campaigns: QuerySet[Campaign], *, user: User, filters: FeedFilters
) -> QuerySet[Campaign]:
    if filters.my_teams:
        campaigns = campaigns.filter(
            Exists(
                Stakeholder.objects.filter(campaign=OuterRef("pk"), team__memberships__user=user)
            )
        )
    if filters.channel:
        campaigns = campaigns.filter(channel=filters.channel)
    if filters.status:
        campaigns = campaigns.filter(status=filters.status)
    return _searched(campaigns, filters.query)


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
    return {row.pop("campaign_id"): FeedbackTally(**row) for row in rows}


def _items(campaigns: list[Campaign], tz: tzinfo) -> list[FeedItem]:
    tallies = feed_tallies(campaign_ids=[c.pk for c in campaigns])
    return [
        FeedItem(
            campaign=c,
            day=timezone.localtime(c.launch_at, tz).date(),
            my_stakeholders=c.my_stakeholders,
            tally=tallies.get(c.pk, FeedbackTally()),
        )
        for c in campaigns
    ]


def _cursor_write(campaign: Campaign, week: Week) -> str:
    return signing.dumps([str(week), campaign.launch_at.isoformat(), campaign.pk], salt=CURSOR_SALT)


def _cursor_read(token: str, week: Week) -> tuple[datetime, int] | None:
    """(launch_at, id) the page starts after; None (first page) if unreadable or made for
    another week."""
    if not token:
        return None
    try:
        made_for, launch, pk = signing.loads(token, salt=CURSOR_SALT)
        position = datetime.fromisoformat(launch), int(pk)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if made_for != str(week) or position[0].tzinfo is None:
        return None
    return position


def feed_week(
    *,
    user: User,
    week: Week,
    filters: FeedFilters,
    tz: tzinfo,
    cursor: str = "",
    page_size: int | None = None,
) -> FeedPage:
    """The week's campaigns, newest launch first, grouped by local day.

    With `page_size`, one page of a keyset walk on (launch_at, id): `cursor` names the
    last row of the previous page. Four queries, whatever the number of campaigns."""
    start, end = week.bounds(tz)
    campaigns = _filtered(_feed_queryset(user=user), user=user, filters=filters).filter(
        launch_at__gte=start, launch_at__lt=end
    )
    position = _cursor_read(cursor, week)
    previous_day = None
    if position is not None:
        launch_at, pk = position
        campaigns = campaigns.filter(Q(launch_at__lt=launch_at) | Q(launch_at=launch_at, id__lt=pk))
        previous_day = timezone.localtime(launch_at, tz).date()
    campaigns = campaigns.order_by(F("launch_at").desc(), F("id").desc())
    if page_size is None:
        rows, has_more = list(campaigns), False
    else:
        rows = list(campaigns[: page_size + 1])
        has_more = len(rows) > page_size
        rows = rows[:page_size]
    days = [
        FeedDay(day=day, items=list(items), continued=day == previous_day)
        for day, items in groupby(_items(rows, tz), key=lambda item: item.day)
    ]
    return FeedPage(
        days=days, next_cursor=_cursor_write(rows[-1], week) if rows and has_more else None
    )


def feed_item(*, user: User, campaign_id: int, tz: tzinfo) -> FeedItem:
    """One campaign of the feed, as feed_week shows it (after an inline acknowledgement).
    Raises Campaign.DoesNotExist for drafts and unknown ids."""
    campaign = _feed_queryset(user=user).get(pk=campaign_id)
    return _items([campaign], tz)[0]
