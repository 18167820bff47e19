"""DATABASE_POOLER and REDIS_SENTINELS: what settings.py makes of them (read in a fresh
interpreter), what they refuse, and a publish and a cache read that fail fast when no
sentinel answers (no Redis needed)."""

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from hub.database_config import behind_pooler, database_pooler
from hub.redis_config import SentinelSettings, redis_broker_options, sentinel_settings
from notifications.publish import publish_task
from tests.support.processes import settings_in_fresh_interpreter
from tests.support.servers import free_port

NAMES = ("DATABASES", "CACHES", "CELERY_BROKER_URL", "CELERY_BROKER_TRANSPORT_OPTIONS")
POSTGRES = "postgres://u@db.invalid:6432/passerelle"


def settings_with(**env: str) -> dict[str, Any]:
    # Only what the test sets: not the outer run's database, Redis or replica.
    values: dict[str, Any] = settings_in_fresh_interpreter(
        f"{{n: getattr(settings, n) for n in {NAMES!r}}}",
        env,
        keep=lambda name: not name.startswith(("DATABASE_", "REDIS_", "CELERY_")),
    )
    return values


def test_behind_pgbouncer_no_server_side_cursors_and_no_startup_options():
    database = settings_with(DATABASE_URL=POSTGRES, DATABASE_POOLER="pgbouncer")["DATABASES"][
        "default"
    ]
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in database.get("OPTIONS", {})
    # Persistent client connections and health checks stay: a connection to PgBouncer
    # holds no server connection between transactions.
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_startup_options_behind_pgbouncer_are_refused():
    database = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c jit=off"}}
    with pytest.raises(ImproperlyConfigured, match="pgbouncer refuses connection startup"):
        behind_pooler(database, pooler="pgbouncer")
    behind_pooler(database, pooler="")
    assert "DISABLE_SERVER_SIDE_CURSORS" not in database
    with pytest.raises(ImproperlyConfigured, match="DATABASE_POOLER must be"):
        database_pooler("pgpool")
    assert database_pooler(" PgBouncer ") == "pgbouncer"


def test_sentinels_give_the_broker_and_the_cache_their_master():
    read = settings_with(
        REDIS_SENTINELS="10.0.0.1:26379, 10.0.0.2:26380,10.0.0.3",
        REDIS_SENTINEL_MASTER="passerelle",
        REDIS_SENTINEL_DB="2",
        REDIS_PASSWORD="s3cr:t",
        REDIS_SENTINEL_PASSWORD="watch",
    )
    assert read["CELERY_BROKER_URL"] == (
        "sentinel://:s3cr%3At@10.0.0.1:26379/2;"
        "sentinel://:s3cr%3At@10.0.0.2:26380/2;"
        "sentinel://:s3cr%3At@10.0.0.3:26379/2"
    )
    sentinel_kwargs = {
        "socket_connect_timeout": 0.3,
        "socket_timeout": 0.5,
        "retry": None,
        "password": "watch",
    }
    assert read["CELERY_BROKER_TRANSPORT_OPTIONS"] == {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 0.3,
        "socket_timeout": 2,
        "master_name": "passerelle",
        "sentinel_kwargs": sentinel_kwargs,
    }
    assert read["CACHES"]["default"] == {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": "sentinel://passerelle/2",
        "OPTIONS": {
            "pool_class": "hub.redis_config.SentinelMasterPool",
            "sentinels": [["10.0.0.1", 26379], ["10.0.0.2", 26380], ["10.0.0.3", 26379]],
            "sentinel_kwargs": sentinel_kwargs,
            "socket_connect_timeout": 0.3,
            "socket_timeout": 1,
            "password": "s3cr:t",
        },
    }


def test_unclear_sentinel_settings_are_refused():
    with pytest.raises(ImproperlyConfigured, match="either REDIS_URL"):
        sentinel_settings(sentinels=["127.0.0.1:26379"], master="m", redis_url="redis://r/0")
    with pytest.raises(ImproperlyConfigured, match="items are host:port"):
        sentinel_settings(sentinels=["127.0.0.1:x"], master="m")
    with pytest.raises(ImproperlyConfigured, match="needs REDIS_SENTINELS"):
        redis_broker_options("sentinel://127.0.0.1:26379/0", None)
    assert sentinel_settings(sentinels=[], master="m") is None
    ipv6 = sentinel_settings(sentinels=["[::1]:26379"], master="m")
    assert ipv6 is not None
    assert ipv6.broker_url == "sentinel://[::1]:26379/0"


@pytest.fixture
def nobody_answers(celery_app, settings):
    """The app on three sentinels whose ports nothing listens on."""
    sentinel = SentinelSettings(
        sentinels=tuple(("127.0.0.1", free_port()) for _ in range(3)), master="mymaster"
    )
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)
    celery_app._pool = celery_app.amqp._producer_pool = None
    conf.broker_url = sentinel.broker_url
    conf.broker_transport_options = redis_broker_options(sentinel.broker_url, sentinel)
    settings.CACHES = {"default": sentinel.cache(socket_timeout=1)}
    try:
        yield sentinel
    finally:
        celery_app._pool = celery_app.amqp._producer_pool = None
        conf.broker_url, conf.broker_transport_options = saved


def test_publish_and_cache_fail_fast_when_no_sentinel_answers(nobody_answers, caplog, monkeypatch):
    monkeypatch.setattr("core.cache._last_warning", [0.0])
    start = time.monotonic()
    assert publish_task("tests.nothing", 1) is False
    assert time.monotonic() - start < 1

    # The cache answers as an empty one (and logs the outage) rather than failing pages.
    start = time.monotonic()
    with caplog.at_level("WARNING", logger="core.cache"):
        assert cache.get("anything", "fallback") == "fallback"
        assert cache.add("lock", 1) is True
    assert time.monotonic() - start < 2
    assert "No master found" in caplog.text
