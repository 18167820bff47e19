"""The launch calendar: month and ISO-week periods in the viewer's time zone (DST included),
navigation, what each launch shows, bad input, and one query for the period."""

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.calendar import MONTH_DAY_LIMIT, WEEK_DAY_LIMIT, Period
from campaigns.models import Campaign
from teams.roles import Actor
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URL = "/campaigns/calendar/"
MAX_QUERIES = 5  # session, user, 2 for the viewer's role (drafts), the launches


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def days_with(html: str, campaign: Campaign) -> list[str]:
    """The dates (YYYY-MM-DD) of the calendar cells or week days showing `campaign`."""
    found = []
    for cell in re.split(r'<(?:td|li) class="cal-(?:day|week-day)', html)[1:]:
        if f'id="launch-{campaign.pk}"' in cell:
            found.append(re.search(r'<time datetime="(\d{4}-\d{2}-\d{2})"', cell)[1])
    return found


@pytest.fixture
def logged_in(client, marketer):
    client.force_login(marketer)
    return client


def test_route():
    assert reverse("campaigns:calendar") == URL


def test_login_required(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


class TestPeriod:
    def test_month_grid_runs_monday_to_sunday(self):
        december = Period.month_of(date(2026, 12, 17))

        assert december.anchor == date(2026, 12, 1)
        assert december.first_day == date(2026, 11, 30)  # a Monday
        assert december.last_day == date(2027, 1, 3)  # a Sunday
        assert december.param == "2026-12"
        assert december.previous().param == "2026-11"
        assert december.following().param == "2027-01"

    def test_week_is_iso(self):
        week = Period.week_of(date(2027, 1, 1))  # a Friday in week 53 of 2026

        assert week.first_day == date(2026, 12, 28)
        assert week.last_day == date(2027, 1, 3)
        assert week.param == "2026-W53"
        assert week.following().param == "2027-W01"
        assert week.following().previous() == week

    def test_bounds_are_local_midnights_across_a_dst_change(self):
        timezone.activate(PARIS)
        try:
            start, end = Period.week_of(date(2026, 10, 25)).bounds()
        finally:
            timezone.deactivate()

        assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)  # Monday 00:00 CEST
        assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # next Monday 00:00 CET
        # Aware datetimes in one zone subtract as wall clock times: compare in UTC.
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)

    def test_switching_views(self):
        december = Period.month_of(date(2026, 12, 1))

        assert december.as_week(date(2026, 12, 17)).param == "2026-W51"  # today's week
        assert december.as_week(date(2027, 3, 1)).param == "2026-W49"  # the week of the 1st
        # A week belongs to the month of its Thursday.
        assert Period.week_of(date(2026, 11, 30)).as_month().param == "2026-12"
        assert Period.week_of(date(2026, 10, 26)).as_month().param == "2026-10"


