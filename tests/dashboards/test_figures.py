"""Dashboard figures against the hand-computed world in tests/dashboards/world.py.

Run on SQLite (the Python percentile fallback) and on PostgreSQL (percentile_cont)."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import services
from dashboards import selectors
from dashboards.selectors import DashboardFilters, Period, Scope, percentile, period_resolve
from tests.dashboards.world import HOUR, NOW, T0, build_world
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    announced_campaign,
    campaign_input,
    make_manager,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
EVERYTHING = Scope(team_ids=None)
pytestmark = pytest.mark.django_db


@pytest.fixture
def traveller():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(traveller):
    return build_world(traveller)


def four_weeks() -> DashboardFilters:
    return DashboardFilters(period=period_resolve(key="4w", today=NOW.date(), tz=PARIS))


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 10.0, 30.0], 0.9) == pytest.approx(22.0)


def test_headline_figures(world):
    headline = selectors.dashboard_headline(scope=EVERYTHING, filters=four_weeks(), now=NOW)

    assert headline.announced == 4
    assert headline.launched == 4
    # c1 and c3 (bravo acknowledged version 2 before launch); c2's every-member team
    # finished after launch, c4's team never acknowledged.
    assert headline.fully_acknowledged_before_launch == 2
    assert headline.fully_acknowledged_share == 0.5
    # durations 1, 2, 3, 10, 30 hours: odd count
    assert headline.median_seconds == pytest.approx(3 * HOUR)
    assert headline.p90_seconds == pytest.approx(22 * HOUR)
    assert headline.launched_with_uninformed == 1
    assert headline.overdue_now == 1
    assert headline.overrides == 0


def test_headline_given_the_team_rows_counts_overdue_the_same_in_one_query_less(world):
    filters = four_weeks()
    teams = selectors.dashboard_teams(scope=EVERYTHING, filters=filters, now=NOW)
    with CaptureQueriesContext(connection) as alone:
        on_its_own = selectors.dashboard_headline(scope=EVERYTHING, filters=filters, now=NOW)
    with CaptureQueriesContext(connection) as shared:
        with_teams = selectors.dashboard_headline(
            scope=EVERYTHING, filters=filters, now=NOW, teams=teams
        )
    assert with_teams == on_its_own
    assert with_teams.overdue_now == 1
    assert len(shared) == len(alone) - 1


def test_percentiles_with_an_even_number_of_values(world):
    filters = DashboardFilters(period=four_weeks().period, team_id=world.alpha.pk)
    headline = selectors.dashboard_headline(scope=EVERYTHING, filters=filters, now=NOW)

    assert headline.announced == 2
    assert headline.median_seconds == pytest.approx(1.5 * HOUR)  # 1 h and 2 h
    assert headline.p90_seconds == pytest.approx(1.9 * HOUR)


def test_version_reset_counts_as_uninformed_until_acknowledged_again(traveller):
    team_campaign = announced_campaign(launch_at=T0 + timedelta(hours=12))
    team = team_campaign.stakeholders.get().team
    member = team.memberships.create(user=make_manager()).user
    traveller.move_to(T0 + timedelta(hours=1))
    services.campaign_acknowledge(actor=member, campaign_id=team_campaign.pk)
    traveller.move_to(T0 + timedelta(hours=2))
    services.campaign_update(
        actor=team_campaign.owner,
        campaign_id=team_campaign.pk,
        data=campaign_input(team_campaign, audience="Tous les clients"),
    )
    traveller.move_to(T0 + timedelta(days=1))
    headline = selectors.dashboard_headline(scope=EVERYTHING, filters=four_weeks(), now=NOW)

    assert headline.launched_with_uninformed == 1
    assert headline.fully_acknowledged_before_launch == 0
    assert headline.median_seconds is None  # the version 1 acknowledgement no longer counts
    assert headline.overdue_now == 1


def test_per_team_figures(world):
    teams = {
        t.name: t
        for t in selectors.dashboard_teams(scope=EVERYTHING, filters=four_weeks(), now=NOW)
    }

    assert list(teams) == ["Alpha", "Bravo", "Charlie", "Delta"]
    alpha, bravo, charlie, delta = teams.values()
    assert (alpha.due, alpha.on_time, alpha.overdue) == (2, 2, 0)
    assert alpha.median_seconds == pytest.approx(1.5 * HOUR)
    assert (bravo.due, bravo.on_time, bravo.overdue) == (2, 2, 0)
    assert bravo.median_seconds == pytest.approx(6.5 * HOUR)
    # every-member team: acknowledged when its second member did, after the due date
    assert (charlie.due, charlie.on_time, charlie.overdue) == (1, 0, 0)
    assert charlie.median_seconds == pytest.approx(30 * HOUR)
    assert (delta.due, delta.on_time, delta.overdue) == (1, 0, 1)
    assert delta.median_seconds is None
    assert delta.on_time_rate == 0


def test_a_lead_sees_only_their_teams(world):
    scope = selectors.dashboard_scope(user=world.alpha_lead)
    assert scope == Scope(team_ids=frozenset({world.alpha.pk}))

    headline = selectors.dashboard_headline(scope=scope, filters=four_weeks(), now=NOW)
    teams = selectors.dashboard_teams(scope=scope, filters=four_weeks(), now=NOW)
    campaigns = selectors.dashboard_campaigns(scope=scope, filters=four_weeks(), now=NOW)

    assert headline.announced == 2
    assert headline.fully_acknowledged_before_launch == 2  # alpha was on time on both
    assert headline.overdue_now == 0
    assert [t.name for t in teams] == ["Alpha"]
    assert {row.campaign for row in campaigns} == {world.c1, world.c2}
    assert all([t.name for t in row.teams] == ["Alpha"] for row in campaigns)


def test_filters_by_channel_and_owner(world):
    period = four_weeks().period
    sms = DashboardFilters(period=period, channel="sms")
    assert selectors.dashboard_headline(scope=EVERYTHING, filters=sms, now=NOW).announced == 1
    stranger = DashboardFilters(period=period, owner_id=world.alpha_lead.pk)
    assert selectors.dashboard_headline(scope=EVERYTHING, filters=stranger, now=NOW).announced == 0


def test_campaign_progress_riskiest_first(world):
    rows = selectors.dashboard_campaigns(scope=EVERYTHING, filters=four_weeks(), now=NOW)

    by_campaign = {row.campaign.pk: row for row in rows}
    progress = {t.name: (t.acknowledged, t.total) for t in by_campaign[world.c2.pk].teams}
    assert progress == {"Alpha": (1, 1), "Charlie": (2, 2)}
    assert [(t.acknowledged, t.total) for t in by_campaign[world.c4.pk].teams] == [(0, 1)]
    assert rows[0].campaign == world.c4  # the only one with a team pending


def test_every_member_team_shows_partial_progress(traveller):
    team = TeamFactory(ack_policy="every")
    first, _second, _third = (MembershipFactory(team=team).user for _ in range(3))
    campaign = announced_campaign(teams=[team], launch_at=T0 + timedelta(days=2))
    soon = announced_campaign(launch_at=T0 + timedelta(days=1))
    services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)

    rows = selectors.dashboard_campaigns(scope=EVERYTHING, filters=four_weeks(), now=T0)

    assert [row.campaign for row in rows] == [soon, campaign]  # sooner launch first
    assert [(t.acknowledged, t.total) for t in rows[1].teams] == [(1, 3)]


def test_every_member_progress_ignores_deactivated_members(traveller):
    team = TeamFactory(ack_policy="every")
    first, _second, gone = (MembershipFactory(team=team).user for _ in range(3))
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    campaign = announced_campaign(teams=[team], launch_at=T0 + timedelta(days=2))
    services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)

    [row] = selectors.dashboard_campaigns(scope=EVERYTHING, filters=four_weeks(), now=T0)

    assert [(t.acknowledged, t.total) for t in row.teams] == [(1, 2)]


def test_a_lead_never_sees_other_teams_overrides_even_when_filtering_on_them(world):
    services.campaign_override_done(
        actor=make_manager(), campaign_id=world.c4.pk, reason="Delta en séminaire"
    )
    alpha_only = Scope(team_ids=frozenset({world.alpha.pk}))
    on_delta = DashboardFilters(period=four_weeks().period, team_id=world.delta.pk)

    assert selectors.dashboard_overrides(scope=EVERYTHING, filters=on_delta)
    assert selectors.dashboard_overrides(scope=alpha_only, filters=four_weeks()) == []
    assert selectors.dashboard_overrides(scope=alpha_only, filters=on_delta) == []
    headline = selectors.dashboard_headline(scope=alpha_only, filters=on_delta, now=NOW)
    assert headline.overrides == 0


def test_overrides_are_counted_in_the_period(traveller):
    campaign = announced_campaign(launch_at=T0 + timedelta(days=1))
    services.campaign_override_done(
        actor=make_manager(), campaign_id=campaign.pk, reason="Envoyée sans attendre"
    )
    filters = four_weeks()
    assert selectors.dashboard_headline(scope=EVERYTHING, filters=filters, now=NOW).overrides == 1
    last_year = DashboardFilters(
        period=Period(date(2025, 1, 1), date(2025, 12, 31), PARIS),
    )
    assert selectors.dashboard_headline(scope=EVERYTHING, filters=last_year, now=NOW).overrides == 0


def test_the_period_follows_the_viewers_time_zone(traveller):
    # 23:30 UTC on 1 March is already 00:30 on 2 March in Paris.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    traveller.move_to(late)
    announced_campaign(launch_at=late + timedelta(days=2))
    traveller.move_to(NOW)
    day = date(2026, 3, 2)

    def announced(tz) -> int:
        filters = DashboardFilters(
            period=period_resolve(key="custom", today=day, tz=tz, first=day, last=day)
        )
        return selectors.dashboard_headline(scope=EVERYTHING, filters=filters, now=NOW).announced

    assert announced(PARIS) == 1
    assert announced(UTC) == 0


def test_period_choices():
    today = date(2026, 3, 4)  # a Wednesday
    week = period_resolve(key="week", today=today, tz=PARIS)
    assert (week.first, week.last) == (date(2026, 3, 2), date(2026, 3, 8))
    four = period_resolve(key="4w", today=today, tz=PARIS)
    assert (four.first, four.last) == (date(2026, 2, 5), today)
    quarter = period_resolve(key="quarter", today=date(2026, 11, 20), tz=PARIS)
    assert (quarter.first, quarter.last) == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter.end == datetime(2027, 1, 1, tzinfo=PARIS)
    custom = period_resolve(
        key="custom", today=today, tz=PARIS, first=date(2026, 1, 9), last=date(2026, 1, 2)
    )
    assert (custom.first, custom.last) == (date(2026, 1, 2), date(2026, 1, 9))


@pytest.mark.postgres
def test_postgresql_computes_percentiles_in_the_database(world):
    with CaptureQueriesContext(connection) as queries:
        headline = selectors.dashboard_headline(scope=EVERYTHING, filters=four_weeks(), now=NOW)
        selectors.dashboard_teams(scope=EVERYTHING, filters=four_weeks(), now=NOW)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "percentile_cont(0.5) WITHIN GROUP" in sql
    assert "EXTRACT" in sql.upper()
    assert headline.median_seconds == pytest.approx(3 * HOUR)
