"""The read replica's routing rules (hub/db_routing.py), without a replica.

A "replica" alias that nothing connects to stands in for the real one: these tests check
where each read and write would go, when a browser is sent to the primary, how the
replica's health is measured and logged, and how settings install it all. The real
streaming replica is in test_replicas.py.
"""

import json
import logging
import time
from collections.abc import Iterator
from contextlib import suppress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connections, router
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from hub import db_routing
from hub.db_routing import (
    PRIMARY,
    RECHECK_SECONDS,
    REPLICA,
    RETRY_UNREACHABLE_SECONDS,
    WRITE_COOKIE,
    ReadYourWritesMiddleware,
    ReplicaHealth,
    ReplicaMonitor,
    ReplicaRouter,
    ReplicaStatus,
    judge_replica,
    reads_from_replica,
    reads_replica_for,
    replica_database,
)
from teams.models import Team
from tests.support.processes import settings_in_fresh_interpreter

POSTGRES = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60}


def health(status: ReplicaStatus = ReplicaStatus.OK, **changes: float) -> ReplicaHealth:
    values = {"holds_commits_before": time.time(), "measured_at": time.monotonic()}
    values.update(changes)
    return ReplicaHealth(status=status, detail=str(status), **values)


class Measurements:
    """A monitor's measure function that answers from a list and counts its calls."""

    def __init__(self, *answers: ReplicaHealth) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self) -> ReplicaHealth:
        self.calls += 1
        return self.answers[min(self.calls, len(self.answers)) - 1]


@pytest.fixture
def replica_alias(settings) -> Iterator[None]:
    """A configured "replica" alias and the router, as settings install them."""
    primary = dict(connections[PRIMARY].settings_dict)
    fake = {**POSTGRES, "NAME": "passerelle", "HOST": "replica.invalid"}
    connections.settings[REPLICA] = connections.configure_settings(
        {PRIMARY: primary, REPLICA: fake}
    )[REPLICA]
    settings.DATABASE_ROUTERS = ["hub.db_routing.ReplicaRouter"]
    yield
    with suppress(AttributeError):
        del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def replica_is(monkeypatch):
    """Makes the process's monitor answer the given health from now on."""

    def install(answer: ReplicaHealth | None) -> Measurements:
        measurements = Measurements(answer) if answer else Measurements()
        monitor = ReplicaMonitor(measure=measurements)
        if answer is None:
            monkeypatch.setattr(monitor, "health", lambda: None)
        monkeypatch.setattr(db_routing, "monitor", monitor)
        return measurements

    return install


@reads_from_replica
def where_reads_go(request: HttpRequest) -> HttpResponse:
    return HttpResponse(router.db_for_read(Team))


def cookie_of_a_write(rf: RequestFactory) -> str:
    response = ReadYourWritesMiddleware(lambda request: HttpResponse())(rf.post("/"))
    return response.cookies[WRITE_COOKIE].value


# --- where reads and writes go -------------------------------------------------------


def test_without_a_replica_a_decorated_view_reads_the_primary(rf, replica_is):
    measurements = replica_is(health())
    assert where_reads_go(rf.get("/")).content == b"default"
    assert measurements.calls == 0


@pytest.mark.usefixtures("replica_alias")
def test_a_get_or_head_of_an_opted_in_view_reads_a_well_replica(rf, replica_is):
    replica_is(health())
    assert where_reads_go(rf.get("/")).content == b"replica"
    assert where_reads_go(rf.head("/")).content == b"replica"


@pytest.mark.usefixtures("replica_alias")
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_other_methods_read_the_primary(rf, replica_is, method):
    measurements = replica_is(health())
    assert where_reads_go(getattr(rf, method)("/")).content == b"default"
    assert measurements.calls == 0


@pytest.mark.usefixtures("replica_alias")
def test_views_that_did_not_opt_in_tasks_and_commands_read_the_primary(replica_is):
    replica_is(health())
    assert router.db_for_read(Team) == PRIMARY
    assert Team.objects.all().db == PRIMARY


@pytest.mark.usefixtures("replica_alias")
@pytest.mark.parametrize(
    "status", [ReplicaStatus.LAGGING, ReplicaStatus.UNREACHABLE, ReplicaStatus.NOT_A_STANDBY]
)
def test_a_replica_that_is_not_well_is_left_alone(rf, replica_is, status):
    replica_is(health(status))
    assert where_reads_go(rf.get("/")).content == b"default"