class TestMonth:
    def test_default_is_this_month(self, client, marketer):
        with time_machine.travel(paris(2026, 12, 17, 12, 0), tick=False):
            client.force_login(marketer)  # in the travelled time, or the session has expired
            campaign = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 18, 9, 0))
            html = client.get(URL).content.decode()

        assert "December 2026" in html
        assert days_with(html, campaign) == ["2026-12-18"]
        assert re.search(r'class="cal-day[^"]* is-today"\s+aria-current="date"', html)

    def test_shows_the_launches_of_the_month_in_their_day(self, logged_in, marketer):
        early = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 3, 9, 0))
        late = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 31, 23, 59))
        next_month = CampaignFactory(owner=marketer, launch_at=paris(2027, 2, 1, 9, 0))
        CampaignFactory(owner=marketer, launch_at=None)

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        assert days_with(html, early) == ["2026-12-03"]
        assert days_with(html, late) == ["2026-12-31"]
        assert days_with(html, next_month) == []
        # The grid: whole weeks, Monday 30 November to Sunday 3 January.
        dates = re.findall(
            r'<td class="cal-day[^"]*"[^>]*>\s*<div class="cal-date">\s*<time datetime="([\d-]+)"',
            html,
        )
        assert dates[0] == "2026-11-30"
        assert dates[-1] == "2027-01-03"
        assert len(dates) == 35

    def test_days_from_the_next_month_are_marked_outside(self, logged_in, marketer):
        spill = CampaignFactory(owner=marketer, launch_at=paris(2027, 1, 2, 9, 0))

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        assert days_with(html, spill) == ["2027-01-02"]
        cell = html[: html.index(f'id="launch-{spill.pk}"')]
        assert "is-outside" in cell[cell.rindex("<td") :]

    def test_00_30_paris_on_the_first_is_on_the_first(self, logged_in, marketer):
        # 23:30 UTC on 30 November.
        campaign = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 1, 0, 30))

        december = logged_in.get(URL, {"month": "2026-12"}).content.decode()
        november = logged_in.get(URL, {"month": "2026-11"}).content.decode()

        assert days_with(december, campaign) == ["2026-12-01"]
        assert ">00:30</time>" in december
        # November's grid runs to Sunday 6 December: there too it is on the 1st, outside.
        assert days_with(november, campaign) == ["2026-12-01"]

    def test_a_viewer_in_utc_sees_it_on_the_30th(self, client, marketer):
        campaign = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 1, 0, 30))
        marketer.time_zone = "UTC"
        marketer.save()
        client.force_login(marketer)

        html = client.get(URL, {"month": "2026-11"}).content.decode()

        assert days_with(html, campaign) == ["2026-11-30"]
        assert ">23:30</time>" in html

    def test_month_boundaries_across_the_october_dst_change(self, logged_in, marketer):
        # October 2026's grid: Monday 28 September 00:00 CEST to Monday 2 November 00:00 CET.
        first = CampaignFactory(owner=marketer, launch_at=paris(2026, 9, 28, 0, 10))
        before = CampaignFactory(owner=marketer, launch_at=paris(2026, 9, 27, 23, 50))
        last = CampaignFactory(owner=marketer, launch_at=paris(2026, 11, 1, 23, 50))
        after = CampaignFactory(owner=marketer, launch_at=paris(2026, 11, 2, 0, 10))

        html = logged_in.get(URL, {"month": "2026-10"}).content.decode()

        assert days_with(html, first) == ["2026-09-28"]
        assert days_with(html, last) == ["2026-11-01"]
        assert days_with(html, before) == []
        assert days_with(html, after) == []

    def test_a_busy_day_shows_a_few_then_links_to_the_list(self, logged_in, marketer):
        for hour in range(MONTH_DAY_LIMIT + 3):
            CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 8, 8 + hour, 0))

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        assert html.count('class="cal-launch ') == MONTH_DAY_LIMIT
        assert "+3 more" in html
        assert (
            'href="/campaigns/?launch_from=2026-12-08&amp;launch_to=2026-12-08&amp;sort=launch"'
            in html
        )

    def test_a_day_with_hundreds_of_launches_sends_only_what_is_shown(self, logged_in, marketer):
        launch = paris(2026, 12, 9, 8, 0)
        Campaign.objects.bulk_create(
            Campaign(
                title=f"Vague {i}",
                channel=Campaign.Channel.EMAIL,
                owner=marketer,
                launch_at=launch + timedelta(minutes=i),
            )
            for i in range(200)
        )
        with CaptureQueriesContext(connection) as queries:
            month = logged_in.get(URL, {"month": "2026-12"}).content.decode()
        # Read before the next request, which empties the connection's query log.
        launches = [q for q in queries.captured_queries if "campaigns_campaign" in q["sql"]]
        week = logged_in.get(URL, {"week": "2026-W50"}).content.decode()

        assert month.count('class="cal-launch ') == MONTH_DAY_LIMIT
        assert f"+{200 - MONTH_DAY_LIMIT} more" in month
        assert week.count('class="cal-launch ') == WEEK_DAY_LIMIT
        assert f"+{200 - WEEK_DAY_LIMIT} more" in week
        # one query: the database numbered the day's launches and sent the first few
        assert len(launches) == 1
        rows = selectors.campaign_launches(
            viewer=Actor.of(marketer),
            start=launch - timedelta(hours=8),
            end=launch + timedelta(hours=16),
            per_day=MONTH_DAY_LIMIT,
            tz=PARIS,
        )
        assert [c.title for c in rows] == [f"Vague {i}" for i in range(MONTH_DAY_LIMIT)]
        assert {c.day_total for c in rows} == {200}

    def test_empty_month_says_so(self, logged_in):
        html = logged_in.get(URL, {"month": "2031-05"}).content.decode()

        assert "No launch this month." in html

    def test_accessible_table(self, logged_in):
        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        assert '<table class="cal-month" aria-labelledby="cal-title">' in html
        assert html.count('<th scope="col">') == 7
        assert '<abbr title="Monday">Mon</abbr>' in html
        assert '<span class="cal-full-date">Tuesday 1 December</span>' in html


