"""Load benchmark: the pages people open all day, under load, at a real company's size.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_load_bench DATA_DIR=/tmp/load \
        uv run python benchmarks/load.py --campaigns 100000

Why it is built this way: a page's speed in-process (benchmarks/dashboard.py) says
nothing about how many people a server serves at once, and absolute requests per second
on a shared 2-core machine change from one minute to the next. So this script runs the
real server (gunicorn, sync workers, DEBUG off) on a large data set, drives each page with
`wrk`, and reports each page's throughput as a ratio to a trivial "ceiling" view measured
on the same server just before it: the ratio is what the page's own work costs, and it
survives the machine's noise.

What one run does:
1. seeds (or, with `--reuse`, keeps) the PostgreSQL database named in DATABASE_URL, whose
   name must end in "_bench": the dashboard's data set (benchmarks/seed.py: 5 teams, 62
   people, N campaigns over two years with their stakeholder rows, acknowledgements and
   timeline) with Markdown bodies, ~8,000 in-app notices for every team member, the
   manager and a marketer (`--notices`), one announced campaign with 300 thread messages
   and ~150 timeline events (0 to 4 messages on the others), and the advisor's
   subscription token; then VACUUM ANALYZE;
2. starts gunicorn (`--workers` sync workers, default 2) with production settings plus
   the bench URLconf (benchmarks/bench_settings.py: the ceiling views /trivial/ and
   /trivial-auth/), Redis as the cache (REDIS_URL, or `--redis-url`), and one Celery
   worker (one process) on the run's own housekeeping queue, and Celery beat with the
   production schedule, as production has: the worker refreshes the dashboards' figures
   when they go stale (dashboards.refresh), and beat's ticks (the sweeps, the reminders,
   keeping figures in use warm) run while pages are measured;
3. logs an advisor, a marketer, a manager and a team lead in through the real login form;
4. for `--rounds` rounds, runs `wrk` (`--connections` 32, `--threads` 2, `--duration`
   10 s) on each page of `PAGES`, each time right after its ceiling (/trivial-auth/ with
   the same session for signed-in pages, /trivial/ for anonymous ones), then for one
   second more with each answer's status checked (a separate run: checking them in the
   measure costs wrk CPU per byte of body, see WRK_MEASURE_SCRIPT), and keeps the
   medians; then reads the RSS of the gunicorn workers and stops the server;
5. requests each page once in-process through Django's test client with the same
   session, to count its SQL queries and its body size, and runs each query under
   `EXPLAIN (FORMAT JSON)` to tell whether a plan reads one of the big tables
   sequentially;
6. prints a Markdown table with a PASS/FAIL per page against the targets (`--json PATH`
   writes the raw numbers). It exits 0 whatever the results: it measures, it does not
   test (tests/benchmarks/test_load_smoke.py checks that it runs).

A full run at 100,000 campaigns takes 20 to 25 minutes on 2 cores: 1.5 to seed (most of
it the full-text index), then 15 pages x 2 measures x 10 s x 3 rounds, plus the time the
server takes to finish what each measure left queued. BENCH_COMMIT names the commit
measured when the code is not a git checkout (a `git archive` of an older commit).
`--reuse` skips the seed; `--only WORD` (repeatable) keeps the pages whose name contains
WORD. Adding a page is one line in `PAGES`.
"""

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    WRK_STATUS_LUA,
    WRK_SUMMARY_LUA,
    Server,
    WrkResult,
    commit,
    configure_production_environment,
    fetch,
    free_port,
    login,
    machine,
    parse_wrk_output,
    recreate_bench_database,
    stop_server,
)
from benchmarks.seed import (  # noqa: E402
    LOGINS,
    LoadFixtures,
    has_load_extras,
    load_fixtures,
    print_sizes,
    seed_campaigns,
    seed_load_extras,
)

