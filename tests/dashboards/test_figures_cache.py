"""Dashboard figures kept in the cache: fresh ones served, stale ones refreshed once at a
time while readers keep seeing them: by a worker when the key is enough to compute them
again (dashboards.refresh), else by the request that found them stale."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from dashboards import cache as figures_cache
from dashboards.cache import (
    REFRESH_SECONDS,
    REFRESH_TASK,
    Cached,
    cached_figures,
    figures_key,
    figures_time,
)

# A kind dashboards.refresh does not know: refreshed by the request.
KEY = ("figures-of-a-test", "everything", "quarter")
# One it knows: refreshed by a worker.
WORKER_KEY = ("team-pending", 42)


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


def test_an_unreachable_cache_costs_only_the_computation(settings, unreachable_cache):
    settings.DASHBOARD_CACHE_SECONDS = 60
    unreachable_cache("django.core.cache.backends.redis.RedisCache")
    compute = Counter()
    assert cached_figures(KEY, compute).value == "figures #1"
    assert cached_figures(KEY, compute).value == "figures #2"


def test_with_nothing_kept_a_second_request_waits_for_the_first_ones_figures(
    figures_kept_a_minute, monkeypatch
):
    from dashboards import cache as figures_cache

    figures_kept_a_minute.add(figures_key(KEY) + ":computing", 1, 30)  # another request
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

    figures_kept_a_minute.add(figures_key(KEY) + ":computing", 1, 30)  # died mid-way
    monkeypatch.setattr(figures_cache, "WAIT_SECONDS", 0.2)
    compute = Counter()
    assert cached_figures(KEY, compute).value == "figures #1"


@pytest.fixture
def queued(monkeypatch):
    calls: list[tuple] = []

    def publish(task_name, *args, countdown=None, expires=None):
        calls.append((task_name, args, expires))
        return True

    monkeypatch.setattr(figures_cache, "publish_task", publish)
    return calls


def test_stale_figures_a_worker_can_compute_are_left_to_it(figures_kept_a_minute, queued):
    kept = Cached("old figures", timezone.now() - timedelta(seconds=61))
    figures_kept_a_minute.set(figures_key(WORKER_KEY), kept, 120)
    compute = Counter()

    assert cached_figures(WORKER_KEY, compute) == kept  # no page waits for the refresh
    assert cached_figures(WORKER_KEY, compute) == kept

    assert compute.calls == 0
    # Queued once (the refresh lock), as JSON-friendly parts, dropped if not run in time.
    assert queued == [(REFRESH_TASK, (list(WORKER_KEY),), REFRESH_SECONDS)]


def test_without_a_broker_the_request_refreshes_them_itself(figures_kept_a_minute, monkeypatch):
    figures_kept_a_minute.set(
        figures_key(WORKER_KEY), Cached("old", timezone.now() - timedelta(seconds=61)), 120
    )
    monkeypatch.setattr(figures_cache, "publish_task", lambda *args, **kwargs: False)
    compute = Counter()

    assert cached_figures(WORKER_KEY, compute).value == "figures #1"
    assert figures_kept_a_minute.get(figures_key(WORKER_KEY) + ":refreshing") is None


def test_the_first_reader_computes_them_even_when_a_worker_could(figures_kept_a_minute, queued):
    compute = Counter()
    assert cached_figures(WORKER_KEY, compute).value == "figures #1"
    assert queued == []


def test_a_kept_pages_stamp_reads_only_the_figures_time_while_they_are_fresh(
    figures_kept_a_minute, queued
):
    compute = Counter()
    computed_at = cached_figures(WORKER_KEY, compute).computed_at
    # The figures themselves are not read: only their time, a few bytes.
    figures_kept_a_minute.set(figures_key(WORKER_KEY), "not unpickled for a stamp", 120)

    assert figures_time(WORKER_KEY, compute) == computed_at
    assert compute.calls == 1
    assert queued == []


def test_a_stale_stamp_queues_the_refresh_like_the_page_would(figures_kept_a_minute, queued):
    compute = Counter()
    computed_at = cached_figures(WORKER_KEY, compute).computed_at

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        assert figures_time(WORKER_KEY, compute) == computed_at  # still shown meanwhile

    assert compute.calls == 1
    assert [name for name, _args, _expires in queued] == [REFRESH_TASK]


def test_stale_figures_being_refreshed_are_not_read_for_a_stamp(figures_kept_a_minute, queued):
    """Until the worker has kept new figures, every reader's stamp is their time alone."""
    compute = Counter()
    computed_at = cached_figures(WORKER_KEY, compute).computed_at
    figures_kept_a_minute.set(figures_key(WORKER_KEY), "not unpickled for a stamp", 120)

    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        times = [figures_time(WORKER_KEY, compute) for _reader in range(3)]

    assert times == [computed_at] * 3
    assert compute.calls == 1
    assert [name for name, _args, _expires in queued] == [REFRESH_TASK]  # queued once


def test_a_stale_stamp_nobody_else_can_refresh_is_refreshed_by_its_request(
    figures_kept_a_minute, queued
):
    compute = Counter()
    cached_figures(KEY, compute)

    later = timezone.now() + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        assert figures_time(KEY, compute) == later
        assert cached_figures(KEY, compute).value == "figures #2"

    assert compute.calls == 2
    assert queued == []


