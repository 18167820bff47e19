"""Servers run as child processes by the scale-out tests (PgBouncer, Redis, Sentinel):
find the binary, wait for the port, and always stop what was started."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

REQUIRE_SERVICES = os.environ.get("PASSERELLE_REQUIRE_SERVICES") == "1"


def binary(name: str, *candidates: str) -> str:
    """The path of `name`, else a skip (a failure under PASSERELLE_REQUIRE_SERVICES=1)."""
    for path in (shutil.which(name), *candidates):
        if path and Path(path).exists():
            return path
    reason = f"needs {name} (Debian: apt-get install {name})"
    if REQUIRE_SERVICES:
        pytest.fail(f"PASSERELLE_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Process:
    """One child process with its output in a file (read back when a test fails)."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        log: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own arguments
                list(args), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def wait_for_port(self, port: int, *, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} exited at start:\n{self.output()}")
            if port_open(port):
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not listening on {port} after {timeout}s")

    def kill(self) -> None:
        """SIGKILL, as a crash or a power cut would."""
        with suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(5)

    def stop(self) -> None:
        if not self.running():
            return
        self.popen.terminate()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def settings_in_fresh_interpreter(
    expression: str, env: Mapping[str, str], *, keep: Callable[[str], bool] = lambda _: True
) -> Any:
    """`expression` (Python over `settings`, JSON-serialisable) evaluated in a new
    interpreter whose environment is this one's, filtered by `keep`, plus `env`:
    settings.py reads the environment once, at import, so each case needs its own."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({expression}, default=str))"
    )
    environment = {name: value for name, value in os.environ.items() if keep(name)}
    environment.update(env, DJANGO_SETTINGS_MODULE="hub.settings")
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def manage_in_fresh_interpreter(
    args: Sequence[str], env: Mapping[str, str], *, keep: Callable[[str], bool] = lambda _: True
) -> subprocess.CompletedProcess[str]:
    """`manage.py <args>` in a new interpreter, environment as in
    settings_in_fresh_interpreter; the result is returned whatever its exit code, for
    tests of what the settings refuse."""
    environment = {name: value for name, value in os.environ.items() if keep(name)}
    environment.update(env, DJANGO_SETTINGS_MODULE="hub.settings")
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, str(root / "manage.py"), *args],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
