"""Passerelle behind PgBouncer in transaction mode (`DATABASE_POOLER=pgbouncer`).

The test starts its own PgBouncer in front of the test run's PostgreSQL, with fewer server
connections than the clients that use them, and runs a representative part of the real
suite through it in a child pytest: row locks and waits (the acknowledgement check), `SKIP LOCKED`
claims, a real Celery worker on four threads, reminders read with `.iterator()`, full-text
search with `SET LOCAL`, percentiles computed in the database.
"""

import os
import re
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from psycopg import sql
from psycopg.rows import dict_row

from tests.support.processes import Process, binary
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
POOL_SIZE = 4  # fewer than the worker's threads plus the test: clients must share
SUITE = [
    "tests/campaigns/test_done_gate.py",
    "tests/notifications/test_services.py",
    "tests/notifications/test_reminders.py",
    "tests/notifications/test_tasks.py",
    "tests/notifications/test_fault_isolation.py",
    "tests/notifications/test_integration.py",
    "tests/feed/test_search.py",
    "tests/dashboards/test_figures.py",
    "tests/dashboards/test_nudge.py",
]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass
class PgBouncer:
    port: int
    user: str
    process: Process

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, command: str) -> list[dict[str, Any]]:
        """A command on PgBouncer's admin console (SHOW STATS, SHOW POOLS…)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as connection:
            # The console speaks only the simple query protocol.
            cursor = psycopg.ClientCursor(connection, row_factory=dict_row)
            cursor.execute(command)
            return cursor.fetchall()


@pytest.fixture(scope="module")
def pgbouncer(tmp_path_factory) -> Iterator[PgBouncer]:
    program = binary("pgbouncer", "/usr/sbin/pgbouncer")
    upstream = settings.DATABASES["default"]
    user = upstream["USER"] or "postgres"
    server = f"host={upstream['HOST'] or '127.0.0.1'} port={upstream['PORT'] or 5432}"
    if upstream["PASSWORD"]:
        server += f" user={user} password={upstream['PASSWORD']}"
    folder = tmp_path_factory.mktemp("pgbouncer")
    folder.chmod(0o755)  # read by the unprivileged user PgBouncer switches to under root
    port = free_port()
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        textwrap.dedent(f"""\
            [databases]
            ; Any database name, test databases included, goes to the same server. The
            ; planner settings the app sends directly as startup options come from here.
            * = {server} connect_query='SET random_page_cost = 1.1; SET jit = off'

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {folder / "users.txt"}
            admin_users = {user}
            pool_mode = transaction
            default_pool_size = {POOL_SIZE}
            max_client_conn = 200
            """)
    )
    command = [program, "-q", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]  # PgBouncer refuses to run as root
    process = Process("pgbouncer", command, log=folder / "pgbouncer.log", cwd=folder)
    try:
        process.wait_for_port(port)
        yield PgBouncer(port=port, user=user, process=process)
    finally:
        process.stop()


def child_environment(bouncer: PgBouncer, database: str, **extra: str) -> dict[str, str]:
    # Not the outer run's xdist worker name, test selection, planner options or replica:
    # every query goes through PgBouncer.
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "DATABASE_"))
    }
    return {
        **environment,
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DATABASE_URL": bouncer.url(database),
        "DATABASE_POOLER": "pgbouncer",
        **extra,
    }


def test_the_suite_passes_through_pgbouncer_in_transaction_mode(pgbouncer, tmp_path):
    name = f"passerelle_pgb_{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "pytest", *SUITE, "-p", "no:randomly", "-q", "--create-db"]
    if not settings.REDIS_URL:
        command += ["-m", "not redis"]
    environment = child_environment(
        pgbouncer,
        name,
        DATA_DIR=str(tmp_path / "data"),
        # A test needing PostgreSQL must run, never skip: it is what is tested here.
        PASSERELLE_REQUIRE_SERVICES="1",
    )
    try:
        result = subprocess.run(  # noqa: S603 - our own interpreter and tests
            command,
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        stats = {row["database"]: row for row in pgbouncer.admin("SHOW STATS")}
    finally:
        _drop_database(f"test_{name}")

    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    assert result.returncode == 0, (
        f"suite through PgBouncer failed:\n{output[-6000:]}\n"
        f"--- pgbouncer log\n{pgbouncer.process.output()}"
    )
    passed = re.search(r"(\d+) passed", summary)
    assert passed, summary
    assert int(passed.group(1)) >= 90, summary
    assert "skipped" not in summary, summary
    # The run really went through the pooler, thousands of transactions on few servers.
    assert stats[f"test_{name}"]["total_xact_count"] > 1000, stats[f"test_{name}"]


PROBE = """
import threading

import django

django.setup()
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("SELECT current_setting('random_page_cost'), current_setting('jit')")
    print("planner", *cursor.fetchone())
with connection.schema_editor() as editor:
    editor.create_model(ContentType)
ContentType.objects.bulk_create(ContentType(app_label="probe", model=f"m{i}") for i in range(10))


def read_while_another_client_holds_the_server() -> str:
    # What reminders do: iterate in chunks outside a transaction...
    rows = ContentType.objects.order_by("pk").iterator(chunk_size=2)
    seen = [next(rows), next(rows)]
    # ...while another client holds the server connection the first chunk came from.
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic(), connection.cursor() as other:
            other.execute("SELECT 1")
            held.set()
            done.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        seen += list(rows)
        return f"fetched {len(seen)}"
    except Exception as error:
        return "error " + str(error).splitlines()[0]
    finally:
        done.set()
        thread.join()


print(read_while_another_client_holds_the_server())
# The control: the same read with server-side cursors back on.
connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = False
print(read_while_another_client_holds_the_server())
"""


def test_iterator_survives_a_server_switch_only_with_the_pooler_setting(pgbouncer, tmp_path):
    database = f"passerelle_pgb_probe_{uuid.uuid4().hex[:8]}"
    _create_database(database)
    try:
        result = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=child_environment(pgbouncer, database, DATA_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        _drop_database(database)
    planner, with_setting, without = result.stdout.strip().splitlines()[-3:]
    # The planner settings come from PgBouncer's connect_query, not startup options.
    assert planner == "planner 1.1 off"
    # No server-side cursor: each chunk is read whichever server the statement reaches.
    assert with_setting == "fetched 10"
    # Without the setting the cursor stays behind on a server connection the client no
    # longer has; this also shows the test really makes the client switch servers.
    assert re.fullmatch(r'error cursor "_django_curs_\w+" does not exist', without), without


def _upstream() -> psycopg.Connection:
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"] or "postgres",
        password=database["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _create_database(name: str) -> None:
    with _upstream() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(name: str) -> None:
    with _upstream() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