def test_a_refresh_queued_for_a_busy_worker_makes_no_reader_wait(
    figures_kept_a_minute, queued, monkeypatch
):
    """The worker has not run the refresh a page queued, and the figures have expired
    meanwhile: the next reader computes them at once instead of waiting for it."""
    figures_kept_a_minute.add(figures_key(WORKER_KEY) + ":refreshing", 1, 30)  # queued
    monkeypatch.setattr(figures_cache, "_wait_for", lambda key: pytest.fail("waited"))
    compute = Counter()

    assert cached_figures(WORKER_KEY, compute).value == "figures #1"


def test_with_the_cache_unreachable_a_stamp_computes_nothing(settings, unreachable_cache):
    settings.DASHBOARD_CACHE_SECONDS = 60
    unreachable_cache("django.core.cache.backends.redis.RedisCache")
    compute = Counter()
    assert figures_time(KEY, compute) is None  # the page computes them, once
    assert compute.calls == 0


# --- figures kept warm while a dashboard is in use ---------------------------------------


def test_a_read_registers_the_figures_once_a_minute(figures_kept_a_minute):
    compute = Counter()
    figures_time(WORKER_KEY, compute)
    registry = figures_kept_a_minute.get(figures_cache.READ_REGISTRY)
    parts, read_at = registry[figures_key(WORKER_KEY)]
    assert parts == list(WORKER_KEY)
    # Within the minute a read writes nothing (the marker is read with the figures' time).
    registry[figures_key(WORKER_KEY)] = (parts, read_at - 30)
    figures_kept_a_minute.set(figures_cache.READ_REGISTRY, registry, 900)
    figures_time(WORKER_KEY, compute)
    assert figures_kept_a_minute.get(figures_cache.READ_REGISTRY)[figures_key(WORKER_KEY)][1] == (
        read_at - 30
    )
    figures_kept_a_minute.delete(figures_key(WORKER_KEY) + ":read")  # a minute later
    figures_time(WORKER_KEY, compute)
    assert figures_kept_a_minute.get(figures_cache.READ_REGISTRY)[figures_key(WORKER_KEY)][1] > (
        read_at - 30
    )


def test_with_keeping_warm_off_a_read_marks_nothing(figures_kept_a_minute, settings):
    settings.DASHBOARD_WARM_SECONDS = 0
    figures_time(WORKER_KEY, Counter())
    assert figures_kept_a_minute.get(figures_cache.READ_REGISTRY) is None
    assert figures_kept_a_minute.get(figures_key(WORKER_KEY) + ":read") is None


def test_beat_computes_again_the_figures_read_recently_before_they_go_stale(
    figures_kept_a_minute, settings, monkeypatch
):
    refreshed = []
    monkeypatch.setattr(
        "dashboards.refresh.figures_refresh", lambda parts: refreshed.append(parts) or True
    )
    read_long_ago = ("team-trend", 7)
    figures_time(WORKER_KEY, Counter())
    figures_time(read_long_ago, Counter())
    registry = figures_kept_a_minute.get(figures_cache.READ_REGISTRY)
    parts, read_at = registry[figures_key(read_long_ago)]
    registry[figures_key(read_long_ago)] = (parts, read_at - settings.DASHBOARD_WARM_SECONDS - 1)
    figures_kept_a_minute.set(figures_cache.READ_REGISTRY, registry, 900)

    now = timezone.now().timestamp()
    assert figures_cache.figures_keep_warm(now=now + 10) == 0  # fresh for 50 s more
    assert figures_cache.figures_keep_warm(now=now + 40) == 1  # stale before the next run
    assert refreshed == [list(WORKER_KEY)]  # not the figures nobody read for 15 minutes
    # Being refreshed already (the lock a page or the previous run took): left alone.
    assert figures_cache.figures_keep_warm(now=now + 40) == 0

    settings.DASHBOARD_WARM_SECONDS = 0
    assert figures_cache.figures_keep_warm(now=now + 40) == 0


def test_with_the_cache_unreachable_beat_keeps_nothing_warm(
    settings, unreachable_cache, monkeypatch
):
    """Django's own Redis backend raises on every call: the tick ends quietly, computing
    nothing, rather than failing every 20 s while Redis is away."""
    settings.DASHBOARD_CACHE_SECONDS = 60
    unreachable_cache("django.core.cache.backends.redis.RedisCache")
    refreshed = []
    monkeypatch.setattr(
        "dashboards.refresh.figures_refresh", lambda parts: refreshed.append(parts) or True
    )
    assert figures_cache.figures_keep_warm() == 0
    assert refreshed == []


def test_figures_kept_warm_are_the_ones_the_page_reads(figures_kept_a_minute, world_team):
    """End to end through dashboards.refresh: the worker's figures replace the page's."""
    from dashboards import refresh

    key = refresh.team_trend_key(world_team)
    first = figures_time(key, lambda: ["computed by the page"])
    with time_machine.travel(timezone.now() + timedelta(seconds=45)):
        assert figures_cache.figures_keep_warm() == 1
        again = figures_time(key, lambda: ["not computed: kept warm"])
    assert again > first
    assert cached_figures(key, lambda: ["not computed: kept warm"]).value != [
        "not computed: kept warm"
    ]


def test_beat_keeps_figures_warm_every_20_seconds_on_the_housekeeping_queue(settings):
    from hub import queues

    entry = next(
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "dashboards.tasks.figures_keep_warm"
    )
    assert entry["schedule"] == figures_cache.WARM_EVERY_SECONDS
    assert queues.ROUTES["dashboards.tasks.figures_keep_warm"] == queues.HOUSEKEEPING


@pytest.fixture
def world_team(db):
    from tests.factories import TeamFactory

    return TeamFactory()
