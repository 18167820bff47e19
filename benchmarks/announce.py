"""Announce latency: how long pressing *Announce* takes, for 20 to 10,000 recipients, on a
warm server and as the first request of a fresh gunicorn worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/passerelle_announce_bench \
        DATA_DIR=/tmp/announce uv run python benchmarks/announce.py

The target (issue 12): the announce answers in under 200 ms at the 95th percentile for
10,000 recipients, warm or cold. Absolute milliseconds on a shared 2-core machine move
from one minute to the next, so each figure also comes as a ratio to a trivial view
measured on the same server just before it (benchmarks/bench_urls.py: /trivial-auth/,
which loads the session and the user as every page does, then answers 2 bytes).

What one run does:
1. recreates the PostgreSQL database named in DATABASE_URL (its name must end in
   "_bench"), migrates and seeds one audience per `--sizes` entry: a team of that many
   people up to 2,000, else teams of 2,000 (10,000 = five stakeholder teams), every team
   with a chat webhook; a marketer; and for each audience enough ready drafts (launch in
   a week, ~1 kB Markdown body) that no request announces the same campaign twice; then
   VACUUM ANALYZE;
2. starts a redis-server of its own on a free port (broker and cache): every announce
   above NOTIFICATIONS_EXPAND_INLINE_MAX people publishes an expansion task, which no
   worker consumes here (the request is what is measured) and which goes away with that
   server;
3. **warm**: starts gunicorn as the image does (`gunicorn hub.wsgi`, which reads the
   repository's gunicorn.conf.py; `--workers` sync workers), logs the marketer in through
   the allauth form, sends each worker a few requests, then for `--rounds` rounds and
   each audience runs `wrk` on /trivial-auth/ (the ceiling), then `wrk` POSTing the
   announce form (session cookie and CSRF token; a Lua script hands each request the next
   draft and stops when the audience's share is used up), `--requests` requests each;
4. **cold**: `--cold-runs` times for each audience (and once more for the ceiling),
   starts a fresh gunicorn, opens one connection per worker, waits until every worker has
   accepted one (the listening socket's accept queue is empty: each sync worker holds the
   connection it took, so each holds exactly one), then sends the first request of each
   worker one after the other and times it from the first byte sent to the last byte
   received. wrk cannot address one worker's first request, hence this;
5. in-process, with the same session (Django's test client): the SQL queries of one
   announce per audience, and how long the expansion task then takes (one dispatch into
   its per-person rows), which runs after commit, outside the request;
6. prints a Markdown table (PASS/FAIL against 200 ms: warm p95 and the slowest cold
   request) and, with `--json PATH`, the raw numbers. It exits 0 whatever the numbers.

`--no-gunicorn-config` runs gunicorn without the repository's gunicorn.conf.py (the
server as the image ran it before that file existed), to measure what the file changes.
tests/benchmarks/test_announce_smoke.py runs the whole thing on tiny sizes.
"""

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    WRK_REPORT_LUA,
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
from benchmarks.seed import BENCH_PASSWORD  # noqa: E402

TARGET_MS = 200.0
TEAM_SIZE = 2_000  # the largest team; bigger audiences are several stakeholder teams
MARKETER_EMAIL = "marketer@announce.bench"
CEILING_PATH = "/trivial-auth/"
BODY = """## Ce que reçoivent les clients

Une offre de **parrainage** : pour chaque ami qui ouvre un compte avec leur code, un mois
d'abonnement offert. Le code est valable jusqu'à la fin du trimestre.

### Points clés pour les conseillers

- L'offre est sans engagement et résiliable à tout moment.
- Le code se trouve dans l'espace client, onglet *Mon compte*.
- Aucun changement de tarif pour les clients actuels avant le renouvellement.

### Questions fréquentes

**Le client n'a pas reçu l'e-mail ?**
Vérifier l'adresse dans la fiche client et le dossier des indésirables ; l'offre reste
accessible depuis l'espace personnel.

[Conditions de l'offre](https://offres.example.com/campagnes/parrainage)
"""

