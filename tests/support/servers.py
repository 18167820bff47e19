"""Real servers on loopback, and a real Celery worker, with their fixtures (wired in
tests/conftest.py so every test folder can use them).

Only the network edge is faked, and then with real servers: an SMTP server (aiosmtpd), an
HTTP server for team chat webhooks and a TCP proxy in front of Redis that can be cut.
"""

import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.db import connections

from accounts.models import User
from campaigns.models import Campaign
from campaigns.services import campaign_announce
from hub import queues
from hub.celery import app
from notifications import tasks
from teams.models import Team
from tests.factories import CampaignFactory, StakeholderFactory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- campaigns ------------------------------------------------------------------------


def campaign_for(*, owner: User, teams: list[Team], **kwargs: Any) -> Campaign:
    campaign = CampaignFactory(owner=owner, **kwargs)
    for team in teams:
        StakeholderFactory(campaign=campaign, team=team)
    return campaign


def announce(campaign: Campaign) -> Campaign:
    return campaign_announce(actor=campaign.owner, campaign_id=campaign.pk)


# --- SMTP -----------------------------------------------------------------------------


def ehlo_offering_pipelining(
    session: Any, hostname: str, responses: list[str], *, offer: bool = True
) -> list[str]:
    """An aiosmtpd EHLO answer that also offers PIPELINING (RFC 2920), as Postfix and
    Exim do, so tests and drills run the pipelined exchange (notifications/smtp.py)."""
    session.host_name = hostname
    if offer:
        responses.insert(-1, "250-PIPELINING")
    return responses


class SmtpHandler:
    """Collects what a real SMTP server accepted, and answers as scripted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.data_commands = 0
        # Replies for the next DATA commands, one each; then `data_reply` if set.
        self.data_script: list[str] = []
        self.data_reply: str | None = None
        self.refused_rcpt: dict[str, str] = {}
        self.refused_senders: dict[str, str] = {}
        # Offered in EHLO, as Postfix and Exim do (notifications/smtp.py).
        self.pipelining = True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        return ehlo_offering_pipelining(session, hostname, responses, offer=self.pipelining)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        if address in self.refused_senders:
            return self.refused_senders[address]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refused_rcpt:
            return self.refused_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.data_commands += 1
            if self.data_script:
                return self.data_script.pop(0)
            if self.data_reply is not None:
                return self.data_reply
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        with self.lock:
            return [str(m["To"]) for m in self.messages]


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, with Django's default mailer pointed at it.

    The test settings put the locmem backend in MAILERS; this override wins."""
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "notifications.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    try:
        yield SmtpServer(handler=handler, port=port)
    finally:
        controller.stop()


# --- team chat webhooks ---------------------------------------------------------------


