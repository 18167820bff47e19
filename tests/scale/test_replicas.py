"""A real streaming replica of the test database, and the pages that read it.

`replica_cluster` makes a second PostgreSQL cluster on this machine a hot standby of the
test run's server: pg_createcluster, then its data directory replaced by pg_basebackup
of the primary (-R: it starts as a standby streaming from it). The copy is taken once
pytest-django has created the test database, so the standby holds that database too, and
every later write (the tests', the flushes between them) streams to it. The cluster is
dropped at the end of the session, whatever happened; the replication rule it may have
added to the primary's pg_hba.conf is removed with it.

Needs root, the Debian PostgreSQL tools and DATABASE_URL on PostgreSQL at 127.0.0.1 (CI's
machine); without them the tests skip, or fail under PASSERELLE_REQUIRE_SERVICES=1.

Set-up takes about 10 s on a server holding only test databases; pg_basebackup copies
the whole cluster, so longer with other databases on it (15 to 25 s with 1.2 GB).

The pages are those of tests/scale/urls.py: the app's own with the read-only ones opted
in, and probe views. A stale answer while replay is paused shows where a read went.
"""

import fcntl
import logging
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from feed.selectors import Week
from hub import db_routing
from hub.db_routing import PRIMARY, REPLICA, ReplicaStatus, replica_database
from notifications.subscriptions import subscription_token_get_or_create
from teams.models import Team
from tests.conftest import REQUIRE_SERVICES
from tests.factories import (
    MembershipFactory,
    TeamFactory,
    announced_campaign,
    make_manager,
    make_marketer,
)
from tests.support.servers import free_port, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

REPLICATION_RULE = "host replication all 127.0.0.1/32 trust"
RULE_MARK = "# added by tests/scale/test_replicas.py for its replica; removed after"
HBA_LOCK = Path("/tmp/passerelle-replica-test-hba.lock")  # noqa: S108 - shared by workers
CLUSTER_PREFIX = "replica_test"
# Settings a hot standby must have at least as high as its primary, or it will not start.
STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"PASSERELLE_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def _run(*command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed PostgreSQL tools, our own arguments
        command, capture_output=True, text=True, check=False, env=env, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass
class Server:
    """A PostgreSQL server reached as the test run's user, for the fixture's own SQL."""

    host: str
    port: int
    user: str
    password: str

    def sql(self, query: str, params: tuple[object, ...] = ()) -> Any:
        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname="postgres",
            autocommit=True,
            connect_timeout=2,
        ) as connection:
            row = connection.execute(query, params).fetchone()
            return None if row is None else row[0]


@dataclass
class Cluster:
    version: str
    name: str
    primary: Server
    standby: Server

    def ctl(self, action: str, *args: str) -> None:
        _run("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *args)

    def log_tail(self) -> str:
        log = Path(f"/var/log/postgresql/postgresql-{self.version}-{self.name}.log")
        return "\n".join(log.read_text().splitlines()[-20:]) if log.exists() else ""

    def is_standby(self) -> bool:
        try:
            return bool(self.standby.sql("SELECT pg_is_in_recovery()"))
        except psycopg.Error:
            return False

    def start(self) -> None:
        self.ctl("start")
        if not wait_until(self.is_standby, timeout=30, interval=0.2):
            raise RuntimeError(f"the replica did not start as a standby:\n{self.log_tail()}")

    def stop(self) -> None:
        self.ctl("stop", "-m", "fast")

    def pause(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self) -> None:
        position = self.primary.sql("SELECT pg_current_wal_lsn()::text")

        def caught_up() -> bool:
            return bool(
                self.standby.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))
            )

        if not wait_until(caught_up, timeout=20, interval=0.05):
            raise RuntimeError(f"the replica did not catch up:\n{self.log_tail()}")


@contextmanager
def _hba_lock() -> Iterator[None]:
    with HBA_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _is_the_rule(line: str) -> bool:
    return line.split("#", 1)[0].split() == REPLICATION_RULE.split()


def _allow_replication(primary: Server) -> None:
    """Adds the replication rule, marked as ours, to the primary's pg_hba.conf unless it
    has it (ours, from a concurrent run, or the administrator's)."""
    hba = Path(primary.sql("SHOW hba_file"))
    with _hba_lock():
        lines = hba.read_text().splitlines()
        if any(_is_the_rule(line) for line in lines):
            return
        hba.write_text("\n".join([*lines, RULE_MARK, REPLICATION_RULE, ""]))
        primary.sql("SELECT pg_reload_conf()")