# Tables big enough that a sequential scan of one, on every request, is a bug waiting for
# the data to grow.
BIG_TABLES = (
    "campaigns_campaign",
    "campaigns_stakeholder",
    "campaigns_acknowledgement",
    "notifications_notification",
    "campaigns_campaignevent",
    "campaigns_feedback",
)
P95_LIMIT = 3.0  # a page's p95 latency at most 3 times its ceiling's
RSS_LIMIT_MB = 250.0


@dataclass(frozen=True)
class Page:
    """One row of the benchmark. `path` may name {campaign}, {month}, {team}, {token} and
    {word} (benchmarks.seed.LoadFixtures); `role` is a key of benchmarks.seed.LOGINS, or
    None for an anonymous request. `conditional` sends If-None-Match with the ETag the
    page returned to a first plain request (the "nothing changed" poll of a feed reader)."""

    name: str
    path: str
    role: str | None
    min_ratio: float | None  # target: throughput at least this share of the ceiling's
    expect: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = False
    # Sends an API token of `role`'s person instead of their session cookie, as an
    # integration does; the ceiling stays the signed-in one.
    bearer: bool = False


PAGES = [
    Page("feed, this week", "/feed/", "advisor", 0.35),
    Page("feed, search", "/feed/?q={word}", "advisor", 0.25),
    Page("campaign list", "/campaigns/", "marketer", 0.35),
    Page("campaign page, 300 messages", "/campaigns/{campaign}/", "advisor", 0.35),
    Page(
        "campaign live panels (htmx)",
        "/campaigns/{campaign}/live/",
        "advisor",
        0.35,
        headers={"HX-Request": "true"},
    ),
    Page("inbox", "/notifications/", "advisor", 0.35),
    Page("unread badge", "/notifications/unread/", "advisor", 0.35),
    Page("dashboard, quarter", "/dashboard/?period=quarter", "manager", 0.2),
    Page("dashboard, team page", "/dashboard/teams/{team}/", "lead", 0.2),
    Page("calendar, busiest month", "/campaigns/calendar/?month={month}", "marketer", 0.35),
    Page("Atom feed", "/subscriptions/{token}/launches.atom", None, 0.1),
    Page(
        "Atom feed, unchanged",
        "/subscriptions/{token}/launches.atom",
        None,
        0.35,
        expect=304,
        conditional=True,
    ),
    # What calendar apps and feed readers send (all of them take gzip); the rows above
    # ask for the plain document, as wrk does by default.
    Page(
        "Atom feed, gzip",
        "/subscriptions/{token}/launches.atom",
        None,
        0.1,
        headers={"Accept-Encoding": "gzip"},
    ),
    Page("iCal feed", "/subscriptions/{token}/launches.ics", None, 0.1),
    Page(
        "iCal feed, unchanged",
        "/subscriptions/{token}/launches.ics",
        None,
        0.35,
        expect=304,
        conditional=True,
    ),
    Page(
        "iCal feed, gzip",
        "/subscriptions/{token}/launches.ics",
        None,
        0.1,
        headers={"Accept-Encoding": "gzip"},
    ),
    # Integration API (issue 17): a page of 50 campaigns as JSON, at least half the
    # trivial view's throughput.
    Page("API, campaign list", "/api/v1/campaigns?limit=50", "marketer", 0.5),
    Page("API, campaign list (token)", "/api/v1/campaigns?limit=50", "marketer", 0.5, bearer=True),
    Page("health check", "/health/", None, None),
]

# Sets the status each answer must have and keeps the threads for done(), which prints
# wrk's summary as one JSON line (benchmarks.common.WRK_SUMMARY_LUA). The measure's script
# leaves out the per-answer status hook, WRK_STATUS_LUA: with it, wrk copies every body
# into Lua, which on these 2 shared cores took 20 % off a 300 kB page's throughput and
# added 8 ms to its p90 (docs/PERFORMANCE.md, late night), a cost of the load generator,
# not of the server. The check run right after each measure has it.
_WRK_PRELUDE = """
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1]) or 200
  unexpected = 0
end
"""
WRK_MEASURE_SCRIPT = _WRK_PRELUDE + WRK_SUMMARY_LUA
WRK_CHECK_SCRIPT = _WRK_PRELUDE + WRK_STATUS_LUA + WRK_SUMMARY_LUA
# Long enough for every connection to get several answers, short beside a measure.
CHECK_SECONDS = 1


