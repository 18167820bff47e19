"""/health/ (compose's check: the database), /health/live/ (the process) and
/health/ready/ (database and broker), against real servers and ones that do not answer."""

import socket
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.urls import reverse

from core import views
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel's backlog does) and never says a
    word: a server that hangs, the case a timeout exists for."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_health_keeps_answering_as_compose_expects(client):
    response = client.get(reverse("core:health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_live_touches_no_dependency(client, django_assert_num_queries, monkeypatch, use_broker):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")
    with django_assert_num_queries(0):
        response = client.get(reverse("core:health_live"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_database_and_broker_answer(client):
    response = client.get(reverse("core:health_ready"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_not_ready_when_the_broker_is_down_says_which_and_no_more(client, use_broker):
    port = free_port()
    use_broker(f"redis://127.0.0.1:{port}/0")

    response = client.get(reverse("core:health_ready"))

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "ok", "broker": "unreachable"},
    }
    assert str(port) not in response.content.decode()


def test_a_broker_that_hangs_is_not_waited_for(client, use_broker, silent_server):
    use_broker(f"redis://127.0.0.1:{silent_server}/0")
    started = time.monotonic()

    response = client.get(reverse("core:health_ready"))

    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unreachable"
    assert time.monotonic() - started < 8  # the broker's timeouts, not kombu's retries


def test_not_ready_when_a_check_fails_for_any_reason(client, monkeypatch):
    def broken() -> None:
        raise RuntimeError("password authentication failed for user passerelle at db-1")

    monkeypatch.setitem(views.READINESS_CHECKS, "database", broken)

    response = client.get(reverse("core:health_ready"))

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable", "broker": "ok"}
    assert "db-1" not in response.content.decode()


@pytest.mark.postgres
def test_not_ready_when_postgres_refuses_connections(client, monkeypatch):
    port = free_port()
    monkeypatch.setitem(connection.settings_dict, "PORT", str(port))

    response = client.get(reverse("core:health_ready"))

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable", "broker": "ok"}
    assert str(port) not in response.content.decode()


@pytest.mark.postgres
def test_a_postgres_that_hangs_is_not_waited_for(client, monkeypatch, silent_server):
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(silent_server))
    started = time.monotonic()

    response = client.get(reverse("core:health_ready"))

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"
    assert time.monotonic() - started < 8  # connect_timeout, not the OS's minutes