class TestWeek:
    def test_seven_days_monday_first(self, logged_in, marketer):
        campaign = CampaignFactory(owner=marketer, launch_at=paris(2026, 11, 26, 14, 0))

        html = logged_in.get(URL, {"week": "2026-W48"}).content.decode()

        assert "Week 48, 2026" in html
        headings = re.findall(r'<h3 class="cal-week-heading"><time datetime="([\d-]+)"', html)
        assert headings == [f"2026-11-{day}" for day in range(23, 30)]
        assert days_with(html, campaign) == ["2026-11-26"]
        assert html.count("No launch<") == 6

    def test_week_across_the_dst_change(self, logged_in, marketer):
        # Week 43: Monday 19 October 00:00 CEST to Monday 26 October 00:00 CET (25 h Sunday).
        monday = CampaignFactory(owner=marketer, launch_at=paris(2026, 10, 19, 0, 10))
        sunday_night = CampaignFactory(owner=marketer, launch_at=paris(2026, 10, 25, 23, 30))
        # 00:15 CET on the 26th is 23:15 UTC on the 25th: next week, not this one.
        next_monday = CampaignFactory(owner=marketer, launch_at=paris(2026, 10, 26, 0, 15))
        previous_sunday = CampaignFactory(owner=marketer, launch_at=paris(2026, 10, 18, 23, 50))

        week_43 = logged_in.get(URL, {"week": "2026-W43"}).content.decode()
        week_44 = logged_in.get(URL, {"week": "2026-W44"}).content.decode()

        assert days_with(week_43, monday) == ["2026-10-19"]
        assert days_with(week_43, sunday_night) == ["2026-10-25"]
        assert days_with(week_43, next_monday) == []
        assert days_with(week_43, previous_sunday) == []
        assert days_with(week_44, next_monday) == ["2026-10-26"]
        assert ">23:30</time>" in week_43

    def test_week_53(self, logged_in, marketer):
        new_year = CampaignFactory(owner=marketer, launch_at=paris(2027, 1, 1, 10, 0))

        html = logged_in.get(URL, {"week": "2026-W53"}).content.decode()

        assert days_with(html, new_year) == ["2027-01-01"]
        assert 'href="?week=2027-W01"' in html
        assert 'href="?week=2026-W52"' in html


class TestNavigation:
    def test_month_links(self, client, marketer):
        with time_machine.travel(paris(2026, 12, 17, 12, 0), tick=False):
            client.force_login(marketer)
            html = client.get(URL, {"month": "2027-01"}).content.decode()

        assert re.search(r'href="\?month=2026-12"[^>]*rel="prev"', html)
        assert re.search(r'href="\?month=2027-02"[^>]*rel="next"', html)
        assert 'href="?month=2026-12" role="button" class="secondary outline small">Today' in html
        assert 'href="?week=2026-W53"' in html  # week view of the 1st
        assert re.search(r'href="\?month=2027-01" aria-current="page">Month', html)

    def test_week_links(self, client, marketer):
        with time_machine.travel(paris(2026, 12, 17, 12, 0), tick=False):
            client.force_login(marketer)
            html = client.get(URL, {"week": "2027-W01"}).content.decode()

        assert re.search(r'href="\?week=2026-W53"[^>]*rel="prev"', html)
        assert re.search(r'href="\?week=2027-W02"[^>]*rel="next"', html)
        assert 'href="?week=2026-W51" role="button" class="secondary outline small">Today' in html
        assert 'href="?month=2027-01"' in html

    def test_no_link_past_the_supported_years(self, logged_in):
        html = logged_in.get(URL, {"month": "2999-12"}).content.decode()

        assert 'rel="next"' not in html
        assert 'href="?month=2999-11"' in html

    def test_linked_from_the_nav(self, logged_in):
        html = logged_in.get(URL).content.decode()

        assert re.search(r'<a href="/campaigns/calendar/" aria-current="page">Calendar</a>', html)
        assert 'href="/campaigns/"' in html  # back to the list


