"""Redis behind Sentinel, for the Celery broker and the Django cache.

With `REDIS_SENTINELS` set, neither talks to a fixed Redis address: each asks the
sentinels which server is the master of `REDIS_SENTINEL_MASTER`, and asks again after a
failover. The broker uses kombu's own `sentinel://` transport; the cache is Django's
RedisCache with a connection pool class (`SentinelMasterPool`) that does the asking.

Both keep the short socket timeouts of the plain Redis set-up, and the connections to the
sentinels themselves get them too, without redis-py's default retries (three, with a
backoff of up to seconds): a web request publishing a task must still fail fast when
the master is gone and no replica has taken over yet (see notifications.publish).
"""

from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_DEFAULT_PORT = 26379
# Connecting to a sentinel or to the master on loopback or a LAN takes well under this.
CONNECT_TIMEOUT = 0.3
SENTINEL_TIMEOUT = 0.5


@dataclass(frozen=True)
class SentinelSettings:
    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    password: str = ""  # of the Redis servers (master and replicas)
    sentinel_password: str = ""  # of the sentinels, when they have `requirepass`

    @property
    def broker_url(self) -> str:
        """kombu's form: one `sentinel://` URL per sentinel, joined by `;`. The password
        and database of the first one are used for the master."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return ";".join(
            f"sentinel://{auth}{_url_host(host)}:{port}/{self.db}" for host, port in self.sentinels
        )

    def sentinel_kwargs(self) -> dict[str, Any]:
        """Connection settings for the sentinels themselves: short timeouts and no retry
        (`retry=None`), since discovery already moves on to the next sentinel."""
        kwargs: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": SENTINEL_TIMEOUT,
            "retry": None,
        }
        if self.sentinel_password:
            kwargs["password"] = self.sentinel_password
        return kwargs

    def broker_transport_options(self) -> dict[str, Any]:
        """What kombu's sentinel transport needs on top of the plain Redis options."""
        return {"master_name": self.master, "sentinel_kwargs": self.sentinel_kwargs()}

    def cache(self, *, socket_timeout: float) -> dict[str, Any]:
        """A `CACHES` entry: Django's RedisCache on the master the sentinels name."""
        options: dict[str, Any] = {
            "pool_class": f"{__name__}.SentinelMasterPool",
            "sentinels": list(self.sentinels),
            "sentinel_kwargs": self.sentinel_kwargs(),
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": socket_timeout,
        }
        if self.password:
            options["password"] = self.password
        return {
            "BACKEND": "core.cache.ResilientRedisCache",
            # One location, never a list: RedisCache reads from the other entries of a
            # list as replicas. The sentinels are in OPTIONS.
            "LOCATION": f"sentinel://{quote(self.master, safe='')}/{self.db}",
            "OPTIONS": options,
        }


def redis_broker_options(broker_url: str, sentinel: SentinelSettings | None) -> dict[str, Any]:
    """Celery's `broker_transport_options` for a `redis://` or `sentinel://` broker."""
    options: dict[str, Any] = {
        # Above the longest task time limit (CELERY_TASK_TIME_LIMIT), or Redis hands a
        # slow task to a second worker.
        "visibility_timeout": 3600,
        # Short socket timeouts keep a web request from waiting on a broker that is down.
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": 2,
    }
    if broker_url.startswith("sentinel://"):
        if sentinel is None:
            raise ImproperlyConfigured("A sentinel:// CELERY_BROKER_URL needs REDIS_SENTINELS.")
        options |= sentinel.broker_transport_options()
    return options


def sentinel_settings(
    *,
    sentinels: list[str],
    master: str,
    db: int = 0,
    password: str = "",
    sentinel_password: str = "",
    redis_url: str = "",
) -> SentinelSettings | None:
    """The Sentinel set-up read from settings, or None when `sentinels` is empty.

    `sentinels` are `host:port` items (port 26379 when left out). Refuses a `redis_url`
    beside them: the app would not know which of the two the broker and cache mean."""
    if not sentinels:
        return None
    if redis_url:
        raise ImproperlyConfigured(
            "Set either REDIS_URL (one Redis server) or REDIS_SENTINELS (Redis behind "
            "Sentinel), not both."
        )
    if not master:
        raise ImproperlyConfigured("REDIS_SENTINEL_MASTER must name the monitored master.")
    return SentinelSettings(
        sentinels=tuple(_host_port(item) for item in sentinels),
        master=master,
        db=db,
        password=password,
        sentinel_password=sentinel_password,
    )


def _host_port(item: str) -> tuple[str, int]:
    host, sep, port = item.rpartition(":")
    if not sep:
        return item, SENTINEL_DEFAULT_PORT
    host = host.removeprefix("[").removesuffix("]")  # [::1]:26379
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINELS items are host:port, got {item!r}")
    return host, int(port)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 address


class SentinelMasterPool(SentinelConnectionPool):
    """Connections to whichever server the sentinels name as master.

    Django's RedisCache builds its pool with `pool_class.from_url(LOCATION, **OPTIONS)`;
    here LOCATION is `sentinel://<master name>/<db>` and OPTIONS carry `sentinels` and
    `sentinel_kwargs` besides the usual connection settings. A connection asks the
    sentinels for the master each time it connects, so after a failover the next command
    that finds its connection broken reconnects to the new master (and one that reaches
    a demoted master gets a ReadOnlyError, which makes it reconnect too)."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Self:
        parts = urlsplit(url)
        if parts.scheme != "sentinel" or not parts.netloc:
            raise ImproperlyConfigured(f"expected sentinel://<master name>/<db>, got {url!r}")
        sentinels = [(str(host), int(port)) for host, port in kwargs.pop("sentinels")]
        sentinel_kwargs = kwargs.pop("sentinel_kwargs", None)
        manager = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]
        db = int(parts.path.strip("/") or 0)
        return cls(unquote(parts.netloc), manager, db=db, **kwargs)
