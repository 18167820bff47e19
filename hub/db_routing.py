"""Read replica: the read-only pages read a streaming replica, everything else the primary.

Configured by DATABASE_REPLICA_URL (see docs/scaling/replicas.md). Without it, settings
install neither the router nor the middleware, and `reads_from_replica` calls the view
unchanged: there is no routing at all.

The contract, which every piece below keeps:
- Nothing reads the replica unless a view opts in with `@reads_from_replica`, and then only
  for a GET or HEAD request, while the view runs (not while a streamed response is sent).
  Celery tasks, management commands, the shell and every other view read the primary,
  except read-only work a task hands to `reads_replica_for` (the dashboards' figures).
- Every write goes to the primary, and so does every read that could lead to one or must
  be consistent with one: reads inside `transaction.atomic()`, `select_for_update()`,
  `get_or_create()`, and any read after the first write of the view.
- Read-your-writes: a browser that has just written (a POST, PUT, PATCH or DELETE, or a
  GET whose view wrote) carries a signed cookie with the time of its write. It reads the
  primary for DATABASE_REPLICA_STICKY_SECONDS, and after that for as long as the replica
  is not known to hold every commit made before that time.
- Lag and loss: each process measures the replica at most every RECHECK_SECONDS, by
  comparing its replayed WAL position with the primary's; a replica more than
  DATABASE_REPLICA_MAX_LAG_SECONDS behind, unreachable, or no longer a standby is left
  alone until a later measurement finds it well, with one log line per change of state.
  A replica that fails while a view reads it (connection lost, query cancelled by
  recovery) makes the view run again on the primary: opted-in views are read-only, so a
  second run is harmless, and the page never becomes a 500 because of the replica.
"""

import inspect
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import Any, Concatenate

import dj_database_url
from dj_database_url import DBConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest
from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"

# How often each process measures a replica it uses (or that is behind), and retries one
# it could not reach: every retry of a host that drops packets costs one request the
# connect timeout, so those are spaced further apart.
RECHECK_SECONDS = 2.0
RETRY_UNREACHABLE_SECONDS = 10.0
# libpq's smallest connect timeout; a replica URL may set a longer one.
CONNECT_TIMEOUT_SECONDS = 2

WRITE_COOKIE = "passerelle_wrote"
_WRITE_COOKIE_SALT = "hub.db_routing.write"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_REPLICA_METHODS = frozenset({"GET", "HEAD"})


# --- settings -------------------------------------------------------------------------


def replica_database(url: str, *, primary: DBConfig, connection_options: str) -> DBConfig:
    """The DATABASES entry of the replica: its URL read like DATABASE_URL (same connection
    lifetime and health checks, the same DATABASE_CONNECTION_OPTIONS added to any
    `?options=` of its own), a short connect timeout, and a test mirror of the primary so
    the test suite reads and writes one database."""
    replica = dj_database_url.parse(
        url,
        conn_max_age=primary.get("CONN_MAX_AGE", 0),
        conn_health_checks=primary.get("CONN_HEALTH_CHECKS", False),
    )
    for name, database in (("DATABASE_URL", primary), ("DATABASE_REPLICA_URL", replica)):
        if not database["ENGINE"].endswith("postgresql"):
            raise ImproperlyConfigured(
                f"A read replica needs PostgreSQL on both sides: {name} is not PostgreSQL."
            )
    options = replica.setdefault("OPTIONS", {})
    if connection_options:
        options["options"] = f"{options.get('options', '')} {connection_options}".strip()
    options.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    replica["TEST"] = {"MIRROR": PRIMARY}
    return replica


def replica_configured() -> bool:
    return REPLICA in connections.settings


# --- replica health -------------------------------------------------------------------


class ReplicaStatus(StrEnum):
    OK = "ok"
    LAGGING = "lagging"
    UNREACHABLE = "unreachable"
    NOT_A_STANDBY = "not a standby"


@dataclass(frozen=True)
class ReplicaHealth:
    """One measurement of the replica, as this process last saw it."""

    status: ReplicaStatus
    detail: str
    # Every transaction committed on the primary before this instant (time.time()) has
    # been replayed on the replica: how the browser's last write is compared with it.
    holds_commits_before: float
    measured_at: float  # time.monotonic()

    @property
    def usable(self) -> bool:
        return self.status is ReplicaStatus.OK

    def due(self, now: float) -> bool:
        wait = (
            RETRY_UNREACHABLE_SECONDS
            if self.status is ReplicaStatus.UNREACHABLE
            else RECHECK_SECONDS
        )
        return now - self.measured_at >= wait