@dataclass
class WebhookServer:
    url: str
    status: int = 200
    delay: float = 0.0
    location: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """A chat server on loopback that records each POST and answers as told."""
    state = WebhookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(body),
                }
            )
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http_server(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/hooks/team"
        yield state


@contextmanager
def loopback_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on a free loopback port, in a thread, for the `with` block; yields
    the port. A client giving up on a slow answer is not an error (the timeout tests)."""

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- publishing -----------------------------------------------------------------------


@dataclass
class PublishCall:
    task_name: str
    args: tuple[Any, ...]
    countdown: float | None
    published: bool
    seconds: float


@pytest.fixture
def publish_spy(monkeypatch) -> list[PublishCall]:
    """Records each publish from the notification services and tasks, and still really
    publishes (to whatever broker the test points the app at)."""
    from feed import tasks as feed_tasks
    from notifications import publish
    from notifications.services import delivery, outbox

    calls: list[PublishCall] = []
    real = publish.publish_task

    def spy(task_name: str, *args: Any, countdown: float | None = None) -> bool:
        start = time.monotonic()
        published = real(task_name, *args, countdown=countdown)
        calls.append(PublishCall(task_name, args, countdown, published, time.monotonic() - start))
        return published

    for module in (outbox, delivery, tasks, feed_tasks):
        monkeypatch.setattr(module, "publish_task", spy)
    return calls


@pytest.fixture
def celery_app():
    return app


@pytest.fixture
def use_broker(celery_app) -> Iterator[Callable[[str], None]]:
    """Point the Celery app at another broker URL for the rest of the test.

    The app caches its connection and producer pools (kombu keeps them per URL, so they
    are only dropped here, not closed); the originals are put back afterwards."""
    saved = (celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool)

    def drop_pools() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def use(url: str) -> None:
        drop_pools()
        celery_app.conf.broker_url = url

    try:
        yield use
    finally:
        drop_pools()
        celery_app.conf.broker_url, celery_app._pool, celery_app.amqp._producer_pool = saved


class TcpProxy:
    """Forwards a loopback port to Redis; `cut()` makes Redis look gone, `restore()` back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _address = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def cut(self) -> None:
        assert self._listener is not None
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        for sock in [self._listener, *self._sockets]:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets.clear()
        self._listener = None


@pytest.fixture
def redis_proxy(settings) -> Iterator[TcpProxy]:
    parts = urlsplit(settings.CELERY_BROKER_URL)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    try:
        yield proxy
    finally:
        if proxy.is_up:
            proxy.cut()


# --- a real Celery worker -------------------------------------------------------------


class TaskTracker:
    """Counts tasks published and finished (by name) through Celery's own signals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.published: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.failures: list[str] = []

    def on_publish(self, sender: str | None = None, **kwargs: Any) -> None:
        with self.lock:
            self.published[sender or "?"] += 1

    def on_postrun(self, task: Any = None, **kwargs: Any) -> None:
        with self.lock:
            self.finished[task.name] += 1

    def on_failure(
        self, sender: Any = None, exception: BaseException | None = None, **kwargs: Any
    ) -> None:
        with self.lock:
            self.failures.append(f"{getattr(sender, 'name', sender)}: {exception!r}")

    def settled(self) -> bool:
        """Every published task has run (a task publishes its children before it ends)."""
        with self.lock:
            return all(self.finished[name] >= count for name, count in self.published.items())

    def wait_settled(self, timeout: float = 30) -> None:
        assert wait_until(self.settled, timeout=timeout), (
            f"tasks still running: published {dict(self.published)}, finished {dict(self.finished)}"
        )


def _close_thread_connections(**kwargs: Any) -> None:
    # Worker threads must not keep test-database connections open (PostgreSQL cannot
    # flush or drop a database other sessions still use).
    connections.close_all()


@contextmanager
def running_worker(app: Any, *, concurrency: int = 4) -> Iterator[TaskTracker]:
    """A real Celery worker (thread pool) in this process, consuming the app's broker.

    On SQLite the test database is shared in-memory, where concurrent writers get
    "database table is locked" at once instead of waiting: one thread there."""
    if not django_settings.DATABASE_IS_POSTGRES:
        concurrency = 1

    tracker = TaskTracker()
    signals.after_task_publish.connect(tracker.on_publish, weak=False)
    signals.task_postrun.connect(tracker.on_postrun, weak=False)
    signals.task_failure.connect(tracker.on_failure, weak=False)
    signals.task_postrun.connect(_close_thread_connections, weak=False)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=30,
        ):
            yield tracker
    finally:
        signals.after_task_publish.disconnect(tracker.on_publish)
        signals.task_postrun.disconnect(tracker.on_postrun)
        signals.task_failure.disconnect(tracker.on_failure)
        signals.task_postrun.disconnect(_close_thread_connections)


def _forget_queues(app: Any) -> None:
    # Celery caches the queue table, exchange and router built from its queue settings.
    for name in ("queues", "default_queue", "default_exchange", "router"):
        app.amqp.__dict__.pop(name, None)
    app.amqp._rtable = None  # the routes table, built once from task_routes


@pytest.fixture
def private_queue(celery_app) -> Iterator[str]:
    """Queues of this test's own on the shared Redis (every queue of hub.queues, with a
    prefix): another test run's worker (or a developer's) must not take our tasks, nor
    ours theirs, and no purge of a shared queue is needed. Deleted afterwards with
    whatever is left in them. Yields the prefix."""
    prefix = f"passerelle-test-{uuid.uuid4().hex[:12]}-"
    conf = celery_app.conf
    before = (conf.task_default_queue, conf.task_queues, conf.task_routes)
    conf.task_default_queue = prefix + queues.HOUSEKEEPING
    conf.task_queues = queues.task_queues(prefix)
    conf.task_routes = queues.task_routes(prefix)
    _forget_queues(celery_app)
    try:
        yield prefix
    finally:
        with celery_app.connection_for_write() as connection, suppress(Exception):
            # kombu's queue_delete only knows what this connection declared: go to Redis.
            keys = [
                key
                for name in queues.QUEUE_NAMES
                for key in (
                    prefix + name,
                    f"_kombu.binding.{prefix}{name}",
                    f"_kombu.binding_permanent.{prefix}{name}",
                )
            ]
            connection.default_channel.client.delete(*keys)
        conf.task_default_queue, conf.task_queues, conf.task_routes = before
        _forget_queues(celery_app)


@pytest.fixture
def quiet_worker_logging(celery_app) -> Iterator[None]:
    # Leave pytest's log capture alone.
    before = celery_app.conf.worker_hijack_root_logger
    celery_app.conf.worker_hijack_root_logger = False
    try:
        yield
    finally:
        celery_app.conf.worker_hijack_root_logger = before


@pytest.fixture
def celery_worker(celery_app, private_queue, quiet_worker_logging) -> Iterator[TaskTracker]:
    """A real worker on the Redis broker from settings, consuming this test's queue."""
    with running_worker(celery_app) as tracker:
        yield tracker