@dataclass(frozen=True)
class Round:
    ceiling: WrkResult
    page: WrkResult
    # The same requests for CHECK_SECONDS right after the measure, each answer's status
    # checked (a lost session's 302, a 200 where a 304 was expected).
    check: WrkResult

    @property
    def ratio(self) -> float:
        return self.page.rps / self.ceiling.rps if self.ceiling.rps else 0.0

    @property
    def p95_ratio(self) -> float:
        return self.page.p95_us / self.ceiling.p95_us if self.ceiling.p95_us else 0.0


@dataclass
class PageResult:
    page: Page
    url_path: str
    headers: dict[str, str]
    rounds: list[Round] = field(default_factory=list)
    problem: str = ""
    queries: int | None = None
    body_bytes: int | None = None
    plan: str = ""
    failures: list[str] = field(default_factory=list)

    def median(self, value: str) -> float:
        return statistics.median(getattr(r, value) for r in self.rounds)

    def median_page(self, value: str) -> float:
        return statistics.median(getattr(r.page, value) for r in self.rounds)

    @property
    def errors(self) -> int:
        return sum(r.page.errors + r.check.errors for r in self.rounds)


def main() -> None:
    args = _arguments()
    _configure_environment(args)
    # Stopped by the smoke test (or Ctrl-C): unwind, so gunicorn is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    django.setup()
    fixtures = _prepare_database(args)
    pages = [p for p in PAGES if not args.only or any(w in p.name for w in args.only)]
    results = [_result_for(page, fixtures) for page in pages]

    tokens = _make_api_tokens({page.role for page in pages if page.bearer and page.role})
    started = time.perf_counter()
    try:
        with _server(workers=args.workers) as server, _celery_worker(), _celery_beat():
            base = server.base
            cookies = {role: login(base, email) for role, email in LOGINS.items()}
            logins = Logins(cookies=cookies, tokens=tokens)
            for result in results:
                _prepare_page(base, result, logins)
            for number in range(1, args.rounds + 1):
                print(f"\nround {number}/{args.rounds}", flush=True)
                for result in results:
                    result.rounds.append(_measure_round(base, result, logins, args))
            rss = server.workers_rss_mb()
        load_seconds = time.perf_counter() - started

        print("\nqueries, body sizes and plans (in-process)…", flush=True)
        for result in results:
            _measure_in_process(result, logins)
    finally:
        _clear_cache_namespace()
        _clear_queues()
        _delete_api_tokens()

    for result in results:
        result.failures = _check(result)
    meta = _metadata(args, fixtures, load_seconds)
    _print_report(results, rss, meta)
    if args.json:
        _write_json(Path(args.json), results, rss, meta)


# --- set-up ------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=100_000)
    parser.add_argument(
        "--notices", type=int, default=8_000, help="in-app notices per person (about)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per measure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="the cache's Redis (default: REDIS_URL, else local db 0); empty: no Redis",
    )
    parser.add_argument("--only", action="append", help="only pages whose name contains this")
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers here")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name ends in _bench.")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    return args


def _configure_environment(args: argparse.Namespace) -> None:
    """Production-like settings, shared by this process and the gunicorn it starts."""
    # 32 connections as one person would hit the API's per-caller limit within seconds:
    # what is measured is the list's cost, not the limiter's refusals.
    run = f"bench-{secrets.token_hex(4)}"
    configure_production_environment(
        "load",
        BENCH_CACHE_PREFIX=run,
        BENCH_QUEUE_PREFIX=f"{run}-",
        API_RATE_LIMIT_PER_MINUTE="0",
    )
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    else:
        os.environ.pop("REDIS_URL", None)


