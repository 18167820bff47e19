"""benchmarks/load.py runs end to end on a small data set: the CI smoke test.

It seeds 300 campaigns into a database of its own, starts gunicorn, a Celery worker and
beat, logs every role in, drives each page with wrk for a second and prints the table.
What is checked is that it ran (every page has a row, served requests and no errors: a
page that answers 500, or a session that no longer opens it, fails here), not the
timings, which belong to the machine. The script stops the processes it started; the
test drops the database whatever happens.
"""

import json
import os

import pytest

from benchmarks.load import PAGES

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BENCH_DATABASE = "passerelle_smoke"  # the bench_database fixture's prefix


def test_load_benchmark_runs_and_reports_every_page(run_benchmark, tmp_path):
    report = tmp_path / "load.json"
    returncode, output = run_benchmark(
        "load.py",
        "--campaigns=300",
        "--duration=1",
        "--rounds=1",
        f"--json={report}",
        # Without REDIS_URL (a laptop) the cache is the settings' default, on disk.
        f"--redis-url={os.environ.get('REDIS_URL', '')}",
    )

    assert returncode == 0, output[-3000:]
    assert "| page | rps | ratio to ceiling | p50 | p95 | p99 |" in output, output[-3000:]
    assert "gunicorn worker RSS after the run" in output
    # Beat ran beside the worker for the whole run, as in production.
    assert "celery: beat on the production schedule" in output, output[-3000:]
    assert "Celery beat stopped" not in output, output[-3000:]
    rows = {row["name"]: row for row in json.loads(report.read_text())["pages"]}
    assert set(rows) == {page.name for page in PAGES}
    for page in PAGES:
        row = rows[page.name]
        assert f"| {page.name} | " in output
        assert row["rps"] > 0, row
        assert row["errors"] == 0, row
        assert row["problem"] == "", row
        assert row["queries"] is not None, row