# Each thread takes every `stride`-th path from its own offset, so no two requests of a
# measure announce the same draft (a second announce is the cheap "already announced"
# answer). When its share is used up the thread stops (the request returned then is
# written but its answer never read, so it does not count) and says so on stdout: wrk's
# main thread sleeps for the whole --duration whatever its threads do, so the script
# interrupts it (SIGINT, after which wrk reports as usual) once every thread is done.
# `expected` is the status each answer must have (benchmarks.common.WRK_REPORT_LUA,
# appended once this is formatted, counts the others and prints wrk's summary).
WRK_SCRIPT = """
local paths = {%(paths)s}
local method = "%(method)s"
local body = %(body)s
local headers = {%(headers)s}
local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  stride = tonumber(args[1])
  expected = tonumber(args[2])
  position = offset + 1
  unexpected = 0
  -- wrk calls the first thread's request() once, right after init, to check that it
  -- builds a valid request, and never sends that one: it must not take a draft.
  checked = offset ~= 0
end

function request()
  if not checked then
    checked = true
    return wrk.format("GET", "/health/")
  end
  if position > #paths then
    io.write("WRK_THREAD_DONE " .. offset .. "\\n")
    io.stdout:flush()
    wrk.thread:stop()
    return wrk.format("GET", "/health/")
  end
  local path = paths[position]
  position = position + stride
  return wrk.format(method, path, headers, body)
end
"""


@dataclass
class Audience:
    """One row of the report: an audience size, its teams and its pool of drafts."""

    size: int
    team_ids: list[int]
    drafts: list[int]
    used: int = 0
    warm: list[tuple[WrkResult, WrkResult]] = field(default_factory=list)  # (ceiling, page)
    cold_ms: list[float] = field(default_factory=list)
    queries: int | None = None
    rows_in_request: int | None = None
    expansion_s: float | None = None
    problems: list[str] = field(default_factory=list)

    def take(self, count: int) -> list[int]:
        if self.used + count > len(self.drafts):
            raise RuntimeError(f"{self.size}: no drafts left (seed more)")
        taken = self.drafts[self.used : self.used + count]
        self.used += count
        return taken


def main() -> None:
    args = _arguments()
    redis_server = _start_redis()
    _configure_environment(args, redis_port=redis_server.port)
    # Stopped by the smoke test (or Ctrl-C): unwind, so gunicorn and Redis stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import django

    try:
        django.setup()
        audiences = _prepare_database(args)
        marketer_cookie, ceiling_cold, boots = _measure_servers(args, audiences)
        print("\nqueries and expansion (in-process)…", flush=True)
        for audience in audiences:
            _measure_in_process(audience, marketer_cookie)
        _check_announced(audiences)
    finally:
        redis_server.stop()

    meta = _metadata(args, boots)
    _print_report(audiences, ceiling_cold, meta)
    if args.json:
        _write_json(Path(args.json), audiences, ceiling_cold, meta)


# --- set-up ------------------------------------------------------------------------------


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="20,500,2000,10000",
        help="audiences, in people, comma-separated (500: the most written in the request)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--connections", type=int, default=2, help="wrk connections (requests in flight)"
    )
    parser.add_argument("--requests", type=int, default=300, help="requests per wrk measure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="fresh servers per audience (x workers)"
    )
    parser.add_argument(
        "--no-gunicorn-config",
        action="store_true",
        help="run gunicorn without the repository's gunicorn.conf.py (the old image)",
    )
    parser.add_argument("--json", metavar="PATH", help="write the raw numbers here")
    args = parser.parse_args()
    args.sizes = sorted({int(size) for size in args.sizes.split(",")})
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name ends in _bench.")
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install {tool}).")
    if args.connections < 1 or args.workers < 1:
        sys.exit("--connections and --workers must be at least 1")
    return args


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start_redis() -> RedisServer:
    """A Redis of the run's own: the tasks the announces publish pile up in it unread,
    and must not land in a shared Redis's queues."""
    port = free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return RedisServer(process, port)
        time.sleep(0.05)
    process.kill()
    sys.exit("redis-server did not start")