def _prepare_database(args: argparse.Namespace) -> LoadFixtures:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    db_name = settings.DATABASES["default"]["NAME"]
    if args.reuse and has_load_extras():
        # Migrations added since the seed (an index, say) are part of what is measured.
        call_command("migrate", verbosity=0)
        print(f"reusing {db_name}")
    else:
        recreate_bench_database(db_name)
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        seed_campaigns(args.campaigns, bodies=True)
        print(f"campaigns seeded in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        seed_load_extras(notices_per_person=args.notices)
        print(f"notices and thread seeded in {time.perf_counter() - started:.1f} s", flush=True)
    # VACUUM as well as ANALYZE: a database that has been running for months has its
    # visibility map set (index-only scans skip the heap) and its statistics current;
    # autovacuum catching up on the fresh rows in the middle of a measure would not be.
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    print_sizes()
    return load_fixtures()


def _result_for(page: Page, fixtures: LoadFixtures) -> PageResult:
    path = page.path.format(
        campaign=fixtures.busy_campaign_id,
        month=fixtures.busy_month,
        team=fixtures.team_slug,
        token=fixtures.subscription_token,
        word=fixtures.search_word,
    )
    return PageResult(page=page, url_path=path, headers=dict(page.headers))


# --- the server ---------------------------------------------------------------------------


@contextlib.contextmanager
def _server(*, workers: int) -> Iterator[Server]:
    port = free_port()
    log = Path(os.environ["DATA_DIR"]) / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "hub.wsgi:application",
        f"--workers={workers}",
        "--worker-class=sync",
        f"--bind=127.0.0.1:{port}",
        # Longer than any page may take: a worker killed mid-request would show up as
        # errors that say nothing about the page.
        "--timeout=120",
        "--log-level=warning",
        f"--error-logfile={log}",
        f"--chdir={ROOT}",
        # gunicorn 27 listens on a control socket at a fixed path in $HOME by default,
        # which a second server on the machine (another run, the smoke test) would take.
        "--no-control-socket",
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    server = Server(process, port, log)
    try:
        _wait_until_serving(server)
        print(f"gunicorn: {workers} sync workers on {server.base}", flush=True)
        yield server
    finally:
        stop_server(process)


@contextlib.contextmanager
def _celery_worker() -> Iterator[None]:
    """One Celery worker process on the run's housekeeping queue (bench_settings), as in
    production, where the dashboards' stale figures are refreshed by a worker."""
    from hub.celery import app
    from hub.queues import HOUSEKEEPING

    node = f"{os.environ['BENCH_QUEUE_PREFIX']}worker@bench"
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "worker"),
        *("-Q", os.environ["BENCH_QUEUE_PREFIX"] + HOUSEKEEPING, "-P", "prefork", "-c", "1"),
        # Its log goes to this script's output (Django's LOGGING, core.logs).
        *("-n", node, "--without-gossip", "--without-mingle", "-l", "warning"),
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("the Celery worker did not start; see its log above")
        print(f"celery: 1 worker process on {node}", flush=True)
        yield
    finally:
        stop_server(process)  # SIGTERM (a warm shutdown), then SIGKILL