@pytest.mark.usefixtures("replica_alias")
def test_before_the_first_measurement_comes_back_reads_go_to_the_primary(rf, replica_is):
    replica_is(None)  # another thread is measuring
    assert where_reads_go(rf.get("/")).content == b"default"


@pytest.mark.usefixtures("replica_alias")
def test_writes_and_reads_that_lead_to_writes_go_to_the_primary(rf, replica_is):
    replica_is(health())

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        routes = [
            Team.objects.all().db,
            Team.objects.select_for_update().db,
            router.db_for_write(Team),
            # after a write, the rest of the view reads what it wrote
            Team.objects.all().db,
        ]
        return HttpResponse(json.dumps(routes))

    assert json.loads(view(rf.get("/")).content) == ["replica", "default", "default", "default"]
    assert ReplicaRouter().db_for_write(Team) == PRIMARY


@pytest.mark.usefixtures("replica_alias")
def test_reads_inside_a_transaction_go_to_the_primary(rf, replica_is, monkeypatch):
    replica_is(health())

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        monkeypatch.setattr(connections[PRIMARY], "in_atomic_block", True)
        return HttpResponse(router.db_for_read(Team))

    assert view(rf.get("/")).content == b"default"
    # ...and a view run inside one (ATOMIC_REQUESTS) does not even look at the replica.
    measurements = replica_is(health())
    assert where_reads_go(rf.get("/")).content == b"default"
    assert measurements.calls == 0


def test_an_async_view_cannot_opt_in():
    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    with pytest.raises(TypeError, match="synchronous"):
        reads_from_replica(view)


def test_the_replica_is_never_migrated_and_shares_relations_with_the_primary():
    router_ = ReplicaRouter()
    assert router_.allow_migrate(REPLICA, "teams") is False
    assert router_.allow_migrate(PRIMARY, "teams") is None
    one, other = Team(), Team()
    one._state.db, other._state.db = PRIMARY, REPLICA
    assert router_.allow_relation(one, other) is True
    other._state.db = "elsewhere"
    assert router_.allow_relation(one, other) is None


# --- read-your-writes ----------------------------------------------------------------