def _disallow_replication(primary: Server) -> None:
    """Removes the rule these tests added (only the marked one), once no run needs it."""
    hba = Path(primary.sql("SHOW hba_file"))
    with _hba_lock():
        if _test_clusters():
            return  # another run's replica still streams through the rule
        lines = hba.read_text().splitlines()
        kept = [
            line
            for i, line in enumerate(lines)
            if line != RULE_MARK and not (i > 0 and lines[i - 1] == RULE_MARK)
        ]
        if kept != lines:
            hba.write_text("\n".join([*kept, ""]))
            primary.sql("SELECT pg_reload_conf()")


def _drop_cluster(version: str, name: str) -> None:
    listed = _run("pg_lsclusters", "--no-header").split()
    if name in listed:
        # A throwaway standby: no need for the clean shutdown `--stop` alone would wait for.
        with suppress(RuntimeError):
            _run("pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop", "-m", "i")
        _run("pg_dropcluster", "--stop", version, name)


def _test_clusters() -> list[tuple[str, str]]:
    """(version, name) of every replica these tests made, this run's and others'."""
    rows = [line.split() for line in _run("pg_lsclusters", "--no-header").splitlines()]
    return [(row[0], row[1]) for row in rows if row[1:] and row[1].startswith(CLUSTER_PREFIX)]


def _drop_leftovers() -> None:
    """Drops the replicas of runs that were killed (named after a process now gone)."""
    for version, name in _test_clusters():
        pid = name.removeprefix(f"{CLUSTER_PREFIX}_")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            _drop_cluster(version, name)


def _base_backup(cluster: Cluster, datadir: Path) -> None:
    postgres = pwd.getpwnam("postgres")
    shutil.rmtree(datadir, ignore_errors=True)
    datadir.mkdir(mode=0o700)
    os.chown(datadir, postgres.pw_uid, postgres.pw_gid)
    environment = {**os.environ, "PGPASSWORD": cluster.primary.password}
    command = (
        "runuser",
        "-u",
        "postgres",
        "--",
        f"/usr/lib/postgresql/{cluster.version}/bin/pg_basebackup",
        *("-h", cluster.primary.host, "-p", str(cluster.primary.port)),
        *("-U", cluster.primary.user, "-D", str(datadir)),
        *("-R", "-X", "stream", "--checkpoint=fast"),
        # A throwaway copy: no fsync, no manifest to write.
        *("--no-sync", "--no-manifest"),
    )
    # A rule just added takes effect once the primary has reloaded: try again briefly.
    for attempt in range(5):
        try:
            _run(*command, env=environment)
            return
        except RuntimeError:
            if attempt == 4:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def replica_cluster(django_db_setup) -> Iterator[Cluster]:
    """A hot standby of the test run's server, holding the test database (see above)."""
    settings_dict = connections[PRIMARY].settings_dict
    host = settings_dict["HOST"] or "127.0.0.1"
    if host not in {"127.0.0.1", "localhost"}:
        _unavailable(f"needs DATABASE_URL on this machine (127.0.0.1), not {host}")
    if os.geteuid() != 0 or not shutil.which("pg_createcluster"):
        _unavailable("needs root and PostgreSQL's Debian tools (pg_createcluster)")
    user = settings_dict["USER"] or "postgres"
    password = settings_dict["PASSWORD"] or ""
    primary = Server("127.0.0.1", int(settings_dict["PORT"] or 5432), user, password)
    version = str(int(primary.sql("SHOW server_version_num")) // 10000)
    cluster = Cluster(
        version=version,
        # One per process: xdist workers and concurrent runs each have their own.
        name=f"{CLUSTER_PREFIX}_{os.getpid()}",
        primary=primary,
        standby=Server("127.0.0.1", free_port(), user, password),
    )
    _drop_leftovers()
    _allow_replication(primary)
    try:
        minimums = [f"{name}={primary.sql(f'SHOW {name}')}" for name in STANDBY_MINIMUMS]
        _run(
            "pg_createcluster",
            *(version, cluster.name, "--port", str(cluster.standby.port)),
            "--start-conf=manual",
            *(option for setting in [*minimums, "fsync=off"] for option in ("-o", setting)),
            *("--", "--no-sync"),  # initdb's files are replaced by the copy at once
        )
        # The same authentication rules as the primary, so the tests connect alike.
        config = Path(f"/etc/postgresql/{version}/{cluster.name}")
        shutil.copy(primary.sql("SHOW hba_file"), config / "pg_hba.conf")
        datadir = Path(f"/var/lib/postgresql/{version}/{cluster.name}")
        _base_backup(cluster, datadir)
        cluster.start()
        yield cluster
    finally:
        try:
            _drop_cluster(version, cluster.name)
        finally:
            _disallow_replication(primary)


@pytest.fixture(scope="module", autouse=True)
def replica_alias(replica_cluster) -> Iterator[None]:
    """The replica as the "replica" database, read like settings read DATABASE_REPLICA_URL.

    Module-scoped: Django lets a test use only aliases that exist when its test case is
    set up (pytestmark names it). A test mirror, as in settings, so flushes between tests
    leave it alone; the primary's flush streams to it."""
    primary = connections[PRIMARY].settings_dict
    standby = replica_cluster.standby
    url = f"postgres://{standby.user}@{standby.host}:{standby.port}/{primary['NAME']}"
    entry = replica_database(
        url, primary=primary, connection_options=primary["OPTIONS"].get("options", "")
    )
    entry["PASSWORD"] = standby.password
    connections.settings[REPLICA] = connections.configure_settings(
        {PRIMARY: dict(primary), REPLICA: entry}
    )[REPLICA]
    yield
    with suppress(AttributeError):
        del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def replica(replica_cluster, settings) -> Iterator[Cluster]:
    """The router and the middleware installed as settings install them, the pages of
    urls.py, a running replica that has caught up, and a monitor that knows nothing yet.

    The tests are transactional: data must be committed for the replica to see it."""
    cluster = replica_cluster
    if not cluster.is_standby():
        cluster.start()
    cluster.resume()
    cluster.wait_caught_up()
    settings.DATABASE_ROUTERS = ["hub.db_routing.ReplicaRouter"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "hub.db_routing.ReadYourWritesMiddleware"]
    settings.ROOT_URLCONF = "tests.scale.urls"
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 60  # tests that want less say so
    db_routing.monitor.reset()
    try:
        yield cluster
    finally:
        connections[REPLICA].close()
        db_routing.monitor.reset()
        if cluster.is_standby():
            cluster.resume()


def teams_seen(client, url_name: str = "replica_teams") -> tuple[list[str], str]:
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    body = response.json()
    return body["teams"], body["read_from"]


def eventually_seen(client, expected: tuple[list[str], str], timeout: float = 15) -> bool:
    """Whether `client` comes to see `expected` (measuring the replica again each time).
    The replica streams the whole cluster's WAL: another test writing to its own database
    at the same moment keeps a just-caught-up replica a moment behind the primary's
    latest position, so the first measurement may still find it lagging."""

    def seen() -> bool:
        db_routing.monitor.expire()
        return teams_seen(client) == expected

    return wait_until(seen, timeout=timeout, interval=0.2)


def page_statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements a page ran, without the monitor's measurement of the replica."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if "pg_is_in_recovery" not in query["sql"] and "pg_current_wal_lsn" not in query["sql"]
    ]


