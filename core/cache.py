"""A Redis cache that degrades instead of failing.

The cache holds nothing the app cannot do without: login rate limits (allauth), kept
dashboard figures, throttles. With Redis unreachable, Django's RedisCache raises on every
call, and a person could not even log in to acknowledge a campaign. This backend answers
as an empty cache instead (a read finds nothing, a write is dropped, a lock is granted)
and logs the outage once a minute, so every page works while Redis is down; the rate
limits simply do not count during the outage.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a cache that cannot be reached raises: Redis errors, and OS errors for the file
# cache. Callers that must degrade under any backend (Sentinel's included) catch these.
CACHE_ERRORS = (RedisError, OSError)
_last_warning = [0.0]


def _degraded[T](name: str, fallback: Callable[..., T]) -> Callable[..., T]:
    method = getattr(RedisCache, name)

    def call(self: RedisCache, *args: Any, **kwargs: Any) -> T:
        try:
            result: T = method(self, *args, **kwargs)
        except CACHE_ERRORS:
            _warn_unreachable()
            return fallback(*args, **kwargs)
        return result

    call.__name__ = name
    return call


def _warn_unreachable() -> None:
    if time.monotonic() - _last_warning[0] > 60:
        _last_warning[0] = time.monotonic()
        logger.warning("cache unreachable: answering as an empty cache", exc_info=True)


def _default(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's client, building one `redis.Redis` per connection pool instead of one per
    cache call. Building one fills its table of ~170 reply parsers: a fifth of a
    millisecond, on every page served from the cache. A `redis.Redis` holds no
    connection of its own (each command borrows one from the pool) and redis-py documents
    it as safe to share between threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Both attributes are Django's own, absent from its type stubs.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    get = _degraded("get", _default)
    get_many = _degraded("get_many", lambda *a, **k: {})
    has_key = _degraded("has_key", lambda *a, **k: False)
    # A lock taken through the cache (allauth's rate limit) must not spin forever.
    add = _degraded("add", lambda *a, **k: True)
    set = _degraded("set", lambda *a, **k: None)
    set_many = _degraded("set_many", lambda *a, **k: [])
    touch = _degraded("touch", lambda *a, **k: False)
    delete = _degraded("delete", lambda *a, **k: False)
    delete_many = _degraded("delete_many", lambda *a, **k: None)
    incr = _degraded("incr", lambda key, delta=1, *a, **k: delta)
    clear = _degraded("clear", lambda *a, **k: None)

    def count(self, key: str, timeout: int) -> int:
        """Add one to the counter `key`, created at 0 and expiring `timeout` seconds after
        its last count; the new count. One round trip: Django's add-then-incr takes three
        (`incr` checks the key exists first), on every API request's rate limit. As
        unreachable: 1 (nothing counted)."""
        key = self.make_and_validate_key(key)
        try:
            pipeline = self._cache.get_client(key, write=True).pipeline(transaction=False)
            pipeline.incr(key)
            pipeline.expire(key, timeout)
            counted, _expiring = pipeline.execute()
        except CACHE_ERRORS:
            _warn_unreachable()
            return 1
        return int(counted)