def _configure_environment(args: argparse.Namespace, *, redis_port: int) -> None:
    """Production-like settings, shared by this process and the gunicorn it starts."""
    configure_production_environment("announce", REDIS_URL=f"redis://127.0.0.1:{redis_port}/0")
    for name in ("CELERY_BROKER_URL", "REDIS_SENTINELS", "DATABASE_REPLICA_URL"):
        os.environ.pop(name, None)
    # The image's dependencies are byte-compiled (UV_COMPILE_BYTECODE=1). A development
    # venv run with PYTHONDONTWRITEBYTECODE has no .pyc: each fresh worker would compile
    # every module it imports, and the cold figures would measure the compiler. So the
    # servers cache their bytecode outside the checkout, shared from one run to the next.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(
        Path(tempfile.gettempdir()) / "passerelle-bench-pycache"
    )


def _prepare_database(args: argparse.Namespace) -> list[Audience]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    recreate_bench_database(settings.DATABASES["default"]["NAME"])
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)
    # Every draft a run may announce: warm-up, wrk, cold starts, in-process, a margin.
    per_audience = (
        args.rounds * args.requests
        + args.workers * 3
        + args.cold_runs * args.workers
        + 2
        + args.connections
    )
    started = time.perf_counter()
    audiences = _seed(args.sizes, drafts=per_audience)
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return audiences


def _seed(sizes: list[int], *, drafts: int) -> list[Audience]:
    """People, teams (each with a chat webhook), a marketer and the drafts."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from campaigns.models import Campaign, Stakeholder
    from teams.models import Membership, Team
    from teams.roles import MARKETER

    with transaction.atomic():
        marketer = User.objects.create(
            email=MARKETER_EMAIL, full_name="Bench Marketer", password=make_password(BENCH_PASSWORD)
        )
        marketer.groups.add(Group.objects.get(name=MARKETER))
        EmailAddress.objects.create(
            user=marketer, email=marketer.email, primary=True, verified=True
        )
        people = User.objects.bulk_create(
            User(email=f"advisor{i}@announce.bench", full_name=f"Advisor {i}", password="!")
            for i in range(max(sizes))
        )
        audiences = []
        launch_at = timezone.now() + timedelta(days=7)
        for size in sizes:
            teams = []
            for start in range(0, size, TEAM_SIZE):
                members = people[start : min(size, start + TEAM_SIZE)]
                slug = f"audience-{size}-{start // TEAM_SIZE}"
                team = Team.objects.create(
                    name=f"Audience {size} #{start // TEAM_SIZE + 1}",
                    slug=slug,
                    webhook_url=f"https://chat.example.com/hooks/{slug}",
                )
                Membership.objects.bulk_create(Membership(team=team, user=u) for u in members)
                teams.append(team)
            campaigns = Campaign.objects.bulk_create(
                Campaign(
                    title=f"Parrainage {size} #{n}",
                    channel=Campaign.Channel.EMAIL,
                    audience="Clients particuliers actifs",
                    estimated_recipients=40_000,
                    launch_at=launch_at,
                    owner=marketer,
                    summary="Offre de parrainage pour les clients particuliers.",
                    body=BODY,
                )
                for n in range(drafts)
            )
            Stakeholder.objects.bulk_create(
                Stakeholder(campaign=campaign, team=team)
                for campaign in campaigns
                for team in teams
            )
            audiences.append(
                Audience(
                    size=size, team_ids=[t.pk for t in teams], drafts=[c.pk for c in campaigns]
                )
            )
    return audiences


# --- the server -------------------------------------------------------------------------


class Gunicorn(Server):
    """A gunicorn master, its sync workers, and when it was started."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        super().__init__(process, port, log)
        self.started = time.monotonic()


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[Gunicorn]:
    """gunicorn as the image starts it (`gunicorn hub.wsgi`, reading ./gunicorn.conf.py),
    on a free loopback port. Nothing is sent to it here: see `_held_connections`."""
    port = free_port()
    log = Path(os.environ["DATA_DIR"]) / "gunicorn-announce.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "hub.wsgi",
        f"--workers={args.workers}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=120",
        "--log-level=warning",
        f"--error-logfile={log}",
        # gunicorn 27's control socket has a fixed path in $HOME, which a second server
        # on the machine (another benchmark, the smoke test) would take.
        "--no-control-socket",
    ]
    with contextlib.ExitStack() as stack:
        if args.no_gunicorn_config:
            # The image's command line before gunicorn.conf.py, access log included.
            empty = stack.enter_context(tempfile.NamedTemporaryFile("w", suffix=".py"))
            command += [f"--config={empty.name}", "--access-logfile=-"]
        # The access log (gunicorn.conf.py sends it to stdout, as in the container) goes
        # to the log file: written as in production, kept off the report.
        output = stack.enter_context(log.open("ab"))
        process = subprocess.Popen(command, cwd=ROOT, stdout=output)
        server = Gunicorn(process, port, log)
        try:
            yield server
        finally:
            stop_server(process)


