"""benchmarks/announce.py runs end to end on tiny audiences: the CI smoke test.

It seeds an audience below NOTIFICATIONS_EXPAND_INLINE_MAX (its rows are written in the
request) and two above it (one dispatch row, expanded afterwards by a task: one team and
two), starts gunicorn with the repository's gunicorn.conf.py, announces through wrk and on
fresh workers, and writes its JSON. What is checked is what the run counted, not the
timings, which belong to the machine: every announce answered the redirect of a success,
each one announced its own draft, and above the inline limit an announce costs the same
number of queries whatever the audience's size. Each audience costs a fresh server, hence
only three. The script stops its servers; the test drops the database.
"""

import json

import pytest
from django.conf import settings

from tests.support.processes import binary

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BENCH_DATABASE = "passerelle_announce_smoke"  # the bench_database fixture's prefix
INLINE = (20,)  # at most NOTIFICATIONS_EXPAND_INLINE_MAX people: rows written in the request
EXPANDED = (600, 2_100)  # above it: expanded by a task; 2,100 people are two teams
WORKERS = 1
REQUESTS = 6
COLD_RUNS = 1


def test_announce_benchmark_runs_and_counts_what_it_should(run_benchmark, tmp_path):
    binary("redis-server")  # the script runs one of its own for the tasks it publishes
    assert max(INLINE) <= settings.NOTIFICATIONS_EXPAND_INLINE_MAX < min(EXPANDED)
    report = tmp_path / "announce.json"
    returncode, output = run_benchmark(
        "announce.py",
        f"--sizes={','.join(str(size) for size in INLINE + EXPANDED)}",
        f"--workers={WORKERS}",
        "--connections=1",
        f"--requests={REQUESTS}",
        "--rounds=1",
        f"--cold-runs={COLD_RUNS}",
        f"--json={report}",
    )

    assert returncode == 0, output[-3000:]
    assert "| people | warm p50 | warm p95 |" in output, output[-3000:]
    data = json.loads(report.read_text())
    assert data["meta"]["gunicorn_config"] is True
    assert len(data["cold_ceiling_ms"]) == COLD_RUNS * WORKERS
    rows = {row["people"]: row for row in data["audiences"]}
    assert sorted(rows) == sorted(INLINE + EXPANDED)
    for people, row in rows.items():
        assert row["teams"] == -(-people // 2_000), row
        # Every request answered, and answered the success redirect (wrk counts any other
        # status as an error; the cold requests and the in-process one report theirs in
        # "problems", as they do a draft left unannounced).
        (measure,) = row["rounds"]
        assert measure["page"]["requests"] == REQUESTS, row
        assert measure["ceiling"]["requests"] == REQUESTS, row
        assert row["errors"] == 0, row
        assert row["problems"] == [], row
        assert len(row["cold_ms"]) == COLD_RUNS * WORKERS, row
        assert all(ms > 0 for ms in row["cold_ms"]), row
        if people in INLINE:
            assert row["rows_in_request"] >= people, row  # a row per person and channel
            assert row["expansion_s"] is None, row
        else:
            assert row["rows_in_request"] == 0, row  # only the dispatch row
            assert row["expansion_s"] is not None, row
    # Above the inline limit the queries of one announce grow neither with the people nor
    # with the teams: the request writes one dispatch row.
    assert len({rows[people]["queries"] for people in EXPANDED}) == 1, rows