@contextlib.contextmanager
def _celery_beat() -> Iterator[None]:
    """Celery beat on the production schedule, publishing to the run's queues: a page's
    cost under load includes what beat's ticks take from the machine, and the dashboards'
    figures in use are kept warm by one of them (dashboards.figures_keep_warm). What the
    ticks queue for other queues (e-mails of reminders) is not consumed and goes with the
    run's queues at the end."""
    data_dir = Path(os.environ["DATA_DIR"])
    # A schedule of the run's own: one left by an earlier run would say when its ticks
    # last ran, and beat would skip or bunch them.
    schedule = data_dir / f"{os.environ['BENCH_QUEUE_PREFIX']}beat-schedule"
    command = [
        *(sys.executable, "-m", "celery", "-A", "hub", "beat"),
        *("-s", str(schedule), "-l", "warning"),
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not any(data_dir.glob(schedule.name + "*")):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit("Celery beat did not start; see its log above")
            time.sleep(0.2)
        print("celery: beat on the production schedule", flush=True)
        yield
        if process.poll() is not None:  # the measures stand, but say what they lacked
            print("WARNING: Celery beat stopped during the run; see its log above", flush=True)
    finally:
        stop_server(process)
        for path in data_dir.glob(schedule.name + "*"):
            path.unlink()


def _wait_until_serving(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            sys.exit(f"gunicorn exited ({server.process.returncode}); see {server.log}")
        with contextlib.suppress(OSError):
            status, _headers, _body = fetch(server.base, "/health/")
            if status == 200:
                return
        time.sleep(0.2)
    sys.exit(f"gunicorn did not answer /health/ within 60 s; see {server.log}")


# --- HTTP: logins and single requests ------------------------------------------------------


API_TOKEN_NAME = "load benchmark"  # noqa: S105 - the token's label, not a secret


@dataclass(frozen=True)
class Logins:
    """How each role's person is known: the session cookie of a real sign-in, and an
    API token for the pages that send one."""

    cookies: dict[str, str]
    tokens: dict[str, str]

    def headers(self, page: Page) -> dict[str, str]:
        if page.role is None:
            return {}
        if page.bearer:
            return {"Authorization": f"Bearer {self.tokens[page.role]}"}
        return {"Cookie": self.cookies[page.role]}


def _make_api_tokens(roles: set[str]) -> dict[str, str]:
    """A read token for each role's person, made through the service as on the profile
    page; deleted when the run ends."""
    from accounts.models import User
    from api.services import api_token_create

    tokens = {}
    for role in roles:
        person = User.objects.get(email=LOGINS[role])
        made = api_token_create(actor=person, name=API_TOKEN_NAME, scope="read", expires_in_days=30)
        tokens[role] = made.secret
    return tokens


def _delete_api_tokens() -> None:
    from api.models import ApiToken

    ApiToken.objects.filter(name=API_TOKEN_NAME, user__email__in=LOGINS.values()).delete()


def _request_headers(result: PageResult, logins: Logins) -> dict[str, str]:
    return {**result.headers, **logins.headers(result.page)}


def _prepare_page(base: str, result: PageResult, logins: Logins) -> None:
    """A few requests that must answer as expected (they also load each worker's
    templates before anything is measured)."""
    if result.page.conditional:
        _refresh_etag(base, result, logins)
    headers = _request_headers(result, logins)
    for _ in range(2):
        status, _headers, _body = fetch(base, result.url_path, headers=headers)
        if status != result.page.expect:
            result.problem = f"HTTP {status}, expected {result.page.expect}"
            print(f"  ! {result.page.name}: {result.problem}", flush=True)
            return


def _refresh_etag(base: str, result: PageResult, logins: Logins) -> None:
    """Ask for the document, and send its ETag from now on.

    Fetched again right before each measure: the feeds cover a window that slides with
    the clock (launches from some days ago to some days ahead), so on 100,000 campaigns
    a launch enters or leaves it every few minutes and the ETag of a few minutes ago no
    longer matches (the first baseline run got no 304 at all in its later rounds)."""
    headers = _request_headers(result, logins)
    headers.pop("If-None-Match", None)
    status, response_headers, _body = fetch(base, result.url_path, headers=headers)
    etag = response_headers.get("ETag")
    if status != 200 or not etag:
        result.problem = f"no ETag to send (HTTP {status})"
        result.headers.pop("If-None-Match", None)
    else:
        result.headers["If-None-Match"] = etag


def _document_changed(base: str, result: PageResult, logins: Logins) -> bool:
    """Whether the document's ETag is no longer the one the measure sent."""
    headers = _request_headers(result, logins)
    sent = headers.pop("If-None-Match", None)
    _status, response_headers, _body = fetch(base, result.url_path, headers=headers)
    return response_headers.get("ETag") != sent


# --- load -------------------------------------------------------------------------------


def _measure_round(
    base: str, result: PageResult, logins: Logins, args: argparse.Namespace
) -> Round:
    """The page's ceiling, then the page, back to back so that both see the same machine.

    A conditional page is measured again, once, when its check found 200s where 304s were
    expected because the document itself changed meanwhile: a launch entered or left the
    feeds' sliding window (see _refresh_etag). Those 200s are right, and not the server's
    errors; 304s that fail with an unchanged document still count."""
    page = result.page
    ceiling_headers = {"Cookie": logins.cookies[page.role]} if page.role else {}
    ceiling_path = "/trivial-auth/" if page.role else "/trivial/"
    for attempt in range(2):
        ceiling = _wrk(base, ceiling_path, ceiling_headers, expect=200, args=args)
        _drain(base, args.workers)
        if page.conditional:
            _refresh_etag(base, result, logins)
        headers = _request_headers(result, logins)
        measured = _wrk(base, result.url_path, headers, expect=page.expect, args=args)
        check = _wrk(base, result.url_path, headers, expect=page.expect, args=args, check=True)
        _drain(base, args.workers)
        if not (attempt == 0 and page.conditional and check.errors):
            break
        if not _document_changed(base, result, logins):
            break
        print(f"  {page.name}: the document changed during the measure; measured again")
    one = Round(ceiling=ceiling, page=measured, check=check)
    print(
        f"  {page.name:<32} {measured.rps:8.1f} req/s  ceiling {ceiling.rps:8.1f}  "
        f"ratio {one.ratio:5.2f}  p95 {measured.p95_us / 1000:7.1f} ms"
        + (f"  errors {measured.errors + check.errors}" if measured.errors + check.errors else ""),
        flush=True,
    )
    return one


def _drain(base: str, workers: int) -> None:
    """Wait until the server has worked through what wrk left behind.

    When wrk stops, up to `--connections` requests are still queued in gunicorn's accept
    backlog, and sync workers answer each of them to a closed socket: 32 requests to a
    500 ms page keep 2 workers busy for 8 s, which the next measure would pay for. The
    backlog is first in, first out, so one request per worker sent now returns once the
    queue ahead of it is done."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda _: fetch(base, "/trivial/"), range(workers)))


def _wrk(
    base: str,
    path: str,
    headers: dict[str, str],
    *,
    expect: int,
    args: argparse.Namespace,
    check: bool = False,
) -> WrkResult:
    """A measure (`--duration` seconds), or with `check` a short run whose every answer's
    status is compared with `expect` (see WRK_MEASURE_SCRIPT)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_CHECK_SCRIPT if check else WRK_MEASURE_SCRIPT)
    command = [
        "wrk",
        f"--threads={args.threads}",
        f"--connections={args.connections}",
        f"--duration={CHECK_SECONDS if check else args.duration}s",
        # Requests wait in gunicorn's backlog behind 32 connections: a slow page's
        # latency is mostly queueing, and must not be cut off as a "timeout".
        "--timeout=60s",
        f"--script={script.name}",
    ]
    for name, value in headers.items():
        command.append(f"--header={name}: {value}")
    command += [f"http://{base}{path}", "--", str(expect)]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=args.duration + 120
        )
    finally:
        Path(script.name).unlink()
    result = parse_wrk_output(completed.stdout.splitlines())
    if result is None:
        sys.exit(f"wrk gave no summary for {path}:\n{completed.stdout}\n{completed.stderr}")
    return result


