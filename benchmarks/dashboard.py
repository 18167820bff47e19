"""Dashboard benchmark: the managers' pages on 100,000 campaigns x 5 teams, PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_bench \
        uv run python benchmarks/dashboard.py --campaigns 100000

What one run does:
1. recreates the database named in DATABASE_URL, migrates, and seeds it in SQL
   (`generate_series`, a fixed random seed): 5 teams (one with the "every member"
   policy), 50 advisors, 10 marketers, N campaigns announced over the last two years
   (mostly done, the recent ones still announced, some drafts, cancellations, material
   changes and overrides), one stakeholder row per campaign and team, and the
   acknowledgements behind them (benchmarks/seed.py, shared with benchmarks/load.py);
2. runs ANALYZE, then requests each dashboard page in-process through Django's test
   client as a logged-in manager (the full middleware, view and template stack, no
   network), a few times to warm up, then `--repeat` times, and prints the median and the
   90th percentile of the response times and the number of SQL queries per page;
3. with `--explain`, prints PostgreSQL's EXPLAIN ANALYZE of every query of the overview.

It drops and recreates the database named in DATABASE_URL, which must end in "_bench".
`--reuse` skips steps 1's drop and seed when the database already holds the campaigns.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import recreate_bench_database  # noqa: E402
from benchmarks.seed import has_campaigns, print_sizes, seed_campaigns  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--campaigns", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for this benchmark.")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Campaign

    db_name = settings.DATABASES["default"]["NAME"]
    if not (args.reuse and has_campaigns()):
        recreate_bench_database(db_name)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seed_campaigns(args.campaigns)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print_sizes()

    from accounts.models import User

    manager = User.objects.get(email="manager@bench.test")
    lead = User.objects.get(email="lead@bench.test")
    pages = [
        ("overview, last 4 weeks", manager, "/dashboard/"),
        ("overview, quarter", manager, "/dashboard/?period=quarter"),
        (
            "overview, custom year, e-mail channel",
            manager,
            "/dashboard/?period=custom&date_from=2025-12-01&date_to=2026-11-30&channel=email",
        ),
        ("overview, one team", manager, "/dashboard/?period=quarter&team=__team__"),
        ("overview as a team lead", lead, "/dashboard/?period=quarter"),
        ("overview, htmx fragment", manager, "/dashboard/?period=quarter"),
        ("team page (drill-down)", manager, "/dashboard/teams/service-client/"),
        ("CSV, teams", manager, "/dashboard/?period=quarter&format=csv&table=teams"),
        ("CSV, campaigns", manager, "/dashboard/?period=quarter&format=csv&table=campaigns"),
    ]
    team_id = str(_team_id("service-client"))
    print(f"\n{Campaign.objects.count():,} campaigns; times over {args.repeat} requests\n")
    print("| page | queries | median | p90 | max |\n| --- | ---: | ---: | ---: | ---: |")
    for label, user, url in pages:
        url = url.replace("__team__", team_id)
        htmx = "htmx" in label
        queries, times = _measure(user, url, repeat=args.repeat, htmx=htmx)
        print(
            f"| {label} | {queries} | {_ms(statistics.median(times))} "
            f"| {_ms(_p90(times))} | {_ms(max(times))} |"
        )
    if args.explain:
        _explain(manager, "/dashboard/?period=quarter")


def _measure(user, url: str, *, repeat: int, htmx: bool) -> tuple[int, list[float]]:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"HX-Request": "true"} if htmx else {})
    client.force_login(user)
    for _ in range(3):
        _get(client, url)
    # Each request starts by emptying the connection's query log (request_started).
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    queries = len(captured)  # read now: the next request empties the log again
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get(client, url)
        times.append(time.perf_counter() - started)
    return queries, times


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        sys.exit(f"{url}: HTTP {response.status_code}")
    if response.streaming:
        b"".join(response.streaming_content)
    else:
        response.content  # noqa: B018 - rendered already; read it as a browser would


def _explain(user, url: str) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        _get(client, url)
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        print(f"\n--- {query['time']} s\n{sql[:300]}{'…' if len(sql) > 300 else ''}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            for (line,) in cursor.fetchall():
                print(line)


def _team_id(slug: str) -> int:
    from teams.models import Team

    return Team.objects.get(slug=slug).pk


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


if __name__ == "__main__":
    main()