def replica_queries(client, url: str) -> list[str]:
    """The statements a GET of `url` ran on the replica (it must answer 200)."""
    with CaptureQueriesContext(connections[REPLICA]) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return page_statements(queries)


@pytest.fixture
def signed_in(replica, client):
    user = make_manager(email="reader@example.test")
    client.force_login(user)
    # Signing in committed a user and a session: a replica that has not replayed them yet
    # is rightly judged behind, and the test would race it.
    replica.wait_caught_up()
    return client


def replica_warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hub.db_routing" and r.levelno == logging.WARNING
    ]


# --- routing --------------------------------------------------------------------------


def test_an_opted_in_page_reads_the_replica_and_others_the_primary(replica, signed_in):
    TeamFactory(name="Before")
    replica.wait_caught_up()
    replica.pause()
    TeamFactory(name="During the pause")

    # The replica has not replayed the second team: its stale answer shows where the
    # read went. The session and the user were read on the primary (the session was
    # created after the last replay), before the view.
    assert teams_seen(signed_in) == (["Before"], "replica")
    assert teams_seen(signed_in, "primary_teams") == (["Before", "During the pause"], "default")

    replica.resume()
    replica.wait_caught_up()
    assert teams_seen(signed_in) == (["Before", "During the pause"], "replica")


