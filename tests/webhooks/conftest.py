"""A real HTTP receiver on loopback that keeps each request's raw body and headers (what
a signature is checked against), answering with the statuses a test scripts; and a spy
on the tasks the webhooks app queues (the broker is the edge: tests run tasks directly)."""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.factories import make_manager
from tests.support.servers import loopback_http_server
from tests.webhooks.factories import WebhookEndpointFactory


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    # Popped one per request; once empty, `status` answers.
    statuses: list[int] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    answer: bytes = b"ok"
    # Extra headers of every answer (e.g. Retry-After).
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(
                Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.statuses.pop(0) if state.statuses else state.status)
            self.send_header("Content-Length", str(len(state.answer)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http_server(Handler) as port:
        state.url = f"http://127.0.0.1:{port}/hooks/passerelle"
        yield state


@pytest.fixture
def allow_private(settings):
    # The receiver listens on loopback, which production refuses.
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True


@dataclass
class Queued:
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def ids(self, task: str) -> list[Any]:
        return [args[0] for name, args in self.calls if name == task]

    @property
    def deliveries(self) -> list[int]:
        return self.ids("webhooks.tasks.webhook_deliver")

    @property
    def notices(self) -> list[int]:
        return self.ids("webhooks.tasks.webhook_endpoint_disabled_notify")


@pytest.fixture
def queued(monkeypatch) -> Queued:
    """Every task the webhooks app publishes, recorded instead of sent to a broker."""
    from webhooks import tasks
    from webhooks.services import delivery, outbox

    spy = Queued()

    def publish(task_name: str, *args: Any, countdown: float | None = None) -> bool:
        spy.calls.append((task_name, args))
        return True

    for module in (outbox, delivery, tasks):
        monkeypatch.setattr(module, "publish_task", publish)
    return spy


@pytest.fixture
def webhook_manager():
    return make_manager(email="integrations@example.test", full_name="Ines Integrations")


@pytest.fixture
def endpoint(receiver, allow_private, webhook_manager):
    return WebhookEndpointFactory(url=receiver.url, created_by=webhook_manager)