class TestLaunches:
    def test_links_to_the_campaign_with_time_and_channel_label(self, logged_in, marketer):
        campaign = CampaignFactory(
            owner=marketer,
            title="Relance SMS",
            channel=Campaign.Channel.SMS,
            launch_at=paris(2026, 12, 8, 9, 5),
        )

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        item = html[html.index(f'id="launch-{campaign.pk}"') :]
        item = item[: item.index("</a>")]
        assert f'href="/campaigns/{campaign.pk}/"' in html
        assert "cal-launch channel-sms" in html
        assert "09:05</time> · SMS" in item  # the label, not only the colour
        assert "Relance SMS" in item

    def test_cancelled_is_struck_through_and_said(self, logged_in, marketer):
        campaign = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 8, 9, 0))
        services.campaign_cancel(actor=marketer, campaign_id=campaign.pk)

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        item = html[html.index(f'id="launch-{campaign.pk}"') - 200 :]
        item = item[: item.index("</a>")]
        assert "is-cancelled" in item
        assert f"<s>{campaign.title}</s>" in item
        assert '<span class="sr-only">Cancelled: </span>' in item

    def test_a_draft_is_marked_as_one_and_an_announced_launch_is_not(self, logged_in, marketer):
        draft = CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 8, 9, 0))
        announced = CampaignFactory(
            owner=marketer, launch_at=paris(2026, 12, 9, 9, 0), status=Campaign.Status.ANNOUNCED
        )

        html = logged_in.get(URL, {"month": "2026-12"}).content.decode()

        def item(campaign):
            found = html[html.index(f'id="launch-{campaign.pk}"') - 200 :]
            return found[: found.index("</a>")]

        assert "is-draft" in item(draft)
        assert "· Draft</span>" in item(draft)  # said in words, not only drawn
        assert "is-draft" not in item(announced)
        assert "Draft" not in item(announced)


class TestBadInput:
    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"month": "2026-13"}, "“2026-13” is not a month"),
            ({"month": "december"}, "“december” is not a month"),
            ({"month": "1899-12"}, "“1899-12” is not a month"),
            ({"month": "12345-01"}, "“12345-01” is not a month"),
            ({"month": "x" * 500}, "“xxxxxxxxxxxxxxxxxxx…” is not a month"),
            ({"week": "2026-W54"}, "“2026-W54” is not a week"),
            ({"week": "2027-W53"}, "“2027-W53” is not a week"),  # 2027 has 52 weeks
            ({"week": "2026-W00"}, "“2026-W00” is not a week"),
            ({"week": "3000-W01"}, "“3000-W01” is not a week"),
            ({"week": "2026W48"}, "“2026W48” is not a week"),
        ],
    )
    def test_a_message_and_this_month(self, client, marketer, params, message):
        with time_machine.travel(paris(2026, 12, 17, 12, 0), tick=False):
            client.force_login(marketer)
            response = client.get(URL, params)

        html = response.content.decode()
        assert response.status_code == 200
        assert message in html
        assert "Showing this month instead." in html
        assert "December 2026" in html

    def test_week_wins_over_month(self, logged_in):
        html = logged_in.get(URL, {"week": "2026-W48", "month": "2026-02"}).content.decode()

        assert "Week 48, 2026" in html


class TestQueryCount:
    @pytest.mark.parametrize("params", [{"month": "2026-12"}, {"week": "2026-W50"}])
    def test_one_query_for_the_period(
        self, logged_in, marketer, params, django_assert_max_num_queries
    ):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert logged_in.get(URL, params).status_code == 200
            return len(queries)

        for day in range(5):
            CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 7 + day, 9, 0))
        with django_assert_max_num_queries(MAX_QUERIES):
            few = count()
        for index in range(35):
            CampaignFactory(owner=marketer, launch_at=paris(2026, 12, 7 + index % 7, 10, index))
        with django_assert_max_num_queries(MAX_QUERIES):
            many = count()

        assert many == few