def _held_connections(server: Gunicorn, count: int) -> tuple[list[socket.socket], float]:
    """`count` connections, each accepted by a different worker, nothing sent on them
    yet; and the seconds since the server was started (its boot time, at the first
    call). A sync worker accepts a connection only once it has loaded the application,
    and then waits for that connection's request: when the listening socket's accept
    queue is empty, each of `count` workers holds one of them and has served nothing."""
    deadline = time.monotonic() + 90
    while True:
        if server.process.poll() is not None:
            sys.exit(f"gunicorn exited ({server.process.returncode}); see {server.log}")
        with contextlib.suppress(OSError):
            connections = [
                socket.create_connection(("127.0.0.1", server.port), timeout=120)
                for _ in range(count)
            ]
            break
        if time.monotonic() > deadline:
            sys.exit(f"gunicorn did not listen within 90 s; see {server.log}")
        time.sleep(0.05)
    while _accept_queue(server.port) > 0:
        if time.monotonic() > deadline:
            sys.exit(f"gunicorn's workers did not start within 90 s; see {server.log}")
        time.sleep(0.01)
    return connections, time.monotonic() - server.started


def _accept_queue(port: int) -> int:
    """Connections waiting in the listening socket's accept queue (for a socket in
    LISTEN state, the "rx_queue" column of /proc/net/tcp is that queue's length)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":
            return int(fields[4].split(":")[1], 16)
    return 0


def _timed_request(connection: socket.socket, raw: bytes) -> tuple[int, float]:
    """Send `raw` on a connection a worker already accepted; (status, milliseconds from
    the first byte sent to the last received: the sync worker closes after answering)."""
    started = time.perf_counter()
    connection.sendall(raw)
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    status_line = b"".join(chunks).split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split()[1]) if status_line else 0, elapsed


def _raw_request(
    server: Gunicorn, method: str, path: str, headers: dict[str, str], body: str
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if method == "POST":
        lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


# --- measures ---------------------------------------------------------------------------


def _announce_form(cookie: str) -> tuple[dict[str, str], str]:
    """The headers and body of the announce form's POST, as a browser sends it."""
    csrf = SimpleCookie(cookie)["csrftoken"].value
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    return headers, f"csrfmiddlewaretoken={csrf}"


def _measure_servers(
    args: argparse.Namespace, audiences: list[Audience]
) -> tuple[str, list[float], list[float]]:
    """The warm rounds on one server, then the cold starts; returns the marketer's
    cookie, the cold ceiling's timings and the servers' boot times."""
    with _server(args) as server:
        held, boot = _held_connections(server, args.workers)
        for connection in held:
            connection.close()
        cookie = login(server.base, MARKETER_EMAIL)
        headers, body = _announce_form(cookie)
        _warm_up(server, args, audiences, headers, body)
        print(
            f"gunicorn: {args.workers} sync workers on {server.base} (up in {boot:.1f} s); "
            f"wrk: {args.connections} connections, {args.requests} requests per measure",
            flush=True,
        )
        for number in range(1, args.rounds + 1):
            print(f"\nround {number}/{args.rounds}", flush=True)
            for audience in audiences:
                _measure_warm(server, args, audience, cookie, headers, body)

    print(f"\ncold: {args.cold_runs} fresh servers per audience", flush=True)
    ceiling_cold: list[float] = []
    boots: list[float] = []
    for run in range(1, args.cold_runs + 1):
        with _server(args) as server:
            requests = [("GET", CEILING_PATH, {"Cookie": cookie}, "")] * args.workers
            timings, boot = _first_requests(server, requests)
            ceiling_cold += timings
            boots.append(boot)
        print(
            f"  run {run}: ceiling         first requests "
            + ", ".join(f"{ms:.0f} ms" for ms in timings),
            flush=True,
        )
        for audience in audiences:
            paths = [f"/campaigns/{pk}/announce/" for pk in audience.take(args.workers)]
            with _server(args) as server:
                timings, boot = _first_requests(
                    server, [("POST", path, headers, body) for path in paths], audience
                )
            audience.cold_ms += timings
            boots.append(boot)
            print(
                f"  run {run}: {audience.size:>6,} people  first requests "
                + ", ".join(f"{ms:.0f} ms" for ms in timings),
                flush=True,
            )
    return cookie, ceiling_cold, boots


