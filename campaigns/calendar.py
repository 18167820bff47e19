"""The launch calendar's periods (a month or an ISO week) and the grid of days shown.

Days are the viewer's days: a period's bounds are local midnights in the active time zone
(see accounts.middleware), so a launch at 00:30 in Paris on 1 December is on 1 December
for a Parisian and on 30 November for someone in UTC, and a week that crosses a change of
daylight-saving time is still seven whole local days.
"""

import calendar as pycalendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from django.utils import timezone

from campaigns.models import Campaign

# At most this many launches per day, then "+N more" (a link to the list): a month's cell
# has room for a few, a week's column for more. A large company launches hundreds a day.
MONTH_DAY_LIMIT = 4
WEEK_DAY_LIMIT = 25
FIRST_YEAR = 1900
LAST_YEAR = 2999


@dataclass(frozen=True)
class Period:
    kind: Literal["month", "week"]
    anchor: date  # the 1st of the month, or the Monday of the week

    @classmethod
    def month_of(cls, day: date) -> "Period":
        return cls("month", day.replace(day=1))

    @classmethod
    def week_of(cls, day: date) -> "Period":
        return cls("week", day - timedelta(days=day.weekday()))

    @property
    def first_day(self) -> date:
        """The Monday the grid starts on (weeks start on Monday, as in ISO 8601)."""
        return self.anchor - timedelta(days=self.anchor.weekday())

    @property
    def last_day(self) -> date:
        """The Sunday the grid ends on, inclusive."""
        if self.kind == "week":
            return self.anchor + timedelta(days=6)
        month_end = self.anchor.replace(
            day=pycalendar.monthrange(self.anchor.year, self.anchor.month)[1]
        )
        return month_end + timedelta(days=6 - month_end.weekday())

    @property
    def param(self) -> str:
        """The query string value: "2026-12" or "2026-W48"."""
        if self.kind == "week":
            year, week, _ = self.anchor.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.anchor:%Y-%m}"

    @property
    def iso_week(self) -> tuple[int, int]:
        year, week, _ = self.anchor.isocalendar()
        return year, week

    def previous(self) -> "Period | None":
        if self.kind == "week":
            day = self.anchor - timedelta(days=7)
        else:
            day = (self.anchor - timedelta(days=1)).replace(day=1)
        return Period(self.kind, day) if day.year >= FIRST_YEAR else None

    def following(self) -> "Period | None":
        if self.kind == "week":
            day = self.anchor + timedelta(days=7)
        else:
            day = (self.anchor + timedelta(days=31)).replace(day=1)
        return Period(self.kind, day) if day.year <= LAST_YEAR else None

    def in_period(self, day: date) -> bool:
        if self.kind == "week":
            return True
        return (day.year, day.month) == (self.anchor.year, self.anchor.month)

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) of the days shown, as aware datetimes: local midnights."""
        return _local_midnight(self.first_day), _local_midnight(self.last_day + timedelta(days=1))

    def as_month(self) -> "Period":
        """The month this week mostly falls in (its Thursday's, as ISO numbering does)."""
        if self.kind == "month":
            return self
        return Period.month_of(self.anchor + timedelta(days=3))

    def as_week(self, today: date) -> "Period":
        """Today's week if today is in this month, else the week of the 1st."""
        if self.kind == "week":
            return self
        return Period.week_of(today if self.in_period(today) else self.anchor)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class Day:
    date: date
    in_period: bool
    is_today: bool
    launches: list[Campaign] = field(default_factory=list)  # the first few, in time order
    total: int = 0  # how many launch that day in all

    @property
    def shown(self) -> list[Campaign]:
        return self.launches

    @property
    def more(self) -> int:
        return self.total - len(self.launches)


def day_limit(period: Period) -> int:
    return MONTH_DAY_LIMIT if period.kind == "month" else WEEK_DAY_LIMIT


def calendar_weeks(period: Period, launches: list[Campaign], *, today: date) -> list[list[Day]]:
    """The period's days, Monday to Sunday, one list per week, each with its launches in
    time order. Expects them sorted by launch_at, each with `day_total`, the number of
    launches that local day (see selectors.campaign_launches)."""
    by_day: dict[date, list[Campaign]] = defaultdict(list)
    totals: dict[date, int] = {}
    for campaign in launches:
        if campaign.launch_at is not None:
            local = timezone.localdate(campaign.launch_at)
            by_day[local].append(campaign)
            totals[local] = getattr(campaign, "day_total", len(by_day[local]))
    weeks: list[list[Day]] = []
    day = period.first_day
    while day <= period.last_day:
        weeks.append(
            [
                Day(
                    date=current,
                    in_period=period.in_period(current),
                    is_today=current == today,
                    launches=by_day.get(current, []),
                    total=totals.get(current, 0),
                )
                for current in (day + timedelta(days=offset) for offset in range(7))
            ]
        )
        day += timedelta(days=7)
    return weeks
