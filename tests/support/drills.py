"""Fault drills: a deployment's real processes as children of the test, and sinks that
count what arrived by notification id.

A drill runs its own `redis-server` (so it can stop it), `celery -A hub worker` and
`celery -A hub beat` subprocesses on the test database, an SMTP sink and a chat webhook
sink on loopback. Every e-mail and webhook post carries its outbox row's id
(`X-Passerelle-Notification`), so a sink can tell a lost message from a duplicate.
Fixtures are in tests/drills/conftest.py; the drills in tests/drills/.
"""

import fcntl
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from accounts.models import User
from teams.models import Membership, Team
from tests.factories import TeamFactory
from tests.support.processes import Process, port_open
from tests.support.servers import ehlo_offering_pipelining, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
# Set on the workers' database connections, so a drill can cut exactly theirs.
WORKER_APPLICATION_NAME = "passerelle-drill-worker"
_ID_HEADER = re.compile(rb"^X-Passerelle-Notification:[ \t]*(\d+)", re.MULTILINE | re.IGNORECASE)


# --- sinks --------------------------------------------------------------------------------


class Arrivals:
    """What reached a sink: each notification id with when (time.monotonic()) it came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[int, float]] = []

    def add(self, notification_id: int) -> None:
        with self.lock:
            self.items.append((notification_id, time.monotonic()))

    def counts(self) -> Counter[int]:
        with self.lock:
            return Counter(pk for pk, _at in self.items)

    def distinct(self) -> int:
        return len(self.counts())

    def first_arrivals(self) -> dict[int, float]:
        first: dict[int, float] = {}
        with self.lock:
            for pk, at in self.items:
                first.setdefault(pk, at)
        return first


class SmtpSink:
    """An SMTP server on loopback that accepts everything and records each message's
    notification id. `down()` closes the port (connections refused, as a dead relay);
    `up()` opens it again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals = Arrivals()
        self.unidentified = 0
        # Messages without an outbox row id (digests, the Monday e-mail): recipients,
        # subject and time.monotonic() of each, so a drill can count them per person.
        self.summaries: list[tuple[tuple[str, ...], str, float]] = []
        self._controller: Controller | None = None

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        return ehlo_offering_pipelining(session, hostname, responses)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        match = _ID_HEADER.search(envelope.content)
        if match is None:
            self.unidentified += 1
            headers = BytesHeaderParser(policy=policy.default).parsebytes(envelope.content)
            with self.arrivals.lock:
                subject = str(headers["Subject"] or "")
                self.summaries.append((tuple(envelope.rcpt_tos), subject, time.monotonic()))
        else:
            self.arrivals.add(int(match[1]))
        return "250 Message accepted for delivery"

    def up(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class WebhookPost:
    path: str
    notification_id: int
    answer: str  # "200", "500", "410" or "hang"
    at: float


@dataclass
class WebhookSink:
    """A chat server on loopback. Each path answers from its script, one answer per post
    ("500", "410", "hang": no answer before the client's timeout), then "200". Only a
    post answered 2xx counts as delivered."""

    hang_seconds: float = 10.0
    scripts: dict[str, list[str]] = field(default_factory=dict)
    posts: list[WebhookPost] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self) -> Arrivals:
        arrivals = Arrivals()
        with self.lock:
            arrivals.items = [(p.notification_id, p.at) for p in self.posts if p.answer == "200"]
        return arrivals

    def posts_to(self, path: str) -> list[WebhookPost]:
        with self.lock:
            return [p for p in self.posts if p.path == path]

    def start(self) -> None:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with sink.lock:
                    script = sink.scripts.get(self.path, [])
                    answer = script.pop(0) if script else "200"
                    sink.posts.append(
                        WebhookPost(
                            self.path,
                            int(self.headers.get("X-Passerelle-Notification", "-1")),
                            answer,
                            time.monotonic(),
                        )
                    )
                if answer == "hang":
                    time.sleep(sink.hang_seconds)  # the client has given up by now
                    answer = "503"
                with suppress(OSError):
                    self.send_response(int(answer))
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out on a hanging answer

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- processes ----------------------------------------------------------------------------


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a prefork worker's pool), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (command) state ppid …": the command may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def sigkill(pids: Iterable[int]) -> int:
    killed = 0
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed += 1
    return killed


class RedisServer:
    """A redis-server of the drill's own, without persistence: stopping it loses every
    queued message, as a crashed or restarted Redis without AOF does."""

    def __init__(self, program: str, folder: Path) -> None:
        self.program = program
        self.folder = folder
        self.port = free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.program, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = Process("redis", args, log=self.folder / "redis.log", cwd=self.folder)
        self.process.wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        assert wait_until(lambda: not port_open(self.port), timeout=5)


