"""Requests per minute per token (or per signed-in person), counted in the shared cache.

A fixed one-minute window: simple, one round trip to Redis (ResilientRedisCache.count),
and every web process shares the count through Redis. The cache failing lets requests
through (core.cache): a rate limit is protection, not a rule worth an outage."""

import time

from django.conf import settings
from django.core.cache import caches

from core.cache import CACHE_ERRORS, ResilientRedisCache

WINDOW_SECONDS = 60


class Limited(Exception):
    def __init__(self, *, retry_after: int, limit: int) -> None:
        super().__init__(f"over {limit} requests a minute")
        self.retry_after = retry_after
        self.limit = limit


def _count(key: str) -> int:
    # The key names its window, so expiring a little after the window's end is enough.
    timeout = WINDOW_SECONDS + 5
    cache = caches["default"]
    if isinstance(cache, ResilientRedisCache):  # Redis, Sentinel's included
        return cache.count(key, timeout)
    cache.add(key, 0, timeout=timeout)  # the file cache (embedded defaults) and tests'
    return cache.incr(key)


def rate_limit_check(principal: str, *, now: float | None = None) -> None:
    """Count one request for `principal`; raise Limited when over the limit."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"api:rate:{principal}:{window}"
    try:
        count = _count(key)
    except ValueError:  # gone between add and incr (expired, or a degraded cache)
        return
    except CACHE_ERRORS:
        return
    if count > limit:
        retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
        raise Limited(retry_after=retry_after, limit=limit)