def _warm_up(
    server: Gunicorn,
    args: argparse.Namespace,
    audiences: list[Audience],
    headers: dict[str, str],
    body: str,
) -> None:
    """Three announces per worker (of the smallest audience) and a few ceiling requests,
    in parallel so that every worker gets some: the warm measures start warm."""
    from concurrent.futures import ThreadPoolExecutor

    paths = [f"/campaigns/{pk}/announce/" for pk in audiences[0].take(args.workers * 3)]

    def announce(path: str) -> int:
        status, _headers, _body = fetch(
            server.base, path, method="POST", headers=headers, body=body.encode()
        )
        return status

    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        statuses = list(pool.map(announce, paths))
        list(pool.map(lambda _: fetch(server.base, CEILING_PATH, headers=headers), range(6)))
    if set(statuses) != {302}:
        sys.exit(f"warm-up announces answered {statuses}; see {server.log}")


def _measure_warm(
    server: Gunicorn,
    args: argparse.Namespace,
    audience: Audience,
    cookie: str,
    headers: dict[str, str],
    body: str,
) -> None:
    """The ceiling, then the announces, back to back so that both see the same machine."""
    ceiling = _wrk(
        server, args, [CEILING_PATH] * args.requests, "GET", {"Cookie": cookie}, None, 200
    )
    paths = [f"/campaigns/{pk}/announce/" for pk in audience.take(args.requests)]
    page = _wrk(server, args, paths, "POST", headers, body, 302)
    audience.warm.append((ceiling, page))
    if page.errors or ceiling.errors:
        audience.problems.append(f"wrk errors: announce {page.errors}, ceiling {ceiling.errors}")
    print(
        f"  {audience.size:>6,} people  p50 {page.p50_us / 1000:6.1f} ms  "
        f"p95 {page.p95_us / 1000:6.1f} ms  p99 {page.p99_us / 1000:6.1f} ms  "
        f"ceiling p95 {ceiling.p95_us / 1000:5.1f} ms  ratio {page.p95_us / ceiling.p95_us:4.1f}"
        + (f"  errors {page.errors}" if page.errors else ""),
        flush=True,
    )


def _wrk(
    server: Gunicorn,
    args: argparse.Namespace,
    paths: list[str],
    method: str,
    headers: dict[str, str],
    body: str | None,
    expect: int,
) -> WrkResult:
    threads = min(2, args.connections)
    script_text = WRK_SCRIPT % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "method": method,
        "body": json.dumps(body) if body is not None else "nil",
        "headers": ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
    }
    script_text += WRK_REPORT_LUA  # after the formatting: its own % are wrk's
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(script_text)
    command = [
        "wrk",
        f"--threads={threads}",
        f"--connections={args.connections}",
        # An upper bound: the measure ends when the paths are used up (see WRK_SCRIPT).
        "--duration=600s",
        "--timeout=60s",
        f"--script={script.name}",
        f"http://{server.base}{paths[0]}",
        "--",
        str(threads),
        str(expect),
    ]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        done: set[str] = set()
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("WRK_THREAD_DONE "):
                done.add(line.split()[1])
                if len(done) == threads:
                    process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    finally:
        Path(script.name).unlink()
    result = parse_wrk_output(output)
    if result is None:
        sys.exit("wrk gave no summary:\n" + "".join(output))
    return result


