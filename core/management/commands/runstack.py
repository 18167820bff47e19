"""`manage.py runstack`: the whole app for development, in one command.

Prepares the database (migrate, demo data, static files), then runs the web server, a
Celery worker and Celery beat as child processes of this one, on the embedded defaults
(SQLite and a filesystem broker under DATA_DIR) unless the environment says otherwise.
Each child's output comes back prefixed with its name. Ctrl-C or SIGTERM stops all three;
if one of them dies, the others are stopped and the command exits non-zero, so a broken
stack is never left half running.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

# A worker finishes its current task on SIGTERM; one still busy after this is killed, and
# `acks_late` hands its task to the next worker.
STOP_TIMEOUT_SECONDS = 20
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass
class Child:
    name: str
    argv: list[str]
    style: Callable[[str], str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _die_with_parent_hook() -> Callable[[], None] | None:
    """On Linux, a child is sent SIGTERM when runstack itself dies, even by SIGKILL (an IDE's
    stop button): otherwise an orphaned worker would go on consuming the broker and an
    orphaned web server would hold the port against the next runstack."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


class Command(BaseCommand):
    help = (
        "Migrate, load demo data, collect static files, then run the web server, a Celery "
        "worker and Celery beat until Ctrl-C."
    )
    requires_system_checks = []  # `migrate` runs them; the children run them again.
    output_lock = threading.Lock()  # one line at a time from the three relays

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="Web server port (default 8000)."
        )
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help=(
                "Address the web server listens on (default 127.0.0.1: this machine only; "
                "0.0.0.0 opens the debug server to the network)."
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though the database holds accounts that are not demo accounts.",
        )
        parser.add_argument(
            "--no-seed",
            action="store_false",
            dest="seed",
            help="Do not run seed_demo (no demo users, teams or campaigns).",
        )

    def handle(
        self,
        *args: object,
        port: int,
        host: str,
        force: bool,
        seed: bool,
        verbosity: int,
        **options: object,
    ) -> None:
        if not force:
            self._refuse_foreign_data()
        self._prepare(seed=seed, force=force, verbosity=verbosity)

        python, manage = sys.executable, str(settings.BASE_DIR / "manage.py")
        celery = [python, "-m", "celery", "-A", "hub"]
        schedule = str(settings.DATA_DIR / "celerybeat-schedule")
        address = f"[{host}]" if ":" in host else host
        web = [python, manage, "runserver", f"{address}:{port}", "--noreload"]
        worker = [*celery, "worker", "-l", "info", "--concurrency", "2", "--pool", "prefork"]
        beat = [*celery, "beat", "-l", "info", "-s", schedule]
        children = [
            Child("web", web, self.style.SUCCESS),
            Child("worker", worker, self.style.HTTP_INFO),
            Child("beat", beat, self.style.WARNING),
        ]
        env = os.environ.copy()
        env.setdefault("DEBUG", "1")
        env["PYTHONUNBUFFERED"] = "1"  # lines as they happen, not when a pipe buffer fills

        stopping = threading.Event()
        forced = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stopping.is_set():
                forced.set()  # a second Ctrl-C: do not wait for the worker
            stopping.set()

        handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signum: signal.signal(signum, on_signal) for signum in handled}
        failed: Child | None = None
        try:
            self._spawn(children, env)
            self._say(
                f"Passerelle is starting at http://{address}:{port}/ (DEBUG={env['DEBUG']}, "
                f"data in {settings.DATA_DIR}). Ctrl-C stops web, worker and beat."
            )
            failed = self._watch(children, stopping)
        finally:
            self._stop(children, forced)
            for signum, handler in previous.items():
                signal.signal(signum, handler)

        if failed is not None:
            assert failed.process is not None
            raise CommandError(
                f"{failed.name} exited with code {failed.process.returncode}; stopped the others.",
                returncode=1,
            )
        self._say("Stopped.")

    def _refuse_foreign_data(self) -> None:
        """The stack serves DEBUG=1 and (with the seed) a superuser with a public password:
        never on a database holding real accounts, unless --force says it is disposable."""
        if "seed_demo" not in get_commands():
            return  # no demo app: nothing tells demo accounts from others
        from demo.management.commands.seed_demo import refuse_foreign_data
        from demo.seed import DemoDataError, demo_load

        try:
            demo = demo_load()
        except DemoDataError as error:
            raise CommandError(f"The demo data cannot be played: {error}") from error
        refuse_foreign_data(demo, command="runstack")

    def _prepare(self, *, seed: bool, force: bool, verbosity: int) -> None:
        self._say("Applying migrations")
        call_command("migrate", interactive=False, verbosity=verbosity)
        if seed:
            if "seed_demo" not in get_commands():
                raise CommandError(
                    "The seed_demo command is not installed "
                    "(demo/management/commands/seed_demo.py). "
                    "Run `manage.py runstack --no-seed` to start without demo data."
                )
            self._say("Loading demo data")
            call_command("seed_demo", force=force, verbosity=verbosity)
        # DEBUG serves static files straight from the apps, but with DEBUG=0 WhiteNoise
        # serves only what is in STATIC_ROOT.
        self._say("Collecting static files")
        call_command("collectstatic", interactive=False, verbosity=0)

    def _spawn(self, children: list[Child], env: dict[str, str]) -> None:
        # All children start before any reader thread: `preexec_fn` is only safe while
        # this process has a single thread.
        hook = _die_with_parent_hook()
        for child in children:
            child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed argv
                child.argv,
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Its own process group: a terminal's Ctrl-C reaches only runstack, which
                # then stops every child itself and can kill a whole group if it hangs.
                start_new_session=True,
                preexec_fn=hook,  # single-threaded here, see above
            )
        for child in children:
            child.reader = threading.Thread(
                target=self._relay, args=(child,), name=f"runstack-{child.name}", daemon=True
            )
            child.reader.start()

    def _relay(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        prefix = child.style(f"{child.name:<6}|")
        for raw in child.process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self._emit(f"{prefix} {line}")

    def _watch(self, children: list[Child], stopping: threading.Event) -> Child | None:
        """Wait for a signal or for a child to end; return the child that ended, if any.
        Nothing is meant to end on its own, so even an exit code of 0 is a failure."""
        while not stopping.wait(POLL_SECONDS):
            for child in children:
                if not child.running:
                    return child
        return None

    def _stop(self, children: list[Child], forced: threading.Event) -> None:
        alive = [child for child in children if child.running]
        if alive:
            self._say("Stopping " + ", ".join(child.name for child in alive))
        for child in alive:
            assert child.process is not None
            child.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while any(child.running for child in alive):
            if forced.is_set() or time.monotonic() > deadline:
                for child in alive:
                    if child.running:
                        assert child.process is not None
                        self._say(f"{child.name} did not stop in time; killing it")
                        # Its whole group, pool processes included. The leader has not
                        # been reaped, so the group id cannot belong to anyone else yet.
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(child.process.pid, signal.SIGKILL)
                break
            time.sleep(POLL_SECONDS)
        for child in children:
            if child.process is not None:
                child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)

    def _say(self, message: str) -> None:
        self._emit(self.style.MIGRATE_HEADING(f"runstack| {message}"))

    def _emit(self, line: str) -> None:
        # The terminal or pipe may be gone (a `| tee` killed by the same Ctrl-C): the
        # children must still be stopped, and their pipes drained so they never block.
        with self.output_lock, contextlib.suppress(OSError):
            self.stdout.write(line)
            self.stdout.flush()