def judge_replica(
    *,
    in_recovery: bool,
    caught_up: bool,
    seconds_since_replay: float | None,
    sampled_at: float,
    max_lag: float,
    measured_at: float,
) -> ReplicaHealth:
    """The replica's health from what it answered.

    `caught_up`: it had replayed the primary's WAL position read at `sampled_at`, so it
    holds every commit made before then, however idle the primary (the time of the last
    replayed transaction alone would make an idle primary's replica look behind).
    Otherwise it is as far behind as the last transaction it replayed is old."""
    if not in_recovery:
        return ReplicaHealth(
            status=ReplicaStatus.NOT_A_STANDBY,
            detail="the replica is not in recovery (promoted, or not a standby at all)",
            holds_commits_before=0.0,
            measured_at=measured_at,
        )
    if caught_up:
        return ReplicaHealth(
            status=ReplicaStatus.OK,
            detail="caught up with the primary",
            holds_commits_before=sampled_at,
            measured_at=measured_at,
        )
    if seconds_since_replay is None:
        return ReplicaHealth(
            status=ReplicaStatus.LAGGING,
            detail="the replica is behind and has replayed no transaction since it started",
            holds_commits_before=0.0,
            measured_at=measured_at,
        )
    lag = max(0.0, seconds_since_replay)
    holds_before = time.time() - lag
    if lag > max_lag:
        return ReplicaHealth(
            status=ReplicaStatus.LAGGING,
            detail=f"the replica is {lag:.1f} s behind (limit {max_lag:g} s)",
            holds_commits_before=holds_before,
            measured_at=measured_at,
        )
    return ReplicaHealth(
        status=ReplicaStatus.OK,
        detail=f"{lag:.1f} s behind",
        holds_commits_before=holds_before,
        measured_at=measured_at,
    )


def _forget_replica_connection() -> None:
    # A broken connection object would be reused by this thread until a request ends;
    # closing it makes the next use connect afresh.
    with suppress(DatabaseError):
        connections[REPLICA].close()


def _unreachable(error: Exception, *, measured_at: float) -> ReplicaHealth:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return ReplicaHealth(
        status=ReplicaStatus.UNREACHABLE,
        detail=f"{type(error).__name__}: {first_line}",
        holds_commits_before=0.0,
        measured_at=measured_at,
    )


def measure_replica() -> ReplicaHealth:
    """Ask the primary for its WAL position, then the replica whether it has replayed it:
    two one-row queries, run by `ReplicaMonitor` at most every RECHECK_SECONDS."""
    measured_at = time.monotonic()
    # Read before the primary's position: anything committed before this instant is at or
    # below that position.
    sampled_at = time.time()
    try:
        with connections[PRIMARY].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            (primary_lsn,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(),"
                " COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false),"
                " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())",
                [primary_lsn],
            )
            in_recovery, caught_up, seconds_since_replay = cursor.fetchone()
    except DatabaseError as error:
        _forget_replica_connection()
        return _unreachable(error, measured_at=measured_at)
    return judge_replica(
        in_recovery=in_recovery,
        caught_up=caught_up,
        seconds_since_replay=None if seconds_since_replay is None else float(seconds_since_replay),
        sampled_at=sampled_at,
        max_lag=settings.DATABASE_REPLICA_MAX_LAG_SECONDS,
        measured_at=measured_at,
    )