def _first_requests(
    server: Gunicorn,
    requests: list[tuple[str, str, dict[str, str], str]],
    audience: Audience | None = None,
) -> tuple[list[float], float]:
    """The first request of each worker (one request per worker), one worker after the
    other; their milliseconds, and the server's boot time in seconds."""
    connections, boot = _held_connections(server, len(requests))
    timings = []
    for connection, (method, path, headers, body) in zip(connections, requests, strict=True):
        raw = _raw_request(server, method, path, headers, body)
        status, elapsed = _timed_request(connection, raw)
        expected = 302 if method == "POST" else 200
        if status != expected:
            problem = f"cold {method} {path}: HTTP {status}"
            if audience is None:
                sys.exit(problem)
            audience.problems.append(problem)
        timings.append(elapsed)
    return timings, boot


def _measure_in_process(audience: Audience, cookie: str) -> None:
    """One more announce through Django's test client: its queries and the rows it
    wrote; then the expansion the task does after commit, timed."""
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from notifications.models import Dispatch, Notification
    from notifications.services import dispatch_expand

    (campaign_id,) = audience.take(1)
    client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
    session = SimpleCookie(cookie)[settings.SESSION_COOKIE_NAME].value
    client.cookies[settings.SESSION_COOKIE_NAME] = session
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/campaigns/{campaign_id}/announce/")
    if response.status_code != 302:
        audience.problems.append(f"in-process announce: HTTP {response.status_code}")
    audience.queries = len(captured.captured_queries)
    audience.rows_in_request = Notification.objects.filter(campaign_id=campaign_id).count()
    dispatch = Dispatch.objects.get(campaign_id=campaign_id)
    if dispatch.expanded_at is None:
        started = time.perf_counter()
        dispatch_expand(dispatch_id=dispatch.pk)
        audience.expansion_s = time.perf_counter() - started


def _check_announced(audiences: list[Audience]) -> None:
    """Each request announced a draft: as many announced campaigns as answered requests
    (a refusal also answers 302, with its message; it would show here)."""
    from campaigns.models import Campaign

    for audience in audiences:
        answered = (
            sum(page.requests for _ceiling, page in audience.warm)
            + len(audience.cold_ms)
            + 1  # in-process
        )
        announced = Campaign.objects.filter(
            pk__in=audience.drafts, status=Campaign.Status.ANNOUNCED
        ).count()
        # wrk may leave a request in flight per connection when it stops: those are
        # announced without being counted, hence "at least".
        if announced < answered:
            audience.problems.append(f"{answered} answers but {announced} campaigns announced")


