"""What the benchmark smoke tests share: a PostgreSQL database of their own, dropped
whatever happens, and running a script of benchmarks/ on it under a time limit."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

from tests.support.processes import binary

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 240  # about a minute each; the margin is for a busy machine


def _connection_url(database: str) -> str:
    """A URL for `database` on the server and with the credentials the tests use."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{database}"


def _drop_database(name: str) -> None:
    with psycopg.connect(_connection_url("postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def bench_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database named after the test module's BENCH_DATABASE prefix, dropped after."""
    # Per process: two runs of the suite on one server (xdist, a colleague) never share it.
    name = f"{request.module.BENCH_DATABASE}_{os.getpid()}_bench"
    yield name
    _drop_database(name)


@pytest.fixture
def run_benchmark(bench_database: str, tmp_path: Path) -> Callable[..., tuple[int, str]]:
    """Runs `benchmarks/<script>` with `arguments` on the bench database (wrk needed:
    else a skip, a failure under PASSERELLE_REQUIRE_SERVICES=1); returns its exit status
    and its output (stdout and stderr), or fails the test after TIMEOUT_SECONDS."""

    def run(script: str, *arguments: str) -> tuple[int, str]:
        binary("wrk")
        env = {**os.environ, "DATABASE_URL": _connection_url(bench_database)}
        env["DATA_DIR"] = str(tmp_path / "data")
        env.pop("DJANGO_SETTINGS_MODULE", None)  # the script runs on its own settings
        command = [sys.executable, f"benchmarks/{script}", *arguments]
        # Its own process group, so that a timeout stops gunicorn, wrk (and Redis) with it.
        process = subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            pytest.fail(f"{script} took over {TIMEOUT_SECONDS} s:\n{output[-3000:]}")
        return process.returncode, output

    return run
