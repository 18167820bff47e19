"""What the benchmark scripts share: they drop and recreate their database, run
gunicorn, log in through the real form, drive wrk and read back its report."""

import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.seed import BENCH_PASSWORD

ROOT = Path(__file__).resolve().parent.parent

BENCH_SUFFIX = "_bench"


def configure_production_environment(name: str, **extra: str) -> None:
    """Production-like settings (plus `extra`), shared by this process and the gunicorn
    it starts; DATA_DIR, unless set, a fresh temporary folder named after `name`."""
    if not os.environ.get("DATA_DIR"):
        # Never the repository's ./data, which belongs to a developer's own stack.
        os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix=f"passerelle-{name}-")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # E-mails to files under DATA_DIR unless `extra` names an SMTP server.
            "EMAIL_FILE_PATH": "sent-mail",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )


def recreate_bench_database(name: str) -> None:
    """Drop and recreate `name`, which must end in "_bench": a DATABASE_URL left
    exported for development must never be wiped by a benchmark."""
    if not name.endswith(BENCH_SUFFIX):
        sys.exit(
            f"Refusing to drop database {name!r}: benchmarks only recreate a database whose "
            f"name ends in {BENCH_SUFFIX!r} (e.g. passerelle_bench)."
        )
    from django.db import connection

    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')


# --- wrk: the report every benchmark script asks of it ------------------------------------

# Appended to a script's own Lua: counts answers whose status is not the `expected` global
# its init() sets (wrk counts any 3xx as a success, and a 302 to the login page, a lost
# session, must count as an error). `unexpected` is a global of each thread's Lua state,
# read back with thread:get() in done(); the script's setup() puts each thread in
# `threads`. Defining `response` makes wrk copy every body into its Lua state: 0.2 ms of
# the load generator's CPU for a 300 kB answer, on the cores the server uses, so a
# measure of throughput and latency leaves it out (benchmarks/load.py checks the statuses
# in a run of its own).
WRK_STATUS_LUA = """
function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end
"""

# Appended last: prints wrk's summary as one JSON line (with the unexpected statuses that
# WRK_STATUS_LUA counted, 0 without it).
WRK_SUMMARY_LUA = """
done = function(summary, latency, requests)
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (thread:get("unexpected") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, ' ..
    '"p95_us": %d, "p99_us": %d, "max_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "non_2xx_3xx": %d, ' ..
    '"unexpected_status": %d}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, e.status, wrong))
end
"""

# Both (after any %-formatting of a script's own Lua, so it is used as is).
WRK_REPORT_LUA = WRK_STATUS_LUA + WRK_SUMMARY_LUA


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_us: int
    bytes: int
    p50_us: int
    p95_us: int
    p99_us: int
    max_us: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    non_2xx_3xx: int
    unexpected_status: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def errors(self) -> int:
        """Failed requests: socket errors, timeouts and any status but the expected one
        (which includes every non-2xx/3xx answer)."""
        return (
            self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.timeouts
            + self.unexpected_status
        )


def parse_wrk_output(lines: Iterable[str]) -> WrkResult | None:
    """The summary WRK_REPORT_LUA printed among wrk's output lines, if any."""
    for line in lines:
        if line.startswith("WRK_JSON "):
            return WrkResult(**json.loads(line.removeprefix("WRK_JSON ")))
    return None


# --- the server ---------------------------------------------------------------------------


class Server:
    """A gunicorn master and its sync workers, on a free loopback port."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.base = f"127.0.0.1:{port}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def workers_rss_mb(self) -> dict[int, float]:
        """VmRSS of each worker (the master forks them and serves nothing itself)."""
        sizes = {}
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                sizes[pid] = int(match[1]) / 1024
        return sizes


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a gunicorn master (and so its workers): SIGTERM, then SIGKILL after 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- HTTP: logins and single requests ------------------------------------------------------


def fetch(
    base: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    host, port = base.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def _cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def login(base: str, email: str) -> str:
    """Log in through the allauth form as a browser does; returns the Cookie header."""
    status, headers, body = fetch(base, "/accounts/login/")
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    csrf_cookie = _cookies(headers).get("csrftoken")
    if status != 200 or not match or not csrf_cookie:
        sys.exit(f"login page: HTTP {status}, no CSRF token to log {email} in")
    form = {"login": email, "password": BENCH_PASSWORD, "csrfmiddlewaretoken": match[1].decode()}
    status, headers, _body = fetch(
        base,
        "/accounts/login/",
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie}",
        },
        body=urlencode(form).encode(),
    )
    session = _cookies(headers).get("sessionid")
    if status != 302 or not session:
        sys.exit(f"logging {email} in: HTTP {status}, no session cookie")
    cookie = f"sessionid={session}; csrftoken={csrf_cookie}"
    status, _headers, _body = fetch(base, "/trivial-auth/", headers={"Cookie": cookie})
    if status != 200:
        sys.exit(f"{email}'s session does not open /trivial-auth/ (HTTP {status})")
    return cookie


# --- what the report says about the run ------------------------------------------------------


def commit() -> str:
    """The commit measured; BENCH_COMMIT names it for a copy that is not a git checkout
    (`git archive` of an older commit, to measure a baseline)."""
    if os.environ.get("BENCH_COMMIT"):
        return os.environ["BENCH_COMMIT"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{out}{' (with uncommitted changes)' if dirty else ''}"


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = match[1] if match else ""
    memory = ""
    with contextlib.suppress(OSError):
        match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        memory = f"{int(match[1]) / 1024**2:.0f} GiB" if match else ""
    return f"{os.cpu_count()} cores ({cpu}), {memory}".strip()