def test_the_read_only_pages_of_the_app_read_the_replica(replica, client):
    manager = make_manager(email="manager@example.test")
    team = TeamFactory(name="Support", slug="support")
    advisor = MembershipFactory(team=team, user__email="advisor@example.test").user
    owner = make_marketer(email="owner@example.test")
    campaign = announced_campaign(owner=owner, teams=[team], title="Spring sale")
    token = subscription_token_get_or_create(user=advisor).token
    week = Week.of(timezone.localdate(campaign.launch_at))
    replica.wait_caught_up()

    client.force_login(manager)
    for url in (
        reverse("dashboards:overview"),
        reverse("dashboards:overview") + "?format=csv&table=campaigns",
        reverse("dashboards:team", args=["support"]),
    ):
        statements = replica_queries(client, url)
        assert statements, url
        assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    client.force_login(advisor)
    for url in (
        reverse("feed:week", args=[week]),
        reverse("feed:export", args=[week]),
        reverse("subscriptions:atom", args=[token]),
        reverse("subscriptions:ical", args=[token]),
    ):
        assert replica_queries(client, url), url

    # A real page's stale answer: a campaign announced while replay is paused is not in
    # the feed read from the replica, and is once the replica has replayed it.
    replica.pause()
    announced_campaign(
        owner=owner, teams=[team], title="Paused launch", launch_at=campaign.launch_at
    )
    feed = reverse("feed:week", args=[week])
    assert "Spring sale" in client.get(feed).content.decode()
    assert "Paused launch" not in client.get(feed).content.decode()
    replica.resume()
    replica.wait_caught_up()
    assert "Paused launch" in client.get(feed).content.decode()


def test_writes_and_transactions_never_reach_the_replica(replica, signed_in):
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[PRIMARY]) as on_primary,
    ):
        response = signed_in.get(reverse("reads_and_writes"))
    assert response.status_code == 200
    assert response.json() == {
        "plain read": "replica",
        "read in a transaction": "default",
        "select_for_update": "default",
        "write": "default",
        "read after the write": "default",
    }
    replica_sql = page_statements(on_replica)
    assert len(replica_sql) == 1, replica_sql  # the plain read; the rest went to the primary
    primary_sql = " ".join(page_statements(on_primary))
    assert "FOR UPDATE" in primary_sql
    assert 'INSERT INTO "teams_team"' in primary_sql
    assert Team.objects.filter(name="Written").exists()


# --- read-your-writes -----------------------------------------------------------------


def test_a_browser_that_just_wrote_reads_the_primary_until_the_replica_has_its_write(
    replica, signed_in, settings
):
    settings.DATABASE_REPLICA_STICKY_SECONDS = 1
    someone_else = Client()
    someone_else.force_login(make_manager(email="other@example.test"))
    replica.wait_caught_up()
    replica.pause()

    response = signed_in.post(reverse("add_team"), {"name": "Mine"})
    assert response.status_code == 204
    assert teams_seen(signed_in) == (["Mine"], "default")
    assert teams_seen(someone_else) == ([], "replica")

    # Past the sticky seconds, still the primary: the replica has not replayed the write.
    time.sleep(1.1)
    db_routing.monitor.expire()
    assert teams_seen(signed_in) == (["Mine"], "default")

    replica.resume()
    replica.wait_caught_up()
    assert eventually_seen(signed_in, (["Mine"], "replica"))


# --- lag and loss ---------------------------------------------------------------------


def test_a_replica_behind_by_more_than_the_limit_is_left_alone(
    replica, signed_in, settings, caplog
):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1
    caplog.set_level(logging.INFO, logger="hub.db_routing")
    assert teams_seen(signed_in) == ([], "replica")

    replica.pause()
    TeamFactory(name="Fresh")
    time.sleep(1.5)
    db_routing.monitor.expire()
    assert teams_seen(signed_in) == (["Fresh"], "default")
    db_routing.monitor.expire()
    assert teams_seen(signed_in) == (["Fresh"], "default")
    warnings = replica_warnings(caplog)
    assert len(warnings) == 1, warnings  # once per change of state
    assert "behind (limit 1 s)" in warnings[0]

    replica.resume()
    replica.wait_caught_up()
    assert eventually_seen(signed_in, (["Fresh"], "replica"))
    assert "Read replica in use again" in caplog.text


def test_a_replica_that_stops_never_turns_a_page_into_an_error(
    replica, signed_in, monkeypatch, caplog
):
    caplog.set_level(logging.INFO, logger="hub.db_routing")
    assert teams_seen(signed_in) == ([], "replica")  # measured well, and connected

    # Stopped between two measurements: the view fails on the replica and runs again on
    # the primary.
    monkeypatch.setattr(db_routing, "RECHECK_SECONDS", 3600.0)
    replica.stop()
    TeamFactory(name="After the stop")
    assert teams_seen(signed_in) == (["After the stop"], "default")
    assert db_routing.monitor.health().status is ReplicaStatus.UNREACHABLE

    # Found stopped by a measurement: the primary, without trying the replica.
    db_routing.monitor.reset()
    assert teams_seen(signed_in) == (["After the stop"], "default")
    warnings = replica_warnings(caplog)
    assert warnings
    assert all("read-only pages read the primary" in w for w in warnings)

    replica.start()
    replica.wait_caught_up()
    db_routing.monitor.expire()
    assert teams_seen(signed_in) == (["After the stop"], "replica")