def worker_database_url() -> str:
    """The test database (pytest-django's `test_…`, one per xdist worker) as a URL for
    the subprocesses, tagged with an application_name a drill can find them by."""
    db = settings.DATABASES["default"]
    user = quote(db["USER"] or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return (
        f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
        f"?application_name={WORKER_APPLICATION_NAME}"
    )


@dataclass
class Stack:
    """The processes of one drill. `environment` holds the settings every child gets;
    a child may add its own."""

    folder: Path
    redis: RedisServer
    smtp: SmtpSink
    webhooks: WebhookSink
    ping: Callable[[str], bool]
    environment: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def child_environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("PYTEST_", "DATABASE_", "REDIS_", "CELERY_", "EMAIL_"))
            and not name.startswith("NOTIFICATIONS_")
        }
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "DATA_DIR": str(self.folder / "data"),
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": self.redis.url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_TIMEOUT": "5",
            "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE": "1",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            **self.environment,
            **extra,
        }

    def worker(self, name: str, *, concurrency: int = 2, **extra: str) -> Process:
        """`celery -A hub worker` with a prefork pool, consuming every queue (the
        README's single-worker deployment); returns once it answers a ping."""
        node = f"{name}@drill"
        process = self._run(
            name,
            [
                "worker",
                "-P",
                "prefork",
                "-c",
                str(concurrency),
                "-n",
                node,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "warning",
            ],
            extra,
        )
        if not wait_until(lambda: self.ping(node) or not process.running(), timeout=60):
            raise AssertionError(f"worker {name} did not start:\n{process.output()}")
        if not process.running():
            raise AssertionError(f"worker {name} exited:\n{process.output()}")
        return process

    def beat(self, name: str, **extra: str) -> Process:
        """`celery -A hub beat` with a schedule file of its own (beat's sweep)."""
        return self._run(
            name,
            [
                "beat",
                "-s",
                str(self.folder / f"{name}-schedule"),
                "--pidfile",
                str(self.folder / f"{name}.pid"),
                "-l",
                "info",
            ],
            {"LOG_LEVEL": "INFO", **extra},  # its log says when it sent each tick
        )

    @staticmethod
    def ticks(beat: Process, task: str = "notifications-sweep") -> int:
        """How many times `beat` sent the scheduled entry `task`."""
        return beat.log.read_text(errors="replace").count(f"Sending due task {task} ")

    def _run(self, name: str, args: list[str], extra: Mapping[str, str]) -> Process:
        process = Process(
            name,
            [sys.executable, "-m", "celery", "-A", "hub", *args],
            log=self.folder / f"{name}.log",
            cwd=ROOT,
            env=self.child_environment(extra),
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Warm shutdown of every child (SIGTERM: running tasks finish), then SIGKILL of
        whatever is left, pools included."""
        for process in self.processes:
            if process.running():
                process.popen.terminate()
        deadline = time.monotonic() + 20
        for process in self.processes:
            pool = child_pids(process.pid) if process.running() else []
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except Exception:
                sigkill([*pool, process.pid])
                process.popen.wait(5)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output(30)}" for p in self.processes)


def terminate_worker_connections() -> int:
    """pg_terminate_backend on every connection the drill's workers hold: what a
    failover, a PgBouncer restart or an idle-connection killer does to them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        return sum(1 for (terminated,) in cursor.fetchall() if terminated)


# --- people -------------------------------------------------------------------------------


def teams_of_people(count: int, *, teams: int, **team_kwargs: Any) -> tuple[list[Team], list[int]]:
    """`count` active people spread over `teams` new teams, written in bulk (a drill
    needs thousands; the factories would take minutes)."""
    made = [TeamFactory(**team_kwargs) for _ in range(teams)]
    stamp = time.monotonic_ns()
    users = User.objects.bulk_create(
        User(email=f"drill{stamp}-{i}@example.com", full_name=f"Drill person {i}", password="!")
        for i in range(count)
    )
    Membership.objects.bulk_create(
        Membership(team=made[i % teams], user=user) for i, user in enumerate(users)
    )
    return made, [user.pk for user in users]


# --- the verdict ------------------------------------------------------------------------


@dataclass
class Tally:
    """What a sink received against what was expected, by notification id."""

    expected: int
    delivered: int
    lost: int
    duplicated: int
    unexpected: int
    full_delivery_at: float | None  # time.monotonic() of the last first arrival

    @classmethod
    def of(cls, expected: Iterable[int], arrivals: Arrivals) -> "Tally":
        wanted = set(expected)
        counts = arrivals.counts()
        first = arrivals.first_arrivals()
        got = wanted & set(counts)
        return cls(
            expected=len(wanted),
            delivered=len(got),
            lost=len(wanted - got),
            duplicated=sum(counts[pk] - 1 for pk in got),
            unexpected=len(set(counts) - wanted),
            full_delivery_at=max((first[pk] for pk in got), default=None)
            if got == wanted
            else None,
        )


def record_drill(row: dict[str, Any]) -> None:
    """Add the drill's row to the JSON file named by DRILL_REPORT (benchmarks/
    drill_report.py renders docs/RELIABILITY.md from it). Locked: xdist workers write
    to the same file."""
    target = os.environ.get("DRILL_REPORT")
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    row = {**row, "ran_at": datetime.now(UTC).isoformat(timespec="seconds")}
    with path.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        report = json.loads(text) if text.strip() else {"drills": {}}
        report["drills"][row["drill"]] = row
        handle.seek(0)
        handle.truncate()
        json.dump(report, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