# --- in-process: queries, body size, plans ------------------------------------------------


def _measure_in_process(result: PageResult, logins: Logins) -> None:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # An exception becomes the 500 page, as on the server, and the row says so.
    client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
    headers = dict(result.headers)
    if result.page.bearer:
        headers.update(logins.headers(result.page))
    elif result.page.role:
        cookie = SimpleCookie(logins.cookies[result.page.role])
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie[settings.SESSION_COOKIE_NAME].value
    if result.page.conditional:
        # A fresh ETag, as for each measure (see _refresh_etag).
        first = client.get(result.url_path)
        if "ETag" in first:
            headers["If-None-Match"] = first["ETag"]
    # Each request starts by emptying the connection's query log (request_started).
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(result.url_path, headers=headers)
        body = (
            b"".join(response.streaming_content)  # type: ignore[arg-type]
            if response.streaming
            else response.content
        )
    queries = list(captured.captured_queries)  # read now: the next request empties the log
    if response.status_code != result.page.expect and not result.problem:
        result.problem = f"in-process: HTTP {response.status_code}"
    result.queries = len(queries)
    result.body_bytes = len(body)
    result.plan = _plan_summary([q["sql"] for q in queries])


def _plan_summary(statements: list[str]) -> str:
    """ "seq scan on X, Y" when a plan of one of the statements reads a big table
    sequentially, else "index only" (small tables may be scanned: that is cheaper)."""
    from django.db import DatabaseError, connection

    scanned: set[str] = set()
    failed = 0
    for sql in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                (plan,) = cursor.fetchone()
        except DatabaseError:
            failed += 1
            continue
        if isinstance(plan, str):
            plan = json.loads(plan)
        scanned |= _seq_scans(plan[0]["Plan"])
    summary = f"seq scan on {', '.join(sorted(scanned))}" if scanned else "index only"
    return summary + (f" ({failed} not explained)" if failed else "")


