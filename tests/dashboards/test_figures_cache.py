"""Dashboard figures kept in the cache: fresh ones served, stale ones refreshed by one
request at a time while the others keep showing them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.cache import Cached, cached_figures, figures_key

KEY = ("overview", "everything", "quarter")


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return f"figures #{self.calls}"


@pytest.fixture
def figures_kept_a_minute(settings, own_cache):
    settings.DASHBOARD_CACHE_SECONDS = 60
    return own_cache


def _kept(cache, *, age_seconds: float, value: str = "old figures") -> Cached[str]:
    kept = Cached(value, timezone.now() - timedelta(seconds=age_seconds))
    cache.set(figures_key(KEY), kept, 120)
    return kept


def test_figures_are_computed_once_then_served_from_the_cache(figures_kept_a_minute):
    compute = Counter()
    first = cached_figures(KEY, compute)
    second = cached_figures(KEY, compute)
    assert compute.calls == 1
    assert second == first


def test_fresh_figures_are_not_recomputed(figures_kept_a_minute):
    kept = _kept(figures_kept_a_minute, age_seconds=59)
    compute = Counter()
    assert cached_figures(KEY, compute) == kept
    assert compute.calls == 0


def test_stale_figures_are_refreshed_by_the_request_that_finds_them(figures_kept_a_minute):
    _kept(figures_kept_a_minute, age_seconds=61)
    compute = Counter()
    refreshed = cached_figures(KEY, compute)
    assert compute.calls == 1
    assert refreshed.value == "figures #1"
    assert (timezone.now() - refreshed.computed_at).total_seconds() < 5
    # The refresh is over: the next stale figures may be refreshed again.
    assert figures_kept_a_minute.get(figures_key(KEY) + ":refreshing") is None
    assert cached_figures(KEY, compute) == refreshed


def test_while_one_request_refreshes_the_others_show_the_stale_figures(
    figures_kept_a_minute,
):
    kept = _kept(figures_kept_a_minute, age_seconds=61)
    figures_kept_a_minute.add(figures_key(KEY) + ":refreshing", 1, 30)  # another request
    compute = Counter()
    assert cached_figures(KEY, compute) == kept
    assert compute.calls == 0


def test_figures_are_kept_twice_as_long_as_they_are_fresh(figures_kept_a_minute):
    compute = Counter()
    cached_figures(KEY, compute)
    # Kept 2 × DASHBOARD_CACHE_SECONDS in the cache: past that, nothing stale is shown.
    expiry = figures_kept_a_minute._expire_info[figures_kept_a_minute.make_key(figures_key(KEY))]
    assert 119 < expiry - timezone.now().timestamp() <= 120


def test_an_unreachable_cache_costs_only_the_computation(settings):
    settings.DASHBOARD_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    compute = Counter()
    assert cached_figures(KEY, compute).value == "figures #1"
    assert cached_figures(KEY, compute).value == "figures #2"


def test_with_nothing_kept_a_second_request_waits_for_the_first_ones_figures(
    figures_kept_a_minute, monkeypatch
):
    from dashboards import cache as figures_cache

    figures_kept_a_minute.add(figures_key(KEY) + ":refreshing", 1, 30)  # another request
    computed = Cached("computed by the other request", timezone.now())
    polls: list[int] = []

    def arrives(seconds: float) -> None:  # the other request's figures land meanwhile
        polls.append(1)
        if len(polls) == 3:
            figures_kept_a_minute.set(figures_key(KEY), computed, 120)

    monkeypatch.setattr(figures_cache.time, "sleep", arrives)
    compute = Counter()
    assert cached_figures(KEY, compute) == computed
    assert compute.calls == 0


def test_a_request_that_waited_in_vain_computes_them_itself(figures_kept_a_minute, monkeypatch):
    from dashboards import cache as figures_cache

    figures_kept_a_minute.add(figures_key(KEY) + ":refreshing", 1, 30)  # died mid-way
    monkeypatch.setattr(figures_cache, "WAIT_SECONDS", 0.2)
    compute = Counter()
    assert cached_figures(KEY, compute).value == "figures #1"
