"""Working-time arithmetic: add working hours to an instant, measure the working time
between two instants. Pure (no Django, no database): a team's calendar comes in as a
`WorkingCalendar`, instants are aware datetimes.

A calendar is a time zone, the working days of the week, one daily span (09:00-18:00 by
default; an end of 00:00 means midnight at the end of the day, so 00:00-00:00 is the whole
day) and the public holidays of a country (the `holidays` package). Working time is
elapsed time: a span that crosses a daylight-saving change counts the hours that really
pass, and each day's span is placed in the calendar's time zone, so 09:00 stays 09:00 in
Paris on either side of the last Sunday of March or October.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

MIDNIGHT = time(0)
ISO_WEEKDAYS = range(1, 8)  # Monday is 1, as date.isoweekday() counts
DEFAULT_WEEKDAYS = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class WorkingCalendar:
    time_zone: str = "Europe/Paris"
    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    starts: time = time(9)
    ends: time = time(18)
    holiday_country: str = "FR"  # "" for no public holidays
    holiday_subdivision: str = ""
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked here as well as in the team form: with no working day, adding hours
        # would never end.
        if not self.weekdays or not set(self.weekdays) <= set(ISO_WEEKDAYS):
            raise ValueError(f"working days must be a non-empty subset of 1-7: {self.weekdays}")
        if self.ends != MIDNIGHT and self.ends <= self.starts:
            raise ValueError(f"the working day ends before it starts: {self.starts}-{self.ends}")
        try:
            zone = ZoneInfo(self.time_zone)
        except (ValueError, ZoneInfoNotFoundError) as error:
            raise ValueError(f"unknown time zone: {self.time_zone!r}") from error
        object.__setattr__(self, "zone", zone)
        if self.holiday_country:
            # Fails now, with the country's name in the error, rather than on first use.
            try:
                public_holidays(self.holiday_country, self.holiday_subdivision, 2000)
            except NotImplementedError as error:
                raise ValueError(str(error)) from error


ROUND_THE_CLOCK = WorkingCalendar(
    weekdays=frozenset(ISO_WEEKDAYS), starts=MIDNIGHT, ends=MIDNIGHT, holiday_country=""
)


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """The public holidays of one year (cached: the package computes them each time)."""
    return frozenset(
        holidays.country_holidays(country, subdiv=subdivision or None, years=year).keys()
    )


def is_working_day(calendar: WorkingCalendar, day: date) -> bool:
    if day.isoweekday() not in calendar.weekdays:
        return False
    if not calendar.holiday_country:
        return True
    return day not in public_holidays(
        calendar.holiday_country, calendar.holiday_subdivision, day.year
    )


def _span(calendar: WorkingCalendar, day: date) -> tuple[datetime, datetime]:
    """The day's working span, in UTC."""
    start = datetime.combine(day, calendar.starts, tzinfo=calendar.zone)
    end_day = day + timedelta(days=1) if calendar.ends == MIDNIGHT else day
    end = datetime.combine(end_day, calendar.ends, tzinfo=calendar.zone)
    return start.astimezone(UTC), end.astimezone(UTC)


Span = tuple[datetime, datetime]


def _spans_from(calendar: WorkingCalendar, instant: datetime) -> Iterator[Span]:
    """Working spans in order, from the day of `instant` (in the calendar's zone) on."""
    day = instant.astimezone(calendar.zone).date()
    while True:
        if is_working_day(calendar, day):
            yield _span(calendar, day)
        day += timedelta(days=1)


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"working time needs an aware datetime: {instant!r}")


def add_working_time(start: datetime, amount: timedelta, calendar: WorkingCalendar) -> datetime:
    """The first instant at which `amount` of working time has passed since `start`.

    Started outside working time, the clock starts at the next working span. A span's end
    is a valid answer (Friday 17:00 plus one hour is Friday 18:00, not Monday 09:00). A
    zero or negative amount returns `start` unchanged. The answer is in `start`'s zone.
    """
    _require_aware(start)
    if amount <= timedelta(0):
        return start
    # In UTC: arithmetic within one zone is wall-clock arithmetic, blind to DST changes.
    utc_start = start.astimezone(UTC)
    remaining = amount
    for span_start, span_end in _spans_from(calendar, utc_start):
        if span_end <= utc_start:
            continue
        begin = max(span_start, utc_start)
        available = span_end - begin
        if remaining <= available:
            return (begin + remaining).astimezone(start.tzinfo)
        remaining -= available
    raise AssertionError("unreachable: a calendar always has another working day")


def add_working_hours(start: datetime, hours: float, calendar: WorkingCalendar) -> datetime:
    return add_working_time(start, timedelta(hours=hours), calendar)


def working_time_between(start: datetime, end: datetime, calendar: WorkingCalendar) -> timedelta:
    """The working time from `start` to `end`; negative when `end` comes first."""
    _require_aware(start, end)
    if end < start:
        return -working_time_between(end, start, calendar)
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # see add_working_time
    total = timedelta(0)
    for span_start, span_end in _spans_from(calendar, start):
        if span_start >= end:
            break
        overlap = min(span_end, end) - max(span_start, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def is_working_time(instant: datetime, calendar: WorkingCalendar) -> bool:
    """Whether `instant` falls inside a working span (its start included, its end not)."""
    _require_aware(instant)
    local_day = instant.astimezone(calendar.zone).date()
    # A span belongs to the day it starts; with an end at midnight the previous day's span
    # does not reach into this one, so checking the instant's own day is enough.
    if not is_working_day(calendar, local_day):
        return False
    span_start, span_end = _span(calendar, local_day)
    return span_start <= instant < span_end


def next_working_day_start(instant: datetime, calendar: WorkingCalendar) -> datetime:
    """When the next working day begins, after the day of `instant` (in the calendar's
    zone): "tomorrow 9:00" for a Tuesday, Monday 9:00 for a Friday or a Saturday, local
    time on either side of a DST change. The answer is in `instant`'s zone."""
    _require_aware(instant)
    today = instant.astimezone(calendar.zone).date()
    for span_start, _span_end in _spans_from(calendar, instant):
        if span_start.astimezone(calendar.zone).date() > today:
            return span_start.astimezone(instant.tzinfo)
    raise AssertionError("unreachable: a calendar always has another working day")


def a_working_day_before(instant: datetime, calendar: WorkingCalendar) -> datetime:
    """The same local time on the previous working day: a question asked on Friday
    afternoon is "older than a working day" on Monday afternoon, or on Tuesday after a
    holiday Monday. The answer is in `instant`'s zone."""
    _require_aware(instant)
    local = instant.astimezone(calendar.zone)
    day = local.date() - timedelta(days=1)
    while not is_working_day(calendar, day):
        day -= timedelta(days=1)
    return datetime.combine(
        day, local.timetz().replace(tzinfo=None), tzinfo=calendar.zone
    ).astimezone(instant.tzinfo)
