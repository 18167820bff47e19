"""Dashboard figures kept for a minute.

Every figure is an aggregate over the period's campaigns (hundreds of thousands of rows at
a large company), and thirty managers opening the dashboard on Monday morning would each
recompute the same ones. The figures are computed once per scope and filters and kept in
the cache for DASHBOARD_CACHE_SECONDS; the page says when they were computed. Stale
figures are refreshed by one request while the others show them a little longer. A cache
that is down or empty only costs the computation: the page never fails because of it.
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

    Figures past that age are refreshed by one request at a time: the others keep
    showing the previous figures (with their time) until the new ones are in, for at most
    as long again. Otherwise every request arriving during a recomputation (a second or
    more at a large company) would recompute too, and the pages of every manager would
    queue behind them once a minute."""
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
        if age < seconds or not _may_refresh(key):
            return hit
    elif not _may_refresh(key):
        # Nothing kept (the first reader, or none for two periods) and another request
        # is computing them: wait for its figures rather than compute them a second time.
        waited = _wait_for(key)
        if waited is not None:
            return waited
    fresh = Cached(compute(), timezone.now())
    try:
        # Kept twice as long as they are fresh: the second half serves while refreshing.
        cache.set(key, fresh, 2 * seconds)
        cache.delete(key + ":refreshing")
    except CACHE_ERRORS:
        logger.warning("dashboard cache unreachable; figures not kept", exc_info=True)
    return fresh


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


def _may_refresh(key: str) -> bool:
    """True for the one request that refreshes stale figures; it has REFRESH_SECONDS
    before another may try (a request that died mid-way must not freeze the figures)."""
    try:
        return bool(cache.add(key + ":refreshing", 1, REFRESH_SECONDS))
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
