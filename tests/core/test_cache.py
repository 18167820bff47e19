"""core.cache.ResilientRedisCache: one redis client per pool, shared by threads, and an
empty cache while Redis is unreachable."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings

from core.cache import ResilientRedisCache


def _cache(location: str) -> ResilientRedisCache:
    return ResilientRedisCache(
        location,
        {"OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 1}, "KEY_PREFIX": "t-cache"},
    )


@pytest.mark.redis
def test_every_call_uses_the_same_client_and_threads_share_it():
    cache = _cache(settings.REDIS_URL)
    client = cache._cache.get_client()
    assert cache._cache.get_client(write=True) is client

    def round_trip(number: int) -> object:
        cache.set(f"key-{number}", {"n": number}, 30)
        return cache.get(f"key-{number}")

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(round_trip, range(200)))
        assert found == [{"n": number} for number in range(200)]
        assert cache._cache.get_client() is client
    finally:
        cache.delete_many([f"key-{number}" for number in range(200)])


def test_an_unreachable_redis_answers_as_an_empty_cache():
    cache = _cache("redis://127.0.0.1:1/0")  # nothing listens there
    cache.set("key", "value", 30)
    assert cache.get("key", "default") == "default"
    assert cache.add("lock", 1, 30) is True
    assert cache.incr("counter", 3) == 3
    assert cache.count("counter", 30) == 1


@pytest.mark.redis
def test_count_adds_one_and_expires_in_one_round_trip(monkeypatch):
    from redis.connection import Connection

    cache = _cache(settings.REDIS_URL)
    cache.delete("hits")
    sent = []
    send = Connection.send_packed_command

    def counted(self, command, *args, **kwargs):
        sent.append(command)
        return send(self, command, *args, **kwargs)

    monkeypatch.setattr(Connection, "send_packed_command", counted)
    try:
        assert [cache.count("hits", 65) for _ in range(3)] == [1, 2, 3]
        assert len(sent) == 3  # one round trip each: the increment and its expiry together
        client = cache._cache.get_client()
        assert 60 < client.ttl(cache.make_and_validate_key("hits")) <= 65
    finally:
        cache.delete("hits")


def test_count_on_an_unreachable_redis_counts_nothing():
    cache = _cache("redis://127.0.0.1:1/0")
    assert [cache.count("hits", 65) for _ in range(3)] == [1, 1, 1]
