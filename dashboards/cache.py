"""Dashboard figures kept for a minute.

Every figure is an aggregate over the period's campaigns (hundreds of thousands of rows at
a large company), and thirty managers opening the dashboard on Monday morning would each
recompute the same ones. The figures are computed once per scope and filters and kept in
the cache for DASHBOARD_CACHE_SECONDS; the page says when they were computed. Stale
figures are refreshed once at a time while every reader is shown them a little longer:
by a Celery worker when the figures can be computed again from their key alone
(dashboards.refresh), so no page waits for them; else, or when the broker cannot be
reached, by the request that found them stale. A cache that is down or empty only costs
the computation: the page never fails because of it.
"""

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.safestring import mark_safe

from core.cache import CACHE_ERRORS
from notifications.publish import publish_task

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30
# How long a request waits for figures another request is computing (the quarter's take
# about a second at 100,000 campaigns) before computing them itself.
WAIT_SECONDS = 10


@dataclass(frozen=True)
class Cached[T]:
    value: T
    computed_at: datetime


def cached_figures[T](key_parts: tuple[object, ...], compute: Callable[[], T]) -> Cached[T]:
    """`compute()`'s result, from the cache when it is younger than
    DASHBOARD_CACHE_SECONDS (0: always computed), with the time it was computed.

    Figures past that age are refreshed once at a time while every reader keeps seeing
    the previous figures (with their time) until the new ones are in, for at most as long
    again: by a worker (REFRESH_TASK) when dashboards.refresh can compute them from the
    key, else by the request that found them stale. Otherwise every request arriving
    during a recomputation (a second or more at a large company) would recompute too,
    and, with the refresh in a request, one web process a minute would stall on it."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return Cached(compute(), timezone.now())
    key = figures_key(key_parts)
    try:
        hit = cache.get(key)
    except CACHE_ERRORS:
        logger.warning("dashboard cache unreachable; computing the figures", exc_info=True)
        return Cached(compute(), timezone.now())
    if isinstance(hit, Cached):
        age = (timezone.now() - hit.computed_at).total_seconds()
        if age < seconds or _shown_while_refreshed(key_parts):
            return hit
    elif not _may_compute(key):
        # Nothing kept (the first reader, or none for two periods) and another request
        # is computing them: wait for its figures rather than compute them a second time.
        # (Its own lock: a refresh merely queued for a worker, perhaps a busy one, must
        # not make readers wait for figures nobody is computing yet.)
        waited = _wait_for(key)
        if waited is not None:
            return waited
    return figures_store(key_parts, compute())


def figures_store[T](key_parts: tuple[object, ...], value: T) -> Cached[T]:
    """Keep freshly computed figures (and end the refresh that computed them)."""
    fresh = Cached(value, timezone.now())
    key = figures_key(key_parts)
    try:
        # Kept twice as long as they are fresh: the second half serves while refreshing.
        # Their time is kept apart too, for figures_time (a few bytes, not the figures).
        cache.set_many(
            {key: fresh, key + ":at": fresh.computed_at}, 2 * settings.DASHBOARD_CACHE_SECONDS
        )
        cache.delete_many([key + ":refreshing", key + ":computing"])
    except CACHE_ERRORS:
        logger.warning("dashboard cache unreachable; figures not kept", exc_info=True)
    return fresh


def figures_time[T](key_parts: tuple[object, ...], compute: Callable[[], T]) -> datetime | None:
    """When the figures of `key_parts` were computed, reading only that time while they
    are fresh: the stamp of a kept page showing them (core.pages), read on every request,
    where unpickling the whole figures to learn their age cost more than the page. When
    they are missing or stale, as cached_figures (which refreshes them). None when the
    cache is unreachable: no page is kept then, and the page computes them once."""
    (computed_at,) = figures_times((key_parts, compute))
    return computed_at


def figures_times(
    *figures: tuple[tuple[object, ...], Callable[[], object]],
) -> tuple[datetime | None, ...]:
    """figures_time of several figures (key parts, compute), their times read in one
    round trip to the cache, with whether they were marked read this minute
    (_mark_read)."""
    keys = [figures_key(key_parts) for key_parts, _compute in figures]
    try:
        found = cache.get_many([k + suffix for k in keys for suffix in (":at", ":read")])
    except CACHE_ERRORS:
        return (None,) * len(figures)
    unmarked = [
        parts for k, (parts, _c) in zip(keys, figures, strict=True) if k + ":read" not in found
    ]
    if unmarked and settings.DASHBOARD_WARM_SECONDS > 0:
        _mark_read(unmarked)
    now = timezone.now()
    times: list[datetime | None] = []
    for key, (key_parts, compute) in zip([k + ":at" for k in keys], figures, strict=True):
        computed_at = found.get(key)
        if not isinstance(computed_at, datetime):
            # Nothing kept: computed (or waited for) as the page would.
            times.append(cached_figures(key_parts, compute).computed_at)
        elif (now - computed_at).total_seconds() < settings.DASHBOARD_CACHE_SECONDS:
            times.append(computed_at)
        elif _shown_while_refreshed(key_parts):
            # Stale and being refreshed: their time, still without reading the figures,
            # which every request until the worker is done would otherwise unpickle.
            times.append(computed_at)
        else:
            times.append(figures_store(key_parts, compute()).computed_at)
    return tuple(times)


# Figures read in the last WARM_SECONDS are computed again by beat before they go stale
# (figures_keep_warm), so a reader never waits for a computation while the page is in
# use. The registry: {figures key: (key parts, when last marked read)}.
READ_REGISTRY = "dashboards:read-recently"
WARM_EVERY_SECONDS = 20  # beat's schedule for figures_keep_warm (hub/settings.py)


def _mark_read(key_parts_list: list[tuple[object, ...]]) -> None:
    """Note that these figures were read, at most once a minute each (a marker that
    expires): a write to the registry then, nothing on the other reads. Two processes
    marking at once may lose one mark; the next minute's puts it back."""
    now = time.time()
    try:
        registry = cache.get(READ_REGISTRY) or {}
        for key_parts in key_parts_list:
            registry[figures_key(key_parts)] = (list(key_parts), now)
        cutoff = now - settings.DASHBOARD_WARM_SECONDS
        registry = {k: v for k, v in registry.items() if v[1] >= cutoff}
        cache.set(READ_REGISTRY, registry, settings.DASHBOARD_WARM_SECONDS)
        cache.set_many({figures_key(parts) + ":read": 1 for parts in key_parts_list}, 60)
    except CACHE_ERRORS:
        return


