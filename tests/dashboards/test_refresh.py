"""Figures a worker computes again from their key alone: the same figures, under the same
key, as the page computes; a key survives the broker's JSON."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from dashboards import drilldown, refresh, selectors, tasks
from dashboards.cache import figures_key
from dashboards.selectors import DashboardFilters, Scope, period_resolve
from hub import queues
from tests.dashboards.world import NOW, T0, build_world

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
# Not the server's TIME_ZONE (Europe/Paris): the worker must cut weeks in the reader's.
NEW_YORK = ZoneInfo("America/New_York")


def _through_the_broker(key_parts: tuple[object, ...]) -> list[object]:
    return json.loads(json.dumps(list(key_parts)))


@pytest.mark.parametrize(
    "scope",
    [Scope(team_ids=None), Scope(team_ids=frozenset({3, 1, 2}))],
    ids=["manager", "lead"],
)
def test_an_overview_key_reads_back_into_its_scope_and_filters(scope):
    filters = DashboardFilters(
        period=period_resolve(key="quarter", today=NOW.date(), tz=PARIS),
        channel="email",
        owner_id=7,
        team_id=None,
    )
    key = selectors.overview_cache_key(scope=scope, filters=filters)

    assert refresh.overview_from_key(_through_the_broker(key)) == (scope, filters)


def test_the_worker_keeps_the_figures_the_page_would_compute_under_its_key(own_cache, settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    with time_machine.travel(T0, tick=False) as traveller:
        world = build_world(traveller)
        traveller.move_to(NOW)
        scope = Scope(team_ids=None)
        filters = DashboardFilters(period=period_resolve(key="4w", today=NOW.date(), tz=NEW_YORK))
        key = selectors.overview_cache_key(scope=scope, filters=filters)
        with timezone.override(NEW_YORK):  # the reader's, as the page runs
            page_would_show = selectors.dashboard_overview(scope=scope, filters=filters, now=NOW)

        assert tasks.figures_refresh(_through_the_broker(key)) is True

        kept = cache.get(figures_key(key))
        assert kept.value == page_would_show
        assert kept.value.headline.announced == 4  # not an empty world

        with timezone.override(PARIS):
            trend_key = refresh.team_trend_key(world.alpha)
            assert refresh.figures_refresh(_through_the_broker(trend_key))
            assert cache.get(figures_key(trend_key)).value == drilldown.team_weekly_trend(
                team=world.alpha
            )
        pending_key = refresh.team_pending_key(world.delta)
        assert refresh.figures_refresh(_through_the_broker(pending_key))
        kept_slice = cache.get(figures_key(pending_key)).value
        assert kept_slice == drilldown.team_pending_slice(team=world.delta, now=NOW)
        assert kept_slice.total == 1


def test_the_worker_cuts_weeks_in_the_readers_time_zone(own_cache, settings):
    """At 02:00 UTC on a Monday it is already that Monday in Paris (the server's zone)
    but still Sunday in New York: a New York reader's trends end a week earlier."""
    settings.DASHBOARD_CACHE_SECONDS = 60
    monday_2am_utc = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    with time_machine.travel(T0, tick=False) as traveller:
        build_world(traveller)
        traveller.move_to(monday_2am_utc)
        scope = Scope(team_ids=None)

        def figures_in(zone):
            filters = DashboardFilters(
                period=period_resolve(key="4w", today=monday_2am_utc.date(), tz=zone)
            )
            with timezone.override(zone):
                return filters, selectors.dashboard_overview(
                    scope=scope, filters=filters, now=monday_2am_utc
                )

        filters, new_york = figures_in(NEW_YORK)
        _, paris = figures_in(PARIS)
        assert new_york.teams[0].trend != paris.teams[0].trend  # the test can tell
        key = selectors.overview_cache_key(scope=scope, filters=filters)

        assert tasks.figures_refresh(_through_the_broker(key))

        assert cache.get(figures_key(key)).value.teams[0].trend == new_york.teams[0].trend


def test_a_key_of_another_kind_or_of_a_deleted_team_keeps_nothing(own_cache):
    assert refresh.figures_refresh(["figures-of-a-test", 1]) is False
    assert refresh.figures_refresh(["team-pending", 987654]) is False
    assert refresh.figures_refresh([]) is False


def test_the_task_runs_on_the_housekeeping_queue():
    assert queues.ROUTES["dashboards.tasks.figures_refresh"] == queues.HOUSEKEEPING