class ReplicaMonitor:
    """The replica's health as this process knows it, measured again when due.

    Thread-safe: one thread measures while the others keep using the previous answer
    (or the primary, before the first one), so a slow replica never queues requests."""

    def __init__(
        self,
        measure: Callable[[], ReplicaHealth] = measure_replica,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._measure = measure
        self._clock = clock
        self._lock = threading.Lock()
        self._health: ReplicaHealth | None = None
        self._stale = False

    def health(self) -> ReplicaHealth | None:
        health = self._health
        if health is not None and not self._stale and not health.due(self._clock()):
            return health
        if not self._lock.acquire(blocking=False):
            return health
        try:
            fresh = self._measure()
            self._record(fresh)
        finally:
            self._lock.release()
        return fresh

    def report_failure(self, error: DatabaseError) -> None:
        """A view's query on the replica failed: leave the replica alone until the next
        retry, as if a measurement had found it unreachable."""
        _forget_replica_connection()
        with self._lock:
            self._record(_unreachable(error, measured_at=self._clock()))

    def expire(self) -> None:
        """Measure again at the next request (what is logged still compares with the
        last answer)."""
        self._stale = True

    def reset(self) -> None:
        """Forget everything, as a new process would (for tests)."""
        self._health = None
        self._stale = False

    def _record(self, fresh: ReplicaHealth) -> None:
        previous = self._health
        self._health = fresh
        self._stale = False
        if previous is None and fresh.usable:
            return
        if previous is not None and previous.status is fresh.status:
            return
        if fresh.usable:
            logger.info("Read replica in use again: %s.", fresh.detail)
        else:
            logger.warning(
                "Read replica left alone, read-only pages read the primary: %s.", fresh.detail
            )


monitor = ReplicaMonitor()


# --- read-your-writes -----------------------------------------------------------------


@dataclass
class _RequestWrites:
    happened: bool = False


@dataclass
class _ReplicaReads:
    wrote: bool = False


_request_writes: ContextVar[_RequestWrites | None] = ContextVar(
    "passerelle_request_writes", default=None
)
_replica_reads: ContextVar[_ReplicaReads | None] = ContextVar(
    "passerelle_replica_reads", default=None
)


def _write_cookie_max_age() -> int:
    # Past this age the cookie cannot matter: a replica still missing the write would be
    # more than the lag limit behind, measured less than a recheck ago, and left alone.
    return (
        settings.DATABASE_REPLICA_STICKY_SECONDS
        + settings.DATABASE_REPLICA_MAX_LAG_SECONDS
        + math.ceil(2 * RECHECK_SECONDS)
    )


def _last_write(request: HttpRequest) -> float | None:
    raw = request.get_signed_cookie(
        WRITE_COOKIE, default=None, salt=_WRITE_COOKIE_SALT, max_age=_write_cookie_max_age()
    )
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


class ReadYourWritesMiddleware:
    """Marks a browser that has just written, so its next pages read the primary.

    After a POST, PUT, PATCH or DELETE, or a GET during which a write was routed, the
    response carries a signed cookie with the time of the write, taken once the view
    has returned and its transactions have committed. Installed by settings only when
    a replica is configured, last in MIDDLEWARE (session bookkeeping done by the outer
    middleware does not count: sessions are read from the primary, before the view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        writes = _RequestWrites()
        token = _request_writes.set(writes)
        try:
            response = self.get_response(request)
        finally:
            _request_writes.reset(token)
        if request.method not in _SAFE_METHODS or writes.happened:
            response.set_signed_cookie(
                WRITE_COOKIE,
                # Rounded up: a write must never look older than it is.
                f"{math.ceil(time.time() * 1000) / 1000:.3f}",
                salt=_WRITE_COOKIE_SALT,
                max_age=_write_cookie_max_age(),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


# --- the opt-in and the router --------------------------------------------------------


def _may_read_replica(request: HttpRequest) -> bool:
    if not replica_configured() or request.method not in _REPLICA_METHODS:
        return False
    if connections[PRIMARY].in_atomic_block:  # ATOMIC_REQUESTS, or a test's transaction
        return False
    wrote_at = _last_write(request)
    if wrote_at is not None and time.time() - wrote_at < settings.DATABASE_REPLICA_STICKY_SECONDS:
        return False
    health = monitor.health()
    if health is None or not health.usable:
        return False
    return wrote_at is None or wrote_at < health.holds_commits_before


@contextmanager
def _replica_reads_allowed() -> Iterator[None]:
    token = _replica_reads.set(_ReplicaReads())
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica[Req: HttpRequest, **P, Resp: HttpResponseBase](
    view: Callable[Concatenate[Req, P], Resp],
) -> Callable[Concatenate[Req, P], Resp]:
    """Let a read-only view read the replica (GET and HEAD only; see the module docstring).

    Only for views whose reads may be up to DATABASE_REPLICA_MAX_LAG_SECONDS old for
    someone else's changes, and that may run twice: when the replica fails during the
    view, the view runs again on the primary. Reads made after the view returns (a
    streamed CSV's rows, a TemplateResponse rendered later) go to the primary."""
    if inspect.iscoroutinefunction(view):
        # Its queries would run after the wrapper returned, outside the permission.
        raise TypeError("reads_from_replica takes synchronous views only.")

    @wraps(view)
    def wrapper(request: Req, /, *args: P.args, **kwargs: P.kwargs) -> Resp:
        if not _may_read_replica(request):
            return view(request, *args, **kwargs)
        return _on_replica(lambda: view(request, *args, **kwargs))

    return wrapper


def reads_replica_for[T](work: Callable[[], T]) -> T:
    """Run read-only `work` outside a request (a task computing dashboard figures) on the
    replica when one is configured and well, else on the primary; a replica failing
    mid-way makes `work` run again on the primary. No read-your-writes to honour: a task
    has no browser, and what it reads may be DATABASE_REPLICA_MAX_LAG_SECONDS old, as for
    the pages that opt in."""
    if not replica_configured() or connections[PRIMARY].in_atomic_block:
        return work()
    health = monitor.health()
    if health is None or not health.usable:
        return work()
    return _on_replica(work)


def _on_replica[T](work: Callable[[], T]) -> T:
    try:
        with _replica_reads_allowed():
            return work()
    except DatabaseError as error:
        if not connections[REPLICA].errors_occurred:
            raise
        monitor.report_failure(error)
    return work()


class ReplicaRouter:
    """DATABASE_ROUTERS entry, installed only with a replica: reads go to it only inside
    a view `reads_from_replica` let through, outside any transaction and before the view's
    first write; every write, and every read that Django routes as one, goes to the
    primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        reads = _replica_reads.get()
        if reads is None or reads.wrote or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return REPLICA

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Also asked for select_for_update() and get_or_create() reads.
        reads = _replica_reads.get()
        if reads is not None:
            reads.wrote = True
        writes = _request_writes.get()
        if writes is not None:
            writes.happened = True
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both hold the same data: an object read from one may point at one from the other.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        # The replica replays the primary's migrations; it cannot run its own.
        return False if db == REPLICA else None