def _seq_scans(node: dict[str, Any]) -> set[str]:
    found = set()
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
        found.add(node["Relation Name"])
    for child in node.get("Plans", []):
        found |= _seq_scans(child)
    return found


def _clear_cache_namespace() -> None:
    """Delete the run's cache keys (its own prefix, see bench_settings)."""
    from django.conf import settings

    if not settings.REDIS_URL:
        return
    import redis

    prefix = os.environ["BENCH_CACHE_PREFIX"]
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def _clear_queues() -> None:
    """Delete the run's queues and their bindings from the broker (bench_settings)."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return  # the filesystem broker lives in DATA_DIR
    import redis

    prefix = os.environ["BENCH_QUEUE_PREFIX"]
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


# --- report -----------------------------------------------------------------------------


def _check(result: PageResult) -> list[str]:
    failures = []
    page = result.page
    if result.problem:
        failures.append(result.problem)
    if not result.rounds:
        return [*failures, "not measured"]
    ratio = result.median("ratio")
    if page.min_ratio is not None and ratio < page.min_ratio:
        failures.append(f"ratio {_ratio(ratio)} < {page.min_ratio}")
    p95_ratio = result.median("p95_ratio")
    if p95_ratio > P95_LIMIT:
        failures.append(f"p95 {p95_ratio:.1f}x ceiling > {P95_LIMIT:.0f}x")
    if result.errors:
        failures.append(f"{result.errors} errors")
    return failures


def _ratio(value: float) -> str:
    # Two decimals, or three below 0.1, where a page far from its target still shows.
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def _ms(microseconds: float) -> str:
    return (
        f"{microseconds / 1000:.0f} ms"
        if microseconds >= 10_000
        else f"{microseconds / 1000:.1f} ms"
    )


def _print_report(results: list[PageResult], rss: dict[int, float], meta: dict[str, Any]) -> None:
    print(
        f"\n{meta['campaigns']:,} campaigns, {meta['notifications']:,} notifications; "
        f"{meta['workers']} gunicorn sync workers; wrk {meta['connections']} connections, "
        f"{meta['threads']} threads, {meta['duration_s']} s x {meta['rounds']} rounds "
        f"(medians); commit {meta['commit']}, {meta['date']}\n"
    )
    print(
        "| page | rps | ratio to ceiling | p50 | p95 | p99 | p95 / ceiling p95 | queries "
        "| bytes | errors | plan | target | check |"
    )
    print(
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"
    )
    for result in results:
        page = result.page
        target = f"≥ {page.min_ratio}" if page.min_ratio is not None else "–"
        check = "PASS" if not result.failures else "FAIL: " + "; ".join(result.failures)
        if not result.rounds:
            print(f"| {page.name} | | | | | | | | | | | {target} | {check} |")
            continue
        print(
            f"| {page.name} | {result.median_page('rps'):.1f} | {_ratio(result.median('ratio'))} "
            f"| {_ms(result.median_page('p50_us'))} | {_ms(result.median_page('p95_us'))} "
            f"| {_ms(result.median_page('p99_us'))} | {result.median('p95_ratio'):.1f} "
            f"| {result.queries} | {result.body_bytes:,} | {result.errors} | {result.plan} "
            f"| {target} | {check} |"
        )
    ceilings = {}
    for result in results:
        kind = "/trivial-auth/" if result.page.role else "/trivial/"
        ceilings.setdefault(kind, []).extend(r.ceiling for r in result.rounds)
    for kind, runs in ceilings.items():
        print(
            f"\nceiling {kind}: {statistics.median(r.rps for r in runs):.1f} req/s, "
            f"p95 {_ms(statistics.median(r.p95_us for r in runs))} "
            f"(median of {len(runs)} measures)",
            end="",
        )
    print()
    largest = max(rss.values(), default=0.0)
    verdict = "PASS" if largest < RSS_LIMIT_MB else "FAIL"
    sizes = ", ".join(f"{mb:.0f} MB" for mb in rss.values())
    print(f"gunicorn worker RSS after the run: {sizes} (target < {RSS_LIMIT_MB:.0f} MB): {verdict}")
    failed = sum(1 for r in results if r.failures)
    print(f"{len(results) - failed}/{len(results)} pages meet their targets.")


def _metadata(
    args: argparse.Namespace, fixtures: LoadFixtures, load_seconds: float
) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM campaigns_campaign")
        (campaigns,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM notifications_notification")
        (notifications,) = cursor.fetchone()
        cursor.execute("SHOW server_version")
        (postgres,) = cursor.fetchone()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "postgres": postgres,
        "python": platform.python_version(),
        "campaigns": campaigns,
        "notifications": notifications,
        "busy_campaign_id": fixtures.busy_campaign_id,
        "busy_month": fixtures.busy_month,
        "workers": args.workers,
        "connections": args.connections,
        "threads": args.threads,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "load_seconds": round(load_seconds),
    }


def _write_json(
    path: Path, results: list[PageResult], rss: dict[int, float], meta: dict[str, Any]
) -> None:
    data = {
        "meta": meta,
        "rss_mb": {str(pid): round(mb, 1) for pid, mb in rss.items()},
        "pages": [
            {
                "name": r.page.name,
                "path": r.url_path,
                "role": r.page.role,
                "expect": r.page.expect,
                "min_ratio": r.page.min_ratio,
                "rps": r.median_page("rps") if r.rounds else None,
                "ratio": r.median("ratio") if r.rounds else None,
                "p50_ms": r.median_page("p50_us") / 1000 if r.rounds else None,
                "p95_ms": r.median_page("p95_us") / 1000 if r.rounds else None,
                "p99_ms": r.median_page("p99_us") / 1000 if r.rounds else None,
                "p95_ratio": r.median("p95_ratio") if r.rounds else None,
                "queries": r.queries,
                "bytes": r.body_bytes,
                "errors": r.errors,
                "plan": r.plan,
                "problem": r.problem,
                "failures": r.failures,
                "rounds": [
                    {
                        "ceiling": asdict(one.ceiling),
                        "page": asdict(one.page),
                        "check": asdict(one.check),
                    }
                    for one in r.rounds
                ],
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"raw numbers written to {path}")


if __name__ == "__main__":
    main()
