"""benchmarks/load.py runs end to end on a small data set: the CI smoke test.

It seeds 300 campaigns into a database of its own, starts gunicorn, logs every role in,
drives each page with wrk for a second and prints the table. What is checked is that it
ran (every page has a row, served requests and no errors: a page that answers 500, or a
session that no longer opens it, fails here), not the timings, which belong to the
machine. The script stops its gunicorn; the test drops the database whatever happens.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

from benchmarks.load import PAGES

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 240  # it takes about a minute; the margin is for a busy machine


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
def bench_database():
    # Per process: two runs of the suite on one server (xdist, a colleague) never share it.
    name = f"passerelle_smoke_{os.getpid()}_bench"
    yield name
    _drop_database(name)


def test_load_benchmark_runs_and_reports_every_page(bench_database, tmp_path):
    if shutil.which("wrk") is None:
        message = "needs wrk (Debian: apt-get install wrk)"
        if os.environ.get("PASSERELLE_REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    report = tmp_path / "load.json"
    env = {**os.environ, "DATABASE_URL": _connection_url(bench_database)}
    env["DATA_DIR"] = str(tmp_path / "data")
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the script runs on its own settings
    command = [
        sys.executable,
        "benchmarks/load.py",
        "--campaigns=300",
        "--duration=1",
        "--rounds=1",
        f"--json={report}",
        # Without REDIS_URL (a laptop) the cache is the settings' default, on disk.
        f"--redis-url={os.environ.get('REDIS_URL', '')}",
    ]
    # Its own process group, so that a timeout stops gunicorn and wrk with it.
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
        pytest.fail(f"load.py took over {TIMEOUT_SECONDS} s:\n{output[-3000:]}")

    assert process.returncode == 0, output[-3000:]
    assert "| page | rps | ratio to ceiling | p50 | p95 | p99 |" in output, output[-3000:]
    assert "gunicorn worker RSS after the run" in output
    rows = {row["name"]: row for row in json.loads(report.read_text())["pages"]}
    assert set(rows) == {page.name for page in PAGES}
    for page in PAGES:
        row = rows[page.name]
        assert f"| {page.name} | " in output
        assert row["rps"] > 0, row
        assert row["errors"] == 0, row
        assert row["problem"] == "", row
        assert row["queries"] is not None, row