def figures_keep_warm(*, now: float | None = None) -> int:
    """Compute again the figures read in the last DASHBOARD_WARM_SECONDS that a worker
    can compute from their key (dashboards.refresh) and that would go stale before the
    next run (every WARM_EVERY_SECONDS); how many were. A page whose figures are kept
    warm is never the one that computes them: with 2 web processes and 32 readers, the
    quarter's computation at 100,000 campaigns held every reader for up to 0.9 s."""
    from dashboards.refresh import can_refresh, figures_refresh

    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0 or settings.DASHBOARD_WARM_SECONDS <= 0:
        return 0
    now = time.time() if now is None else now
    try:
        registry = cache.get(READ_REGISTRY) or {}
        recent = [
            (key, parts)
            for key, (parts, read_at) in registry.items()
            if read_at >= now - settings.DASHBOARD_WARM_SECONDS and can_refresh(parts)
        ]
        computed = cache.get_many([key + ":at" for key, _parts in recent])
    except CACHE_ERRORS:
        return 0
    refreshed = 0
    for key, parts in recent:
        at = computed.get(key + ":at")
        fresh_until = at.timestamp() + seconds if isinstance(at, datetime) else 0
        # The refresh lock a page takes: never computed twice at once (a slow run and
        # the next, or a page that found them stale first).
        soon_stale = fresh_until - now < WARM_EVERY_SECONDS + 5
        if soon_stale and _may_refresh(key) and figures_refresh(parts):
            refreshed += 1
    return refreshed


REFRESH_TASK = "dashboards.tasks.figures_refresh"


def _refresh_elsewhere(key_parts: tuple[object, ...]) -> bool:
    """Hand stale figures' refresh to a worker, when their key is all it needs; whether
    the task was queued (not when the broker cannot be reached: the request refreshes
    them itself, holding the refresh lock it took)."""
    from dashboards.refresh import can_refresh

    # Expires with the refresh lock: past it, a later page asks again, so a refresh left
    # in a queue nobody serves is dropped rather than run late, many times over.
    return can_refresh(key_parts) and publish_task(
        REFRESH_TASK, list(key_parts), expires=REFRESH_SECONDS
    )


def _wait_for(key: str) -> Cached[Any] | None:
    """The figures another request is computing, once they are in the cache; None after
    WAIT_SECONDS (that request may have died: the caller computes them itself)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            hit = cache.get(key)
        except CACHE_ERRORS:
            return None
        if isinstance(hit, Cached):
            return hit
    return None


def figures_key(key_parts: tuple[object, ...]) -> str:
    return "dashboards:" + hashlib.sha256(repr(key_parts).encode()).hexdigest()[:40]


def _shown_while_refreshed(key_parts: tuple[object, ...]) -> bool:
    """For stale figures: True while they are to be shown as they are, because another
    request holds their refresh or a worker was just asked for it; False when this
    request must compute them itself (it then holds the refresh lock)."""
    return not _may_refresh(figures_key(key_parts)) or _refresh_elsewhere(key_parts)


def _may_refresh(key: str) -> bool:
    """True for the one request that refreshes stale figures (or queues their refresh);
    it has REFRESH_SECONDS before another may try (a request that died mid-way must not
    freeze the figures)."""
    return _lock(key + ":refreshing")


def _may_compute(key: str) -> bool:
    """True for the one request that computes figures nobody has kept yet."""
    return _lock(key + ":computing")


def _lock(name: str) -> bool:
    try:
        return bool(cache.add(name, 1, REFRESH_SECONDS))
    except CACHE_ERRORS:
        return True


def cached_fragment(key_parts: tuple[object, ...], render: Callable[[], str]) -> str:
    """`render()`'s HTML, from the cache for DASHBOARD_CACHE_SECONDS (0: always rendered).
    The key must hold everything the HTML shows: the figures' own key and the time they
    were computed (so new figures make new HTML), the reader's language and time zone,
    what their role shows, and the filters echoed in links."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if seconds <= 0:
        return render()
    key = "dashboards:html:" + hashlib.sha256(repr(key_parts).encode()).hexdigest()[:40]
    try:
        hit = cache.get(key)
    except CACHE_ERRORS:
        logger.warning("dashboard cache unreachable; rendering the figures", exc_info=True)
        hit = None
    if isinstance(hit, str):
        return mark_safe(hit)  # noqa: S308 - our own rendered template, kept as it was
    html = render()
    try:
        cache.set(key, str(html), seconds)
    except CACHE_ERRORS:
        logger.warning("dashboard cache unreachable; HTML not kept", exc_info=True)
    return html