def test_a_post_marks_the_browser_with_the_time_of_its_write(rf):
    before = time.time()
    response = ReadYourWritesMiddleware(lambda request: HttpResponse())(rf.post("/"))
    cookie = response.cookies[WRITE_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    request = rf.get("/")
    request.COOKIES[WRITE_COOKIE] = cookie.value
    assert before <= db_routing._last_write(request) <= time.time() + 0.001


@pytest.mark.usefixtures("replica_alias")
def test_a_get_marks_the_browser_only_when_it_wrote(rf):
    middleware = ReadYourWritesMiddleware(lambda request: HttpResponse())
    assert WRITE_COOKIE not in middleware(rf.get("/")).cookies

    def writing_view(request: HttpRequest) -> HttpResponse:
        router.db_for_write(Team)
        return HttpResponse()

    assert WRITE_COOKIE in ReadYourWritesMiddleware(writing_view)(rf.get("/")).cookies


@pytest.mark.usefixtures("replica_alias")
def test_a_browser_that_just_wrote_reads_the_primary_without_asking_the_replica(
    rf, replica_is, settings
):
    settings.DATABASE_REPLICA_STICKY_SECONDS = 5
    measurements = replica_is(health())
    request = rf.get("/")
    request.COOKIES[WRITE_COOKIE] = cookie_of_a_write(rf)
    assert where_reads_go(request).content == b"default"
    assert measurements.calls == 0


@pytest.mark.usefixtures("replica_alias")
def test_after_the_sticky_seconds_the_replica_must_hold_the_write(rf, replica_is, settings):
    settings.DATABASE_REPLICA_STICKY_SECONDS = 0
    request = rf.get("/")
    request.COOKIES[WRITE_COOKIE] = cookie_of_a_write(rf)
    time.sleep(0.01)  # the write's time is rounded up to the millisecond
    replica_is(health(holds_commits_before=time.time() - 10))  # 10 s behind
    assert where_reads_go(request).content == b"default"
    replica_is(health(holds_commits_before=time.time() + 1))  # caught up since
    assert where_reads_go(request).content == b"replica"


@pytest.mark.usefixtures("replica_alias")
def test_a_forged_write_cookie_is_ignored(rf, replica_is):
    replica_is(health())
    request = rf.get("/")
    request.COOKIES[WRITE_COOKIE] = f"{time.time():.3f}"
    assert where_reads_go(request).content == b"replica"


# --- a replica that fails during a view ----------------------------------------------


@pytest.mark.usefixtures("replica_alias")
def test_a_view_whose_replica_fails_runs_again_on_the_primary(rf, replica_is, caplog):
    replica_is(health())
    runs = []

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        runs.append(router.db_for_read(Team))
        if len(runs) == 1:
            connections[REPLICA].errors_occurred = True
            raise OperationalError("server closed the connection unexpectedly")
        return HttpResponse("fine")

    with caplog.at_level(logging.INFO, logger="hub.db_routing"):
        assert view(rf.get("/")).content == b"fine"
    assert runs == ["replica", "default"]
    assert db_routing.monitor.health().status is ReplicaStatus.UNREACHABLE
    assert "server closed the connection" in caplog.text
    # ...and the next request does not try it again before the retry delay.
    assert where_reads_go(rf.get("/")).content == b"default"


@pytest.mark.usefixtures("replica_alias")
def test_a_database_error_that_is_not_the_replicas_is_raised(rf, replica_is):
    replica_is(health())

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        raise OperationalError("the primary is down")

    with pytest.raises(OperationalError, match="primary"):
        view(rf.get("/"))


# --- measuring the replica -----------------------------------------------------------


def judged(**changes: object) -> ReplicaHealth:
    values: dict[str, object] = {
        "in_recovery": True,
        "caught_up": False,
        "seconds_since_replay": 1.0,
        "sampled_at": 1000.0,
        "max_lag": 10,
        "measured_at": 5.0,
    }
    values.update(changes)
    return judge_replica(**values)


def test_a_caught_up_replica_holds_every_commit_before_the_measurement():
    # However long ago its last transaction: an idle primary writes none.
    result = judged(caught_up=True, seconds_since_replay=3600.0)
    assert result.usable
    assert result.holds_commits_before == 1000.0


def test_a_replica_behind_is_as_late_as_its_last_replayed_transaction():
    result = judged(seconds_since_replay=3.0)
    assert result.usable
    assert result.holds_commits_before == pytest.approx(time.time() - 3.0, abs=1)
    assert judged(seconds_since_replay=10.5).status is ReplicaStatus.LAGGING
    assert judged(seconds_since_replay=None).status is ReplicaStatus.LAGGING


def test_a_server_out_of_recovery_is_not_used_as_a_replica():
    assert judged(in_recovery=False, caught_up=True).status is ReplicaStatus.NOT_A_STANDBY


def test_the_replica_is_measured_at_most_every_few_seconds():
    now = [100.0]
    measurements = Measurements(health(measured_at=100.0))
    monitor = ReplicaMonitor(measure=measurements, clock=lambda: now[0])
    monitor.health()
    now[0] += RECHECK_SECONDS / 2
    monitor.health()
    assert measurements.calls == 1
    now[0] += RECHECK_SECONDS
    monitor.health()
    assert measurements.calls == 2
    monitor.expire()
    monitor.health()
    assert measurements.calls == 3


def test_an_unreachable_replica_is_retried_less_often():
    now = [100.0]
    measurements = Measurements(health(ReplicaStatus.UNREACHABLE, measured_at=100.0))
    monitor = ReplicaMonitor(measure=measurements, clock=lambda: now[0])
    monitor.health()
    now[0] += RECHECK_SECONDS * 2
    monitor.health()
    assert measurements.calls == 1
    now[0] += RETRY_UNREACHABLE_SECONDS
    monitor.health()
    assert measurements.calls == 2


def test_while_one_thread_measures_the_others_use_the_last_answer():
    measurements = Measurements(health(measured_at=0.0))
    monitor = ReplicaMonitor(measure=measurements, clock=lambda: 100.0)
    first = monitor.health()
    monitor._lock.acquire()
    try:
        assert monitor.health() is first  # due, but being measured: not waited for
    finally:
        monitor._lock.release()
    assert measurements.calls == 1


def test_each_change_of_state_is_logged_once(caplog):
    measurements = Measurements(
        health(),
        health(ReplicaStatus.LAGGING),
        health(ReplicaStatus.LAGGING),
        health(ReplicaStatus.UNREACHABLE),
        health(),
        health(),
    )
    monitor = ReplicaMonitor(measure=measurements)
    with caplog.at_level(logging.INFO, logger="hub.db_routing"):
        for _ in measurements.answers:
            monitor.expire()
            monitor.health()
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records] == [
        ("WARNING", "Read replica left alone, read-only pages read the primary"),
        ("WARNING", "Read replica left alone, read-only pages read the primary"),
        ("INFO", "Read replica in use again"),
    ]


