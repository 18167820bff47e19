"""Dashboard figures computed again from their cache key alone, by a Celery worker.

A key (dashboards.cache) names everything its figures depend on besides the data and the
time: whose teams, which days, which filters. Each kind of key here is read back into
what its selector takes, and the figures are computed and kept by the same code the page
would run, so a worker refreshing them once a minute leaves every request to read them
from the cache. The key is rebuilt from what was read back, so a round trip through the
broker's JSON (tuples become lists) keeps the figures under the key the page asks for.
"""

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from dashboards import drilldown, selectors
from dashboards.cache import figures_store
from hub.db_routing import reads_replica_for
from teams.models import Team

Figures = tuple[tuple[object, ...], Callable[[], Any]] | None


def overview_from_key(
    parts: Sequence[Any],
) -> tuple[selectors.Scope, selectors.DashboardFilters]:
    """The scope and filters an overview key (selectors.overview_cache_key) was made of."""
    _kind, teams, first, last, tz, channel, owner_id, team_id = parts
    scope = selectors.Scope(team_ids=None if teams == "all" else frozenset(int(pk) for pk in teams))
    period = selectors.Period(date.fromisoformat(first), date.fromisoformat(last), ZoneInfo(tz))
    filters = selectors.DashboardFilters(
        period=period, channel=channel, owner_id=owner_id, team_id=team_id
    )
    return scope, filters


def _overview(parts: Sequence[Any]) -> Figures:
    scope, filters = overview_from_key(parts)

    def compute() -> Any:
        # The weekly trends are cut into the reader's weeks: their time zone is the key's.
        with timezone.override(filters.period.tz):
            return selectors.dashboard_overview(scope=scope, filters=filters, now=timezone.now())

    return selectors.overview_cache_key(scope=scope, filters=filters), compute


def _team_pending(parts: Sequence[Any]) -> Figures:
    team = Team.objects.filter(pk=int(parts[1])).first()
    if team is None:  # deleted since: nothing to keep
        return None
    return team_pending_key(team), lambda: drilldown.team_pending_slice(
        team=team, now=timezone.now()
    )


def _team_trend(parts: Sequence[Any]) -> Figures:
    team = Team.objects.filter(pk=int(parts[1])).first()
    if team is None:
        return None
    zone = ZoneInfo(parts[2])

    def compute() -> Any:
        # ISO weeks are the reader's: the time zone is part of the key.
        with timezone.override(zone):
            return drilldown.team_weekly_trend(team=team)

    return ("team-trend", team.pk, str(zone)), compute


def team_pending_key(team: Team) -> tuple[object, ...]:
    return ("team-pending", team.pk)


def team_trend_key(team: Team) -> tuple[object, ...]:
    return ("team-trend", team.pk, str(timezone.get_current_timezone()))


_READERS: dict[str, Callable[[Sequence[Any]], Figures]] = {
    "overview": _overview,
    "team-pending": _team_pending,
    "team-trend": _team_trend,
}


def can_refresh(key_parts: Sequence[object]) -> bool:
    return bool(key_parts) and key_parts[0] in _READERS


def figures_refresh(key_parts: Sequence[Any]) -> bool:
    """Compute and keep the figures of `key_parts` (a list, as the broker gives it back);
    False when the key is not one of ours or names what no longer exists. Idempotent:
    computing them twice only keeps the later ones."""
    reader = _READERS.get(str(key_parts[0])) if key_parts else None
    figures = reader(key_parts) if reader else None
    if figures is None:
        return False
    key, compute = figures
    # Read-only aggregates: the replica's work when there is one, as on the pages.
    figures_store(key, reads_replica_for(compute))
    return True