# --- report -----------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with fewer than 20 values, the 95th is the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def _summary(audience: Audience, ceiling_cold: list[float]) -> dict[str, Any]:
    pages = [page for _ceiling, page in audience.warm]
    ratios = [page.p95_us / ceiling.p95_us for ceiling, page in audience.warm if ceiling.p95_us]
    cold_ceiling = statistics.median(ceiling_cold) if ceiling_cold else 0.0
    summary: dict[str, Any] = {
        "people": audience.size,
        "teams": len(audience.team_ids),
        "warm_p50_ms": statistics.median(p.p50_us for p in pages) / 1000 if pages else None,
        "warm_p95_ms": statistics.median(p.p95_us for p in pages) / 1000 if pages else None,
        "warm_p99_ms": statistics.median(p.p99_us for p in pages) / 1000 if pages else None,
        "warm_p95_by_round_ms": [round(p.p95_us / 1000, 1) for p in pages],
        "ceiling_p95_ms": (
            statistics.median(c.p95_us for c, _p in audience.warm) / 1000 if pages else None
        ),
        "warm_p95_ratio": statistics.median(ratios) if ratios else None,
        "warm_rps": statistics.median(p.rps for p in pages) if pages else None,
        "cold_ms": [round(ms, 1) for ms in audience.cold_ms],
        "cold_p50_ms": statistics.median(audience.cold_ms) if audience.cold_ms else None,
        "cold_p95_ms": _percentile(audience.cold_ms, 0.95) if audience.cold_ms else None,
        "cold_ratio": (
            statistics.median(audience.cold_ms) / cold_ceiling
            if audience.cold_ms and cold_ceiling
            else None
        ),
        "queries": audience.queries,
        "rows_in_request": audience.rows_in_request,
        "expansion_s": audience.expansion_s,
        "errors": sum(p.errors for p in pages),
        "problems": audience.problems,
    }
    failures = list(audience.problems)
    if summary["warm_p95_ms"] is not None and summary["warm_p95_ms"] >= TARGET_MS:
        failures.append(f"warm p95 ≥ {TARGET_MS:.0f} ms")
    if summary["cold_p95_ms"] is not None and summary["cold_p95_ms"] >= TARGET_MS:
        failures.append(f"cold p95 ≥ {TARGET_MS:.0f} ms")
    summary["failures"] = failures
    return summary


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _print_report(
    audiences: list[Audience], ceiling_cold: list[float], meta: dict[str, Any]
) -> None:
    print(
        f"\nAnnounce latency; gunicorn {meta['workers']} sync workers"
        f"{'' if meta['gunicorn_config'] else ' WITHOUT gunicorn.conf.py'}; wrk "
        f"{meta['connections']} connections, {meta['requests']} requests x {meta['rounds']} "
        f"rounds (medians); cold: {meta['cold_runs']} fresh servers x {meta['workers']} "
        f"workers per audience; servers up in {meta['boot_s_median']} s (median); "
        f"commit {meta['commit']}, {meta['date']}\n"
    )
    print(
        "| people | warm p50 | warm p95 | warm p99 | p95 by round | ceiling p95 | p95 / ceiling "
        "| cold p50 | cold p95 | cold / cold ceiling | queries | rows in request "
        "| expansion after commit | check |"
    )
    print("|" + " ---: |" * 4 + " --- |" + " ---: |" * 8 + " --- |")
    for audience in audiences:
        s = _summary(audience, ceiling_cold)
        ratio = f"{s['warm_p95_ratio']:.1f}" if s["warm_p95_ratio"] is not None else "–"
        cold_ratio = f"{s['cold_ratio']:.1f}" if s["cold_ratio"] is not None else "–"
        expansion = "inline" if s["expansion_s"] is None else f"{s['expansion_s']:.2f} s"
        check = "PASS" if not s["failures"] else "FAIL: " + "; ".join(s["failures"])
        print(
            f"| {s['people']:,} | {_ms(s['warm_p50_ms'])} | {_ms(s['warm_p95_ms'])} "
            f"| {_ms(s['warm_p99_ms'])} | {', '.join(str(v) for v in s['warm_p95_by_round_ms'])} "
            f"| {_ms(s['ceiling_p95_ms'])} | {ratio} | {_ms(s['cold_p50_ms'])} "
            f"| {_ms(s['cold_p95_ms'])} | {cold_ratio} | {s['queries']} | {s['rows_in_request']} "
            f"| {expansion} | {check} |"
        )
    if ceiling_cold:
        print(
            f"\ncold ceiling (first {CEILING_PATH} of a fresh worker): median "
            f"{_ms(statistics.median(ceiling_cold))}, max {_ms(max(ceiling_cold))} "
            f"({len(ceiling_cold)} workers)"
        )
    failed = sum(1 for a in audiences if _summary(a, ceiling_cold)["failures"])
    print(
        f"{len(audiences) - failed}/{len(audiences)} audiences meet the {TARGET_MS:.0f} ms target."
    )


def _metadata(args: argparse.Namespace, boots: list[float]) -> dict[str, Any]:
    import platform

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (postgres,) = cursor.fetchone()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "load_average": os.getloadavg(),
        "postgres": postgres,
        "python": platform.python_version(),
        "workers": args.workers,
        "connections": args.connections,
        "requests": args.requests,
        "rounds": args.rounds,
        "cold_runs": args.cold_runs,
        "boot_s_median": round(statistics.median(boots), 2),
        "gunicorn_config": not args.no_gunicorn_config and (ROOT / "gunicorn.conf.py").exists(),
    }


def _write_json(
    path: Path, audiences: list[Audience], ceiling_cold: list[float], meta: dict[str, Any]
) -> None:
    data = {
        "meta": meta,
        "cold_ceiling_ms": [round(ms, 1) for ms in ceiling_cold],
        "audiences": [
            {
                **_summary(a, ceiling_cold),
                "rounds": [{"ceiling": asdict(c), "page": asdict(p)} for c, p in a.warm],
            }
            for a in audiences
        ],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"raw numbers written to {path}")


if __name__ == "__main__":
    main()