# --- settings ------------------------------------------------------------------------


def test_the_replica_url_is_read_like_the_database_url():
    replica = replica_database(
        "postgres://reader:pw@replica.example:5433/passerelle?options=-c%20search_path%3Dapp",
        primary={**POSTGRES, "CONN_HEALTH_CHECKS": True},
        connection_options="-c jit=off",
    )
    assert replica["HOST"] == "replica.example"
    assert replica["CONN_MAX_AGE"] == 60
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert replica["OPTIONS"] == {"options": "-c search_path=app -c jit=off", "connect_timeout": 2}
    assert replica["TEST"] == {"MIRROR": "default"}
    slower = replica_database(
        "postgres://h/db?connect_timeout=5", primary=POSTGRES, connection_options=""
    )
    assert slower["OPTIONS"] == {"connect_timeout": 5}


def test_a_replica_needs_postgresql_on_both_sides():
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        replica_database(
            "postgres://h/db",
            primary={"ENGINE": "django.db.backends.sqlite3"},
            connection_options="",
        )
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        replica_database("sqlite:////tmp/x.sqlite3", primary=POSTGRES, connection_options="")


def installed(**env: str) -> dict[str, object]:
    left_out = ("DATABASE_REPLICA_URL", "DATABASE_CONNECTION_OPTIONS", "DATABASE_POOLER")
    result: dict[str, object] = settings_in_fresh_interpreter(
        "{'replica': settings.DATABASES.get('replica'), "
        "'routers': settings.DATABASE_ROUTERS, 'middleware': settings.MIDDLEWARE}",
        env,
        keep=lambda name: name not in left_out,
    )
    return result


def test_without_a_replica_url_nothing_is_installed():
    result = installed(DATABASE_URL="postgres://u@db.invalid:5432/passerelle")
    assert result["replica"] is None
    assert result["routers"] == []
    assert "hub.db_routing.ReadYourWritesMiddleware" not in result["middleware"]


def test_a_replica_url_installs_the_alias_the_router_and_the_middleware():
    result = installed(
        DATABASE_URL="postgres://u@db.invalid:5432/passerelle",
        DATABASE_REPLICA_URL="postgres://u@replica.invalid:5432/passerelle",
    )
    replica = result["replica"]
    assert isinstance(replica, dict)
    assert replica["HOST"] == "replica.invalid"
    assert replica["OPTIONS"]["options"] == "-c random_page_cost=1.1 -c jit=off"
    assert result["routers"] == ["hub.db_routing.ReplicaRouter"]
    assert result["middleware"][-1] == "hub.db_routing.ReadYourWritesMiddleware"


# --- read-only work outside a request ----------------------------------------------------


def test_without_a_replica_a_tasks_read_only_work_reads_the_primary(replica_is):
    replica_is(health())
    # Without a replica configured: the primary.
    assert reads_replica_for(lambda: router.db_for_read(Team)) == PRIMARY


@pytest.mark.usefixtures("replica_alias")
def test_a_tasks_read_only_work_reads_the_replica_when_it_is_well(replica_is):
    replica_is(health())
    assert reads_replica_for(lambda: router.db_for_read(Team)) == REPLICA
    replica_is(health(status=ReplicaStatus.LAGGING))
    assert reads_replica_for(lambda: router.db_for_read(Team)) == PRIMARY
    assert router.db_for_read(Team) == PRIMARY  # only inside the work
