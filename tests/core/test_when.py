"""Every date and time format Passerelle writes, in English and in French: day before
month and a 24-hour clock in both, so 4 December is never read as 12 April."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from core import when

PARIS = ZoneInfo("Europe/Paris")
# 15:00 in Paris on Friday 4 December 2026; a 12 that could be a month nowhere.
MOMENT = datetime(2026, 12, 4, 14, 0, 7, tzinfo=UTC)
NOW = MOMENT - timedelta(days=3)

EXPECTED = {
    "en": {
        "date_short": "4 Dec 2026",
        "datetime_short": "4 Dec 2026, 15:00",
        "datetime_seconds": "4 Dec 2026, 15:00:07",
        "time_short": "15:00",
        "day_long": "Friday 4 December",
    },
    "fr": {
        "date_short": "4 déc. 2026",
        "datetime_short": "4 déc. 2026 à 15:00",
        "datetime_seconds": "4 déc. 2026 à 15:00:07",
        "time_short": "15:00",
        "day_long": "vendredi 4 décembre",
    },
}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("name", list(EXPECTED["en"]))
def test_each_format_in_python_and_in_templates(language, name):
    expected = EXPECTED[language][name]
    with translation.override(language), timezone.override(PARIS):
        assert getattr(when, name)(MOMENT) == expected
        rendered = Template("{% load when %}{{ value|" + name + " }}").render(
            Context({"value": MOMENT})
        )
        assert rendered == expected
        # Django's own names give the same, so a stray |date:"DATETIME_FORMAT" agrees too.
        if name == "datetime_short":
            assert (
                Template('{{ value|date:"DATETIME_FORMAT" }}').render(Context({"value": MOMENT}))
                == expected
            )
            assert (
                Template('{{ value|date:"SHORT_DATETIME_FORMAT" }}').render(
                    Context({"value": MOMENT})
                )
                == expected
            )


def test_no_english_format_is_american():
    with translation.override("en"), timezone.override(PARIS):
        for text in (
            when.datetime_short(MOMENT),
            when.time_short(MOMENT),
            Template("{{ value }}").render(Context({"value": MOMENT})),
            Template('{{ value|time:"TIME_FORMAT" }}').render(Context({"value": MOMENT})),
        ):
            assert "12/04" not in text
            assert "p.m." not in text
            assert "a.m." not in text


def test_a_plain_date_is_shown_as_it_is():
    with translation.override("en"):
        assert when.date_short(date(2027, 1, 2)) == "2 Jan 2027"
        assert when.iso(date(2027, 1, 2)) == "2027-01-02"


def test_the_time_zone_given_wins_over_the_current_one():
    with translation.override("en"), timezone.override(PARIS):
        assert when.datetime_short(MOMENT, tz=ZoneInfo("America/New_York")) == ("4 Dec 2026, 09:00")
        assert when.iso(MOMENT) == "2026-12-04T15:00:07+01:00"


@pytest.mark.parametrize(
    ("offset", "late", "en", "fr"),
    [
        (timedelta(days=3), False, "in 3 days", "dans 3 jours"),
        (timedelta(days=1), False, "in 24 h", "dans 24 h"),
        (timedelta(hours=5, minutes=10), False, "in 5 h", "dans 5 h"),
        (timedelta(minutes=20), False, "in 20 min", "dans 20 min"),
        (timedelta(seconds=20), False, "now", "maintenant"),
        (-timedelta(hours=2), True, "2 h late", "2 h de retard"),
        (-timedelta(days=1, hours=2), True, "26 h late", "26 h de retard"),
        (-timedelta(days=4), True, "4 days late", "4 jours de retard"),
        (-timedelta(days=1), False, "24 h ago", "il y a 24 h"),
        (-timedelta(days=3), False, "3 days ago", "il y a 3 jours"),
    ],
)
def test_relative_phrases(offset, late, en, fr):
    with translation.override("en"):
        assert when.relative(NOW + offset, now=NOW, late=late) == en
    with translation.override("fr"):
        assert when.relative(NOW + offset, now=NOW, late=late) == fr


@pytest.mark.parametrize(
    ("language", "due", "expected"),
    [
        ("en", NOW + timedelta(days=3), "4 Dec 2026, 15:00 (in 3 days)"),
        ("en", NOW - timedelta(hours=2), "1 Dec 2026, 13:00 (2 h late)"),
        ("fr", NOW + timedelta(days=3), "4 déc. 2026 à 15:00 (dans 3 jours)"),
        ("fr", NOW - timedelta(hours=2), "1 déc. 2026 à 13:00 (2 h de retard)"),
    ],
)
def test_a_deadline_reads_absolute_then_relative(language, due, expected):
    with translation.override(language), timezone.override(PARIS):
        assert when.deadline_text(due.replace(second=0), now=NOW) == expected


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_deadline_filter_is_a_time_element_with_both(language, time_machine):
    time_machine.move_to(NOW, tick=False)
    with translation.override(language), timezone.override(PARIS):
        html = Template("{% load when %}{{ value|deadline }}").render(Context({"value": MOMENT}))
    absolute = EXPECTED[language]["datetime_short"]
    relative = {"en": "in 3 days", "fr": "dans 3 jours"}[language]
    assert html == (
        f'<time datetime="2026-12-04T15:00:07+01:00">{absolute}</time> '
        f'<span class="when-relative">({relative})</span>'
    )


def test_an_empty_value_renders_nothing():
    rendered = Template(
        "{% load when %}[{{ v|date_short }}{{ v|datetime_short }}{{ v|time_short }}"
        "{{ v|deadline }}{{ v|iso }}]"
    ).render(Context({"v": None}))
    assert rendered == "[]"
