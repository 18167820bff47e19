"""Working-time arithmetic (core.working_time): weekends, French public holidays and the
daylight-saving changes of Europe/Paris. Pure functions: no database."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.working_time import (
    ROUND_THE_CLOCK,
    WorkingCalendar,
    a_working_day_before,
    add_working_hours,
    add_working_time,
    is_working_time,
    working_time_between,
)

PARIS = ZoneInfo("Europe/Paris")
FRANCE = WorkingCalendar()  # Monday-Friday 09:00-18:00, Europe/Paris, French holidays


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # Inside one day.
        (paris(2026, 12, 1, 10), 4, paris(2026, 12, 1, 14)),
        # The end of the day is a valid answer, not the next morning.
        (paris(2026, 12, 4, 17), 1, paris(2026, 12, 4, 18)),
        # Friday evening: the weekend does not count.
        (paris(2026, 12, 4, 17), 4, paris(2026, 12, 7, 12)),
        (paris(2026, 12, 4, 19, 30), 2, paris(2026, 12, 7, 11)),
        # Started on a Saturday or before opening: the clock starts at the next opening.
        (paris(2026, 12, 5, 10), 1, paris(2026, 12, 7, 10)),
        (paris(2026, 12, 7, 7), 1, paris(2026, 12, 7, 10)),
        # A full working day is nine hours.
        (paris(2026, 12, 1, 9), 9, paris(2026, 12, 1, 18)),
        (paris(2026, 12, 1, 9), 48, paris(2026, 12, 8, 12)),
        # 14 July 2026 is a Tuesday.
        (paris(2026, 7, 13, 17), 4, paris(2026, 7, 15, 12)),
        # Easter Monday 2026 is 6 April: Friday 3 April evening lands on Tuesday.
        (paris(2026, 4, 3, 17), 4, paris(2026, 4, 7, 12)),
        # Christmas 2026 is a Friday: Thursday evening lands on Monday 28.
        (paris(2026, 12, 24, 17), 4, paris(2026, 12, 28, 12)),
        # 1 January 2027 (Friday) in the next year's holidays.
        (paris(2026, 12, 31, 17), 2, paris(2027, 1, 4, 10)),
        # Spring forward (Sunday 29 March 2026): 09:00 is still 09:00 on Monday.
        (paris(2026, 3, 27, 17), 4, paris(2026, 3, 30, 12)),
        # Fall back (Sunday 25 October 2026).
        (paris(2026, 10, 23, 17), 4, paris(2026, 10, 26, 12)),
    ],
)
def test_add_working_hours_in_france(start: datetime, hours: int, due: datetime) -> None:
    assert add_working_hours(start, hours, FRANCE) == due
    # And the way back: exactly that much working time lies between them.
    assert working_time_between(start, due, FRANCE) == timedelta(hours=hours)


def test_daylight_saving_changes_count_the_hours_that_really_pass() -> None:
    # Friday 17:00 CET to Monday 12:00 CEST: 66 hours on the clock, four of them working.
    start, due = paris(2026, 3, 27, 17), paris(2026, 3, 30, 12)
    # (Subtracting in one zone compares wall clocks: UTC shows the hours that pass.)
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=66)
    assert due.utcoffset() == timedelta(hours=2)
    assert start.utcoffset() == timedelta(hours=1)
    # Round the clock, the spring Sunday has 23 hours and the autumn one 25.
    assert working_time_between(
        paris(2026, 3, 29, 0), paris(2026, 3, 30, 0), ROUND_THE_CLOCK
    ) == timedelta(hours=23)
    assert working_time_between(
        paris(2026, 10, 25, 0), paris(2026, 10, 26, 0), ROUND_THE_CLOCK
    ) == timedelta(hours=25)
    # 24 working hours from Saturday noon, round the clock, is Sunday 13:00 (summer time).
    assert add_working_hours(paris(2026, 3, 28, 12), 24, ROUND_THE_CLOCK) == paris(2026, 3, 29, 13)
    # Within one span too: 01:00 CET plus two hours is 04:00 CEST, and back.
    assert add_working_hours(paris(2026, 3, 29, 1), 2, ROUND_THE_CLOCK) == paris(2026, 3, 29, 4)
    assert working_time_between(
        paris(2026, 3, 29, 1), paris(2026, 3, 29, 4), ROUND_THE_CLOCK
    ) == timedelta(hours=2)
    # A night team (00:00-06:00 every day) gets seven hours on the autumn Sunday.
    night = WorkingCalendar(
        weekdays=frozenset(range(1, 8)), starts=time(0), ends=time(6), holiday_country=""
    )
    assert working_time_between(
        paris(2026, 10, 25, 0), paris(2026, 10, 25, 12), night
    ) == timedelta(hours=7)


def test_holidays_follow_the_subdivision() -> None:
    # Good Friday (3 April 2026) is a holiday in Alsace-Moselle only.
    moselle = WorkingCalendar(holiday_subdivision="57")
    assert add_working_hours(paris(2026, 4, 2, 17), 4, FRANCE) == paris(2026, 4, 3, 12)
    assert add_working_hours(paris(2026, 4, 2, 17), 4, moselle) == paris(2026, 4, 7, 12)
    # No holiday country: 14 July is a day like another.
    no_holidays = WorkingCalendar(holiday_country="")
    assert add_working_hours(paris(2026, 7, 13, 17), 4, no_holidays) == paris(2026, 7, 14, 12)


def test_custom_days_hours_and_time_zone() -> None:
    # A Sunday-to-Thursday team in Dubai, 08:00-16:00.
    dubai = WorkingCalendar(
        time_zone="Asia/Dubai",
        weekdays=frozenset({7, 1, 2, 3, 4}),
        starts=time(8),
        ends=time(16),
        holiday_country="",
    )
    thursday_evening = datetime(2026, 12, 3, 15, tzinfo=ZoneInfo("Asia/Dubai"))
    assert add_working_hours(thursday_evening, 3, dubai) == datetime(
        2026, 12, 6, 10, tzinfo=ZoneInfo("Asia/Dubai")
    )
    # The answer keeps the zone it was asked in.
    utc_start = thursday_evening.astimezone(UTC)
    assert add_working_hours(utc_start, 3, dubai).tzinfo is UTC


def test_working_time_between() -> None:
    friday, monday = paris(2026, 12, 4, 16), paris(2026, 12, 7, 11)
    assert working_time_between(friday, monday, FRANCE) == timedelta(hours=4)
    # Negative when the end comes first: "2 working hours late".
    assert working_time_between(monday, friday, FRANCE) == -timedelta(hours=4)
    # Entirely outside working time.
    assert working_time_between(paris(2026, 12, 5, 9), paris(2026, 12, 6, 20), FRANCE) == (
        timedelta(0)
    )
    # Minutes count.
    assert working_time_between(paris(2026, 12, 7, 8), paris(2026, 12, 7, 9, 25), FRANCE) == (
        timedelta(minutes=25)
    )


def test_zero_or_negative_amounts_return_the_start() -> None:
    saturday = paris(2026, 12, 5, 10)
    assert add_working_hours(saturday, 0, FRANCE) == saturday
    assert add_working_time(saturday, -timedelta(hours=1), FRANCE) == saturday


def test_is_working_time() -> None:
    assert is_working_time(paris(2026, 12, 4, 9), FRANCE)  # opening included
    assert is_working_time(paris(2026, 12, 4, 17, 59), FRANCE)
    assert not is_working_time(paris(2026, 12, 4, 18), FRANCE)  # closing excluded
    assert not is_working_time(paris(2026, 12, 5, 11), FRANCE)  # Saturday
    assert not is_working_time(paris(2026, 12, 25, 11), FRANCE)  # Christmas
    assert not is_working_time(paris(2026, 7, 14, 11), FRANCE)  # Bastille Day
    assert not is_working_time(paris(2026, 4, 6, 11), FRANCE)  # Easter Monday
    # The same instant in UTC: 08:30 UTC is 09:30 in Paris in winter.
    assert is_working_time(datetime(2026, 12, 4, 8, 30, tzinfo=UTC), FRANCE)
    assert is_working_time(paris(2026, 12, 5, 23, 59), ROUND_THE_CLOCK)


def test_a_long_deadline_ends() -> None:
    # The largest deadline a team may set (a year of hours) with a one-hour week.
    sparse = WorkingCalendar(weekdays=frozenset({3}), starts=time(9), ends=time(10))
    due = add_working_hours(paris(2026, 12, 1, 9), 24 * 366, sparse)
    assert due.year > 2150
    assert is_working_time(due - timedelta(minutes=1), sparse)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weekdays": frozenset()},
        {"weekdays": frozenset({0, 1})},
        {"weekdays": frozenset({8})},
        {"starts": time(18), "ends": time(9)},
        {"starts": time(9), "ends": time(9)},
        {"time_zone": "Mars/Olympus_Mons"},
        {"time_zone": "../etc/passwd"},
        {"holiday_country": "XX"},
        {"holiday_subdivision": "99"},
    ],
)
def test_a_calendar_that_cannot_work_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each message names the bad value
        WorkingCalendar(**kwargs)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_working_hours(datetime(2026, 12, 4, 17), 4, FRANCE)
    with pytest.raises(ValueError, match="aware"):
        working_time_between(paris(2026, 12, 4, 17), datetime(2026, 12, 7, 9), FRANCE)


@pytest.mark.parametrize(
    ("now", "day_before"),
    [
        (paris(2026, 12, 2, 15, 0), paris(2026, 12, 1, 15, 0)),  # Wednesday → Tuesday
        (paris(2026, 12, 7, 15, 0), paris(2026, 12, 4, 15, 0)),  # Monday → Friday
        (paris(2027, 3, 30, 9, 30), paris(2027, 3, 26, 9, 30)),  # after Easter Monday, DST
        (paris(2026, 12, 6, 11, 0), paris(2026, 12, 4, 11, 0)),  # a Sunday → Friday
    ],
    ids=["midweek", "monday", "after-easter-monday", "sunday"],
)
def test_a_working_day_before_skips_weekends_and_holidays(now, day_before):
    assert a_working_day_before(now, WorkingCalendar()) == day_before
