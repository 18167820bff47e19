"""Is the database reachable, is the broker: the checks behind /health/ready/ and
/metrics, each bounded by a short timeout so a probe answers even when a server hangs.

They raise whatever the driver raises; callers log it and show only which dependency
failed (the errors name hosts and users).
"""

from typing import Any

import psycopg
from django.db import connection

# libpq's smallest connect timeout is 2 s.
DATABASE_TIMEOUT_SECONDS = 2
BROKER_TIMEOUT_SECONDS = 2


def check_database() -> None:
    """`SELECT 1`. On PostgreSQL over a connection of its own, opened with a connect
    timeout and a TCP user timeout: the request's pooled connection has neither, and
    one to a server that vanished could hang for minutes. `SET LOCAL` (not a session
    setting) bounds the query itself and is safe behind PgBouncer in transaction mode."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    params = connection.get_connection_params()
    params["connect_timeout"] = DATABASE_TIMEOUT_SECONDS
    params["tcp_user_timeout"] = DATABASE_TIMEOUT_SECONDS * 1000
    raw = psycopg.connect(**params)
    try:
        with raw.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {DATABASE_TIMEOUT_SECONDS * 1000}")
            cursor.execute("SELECT 1")
    finally:
        raw.close()


def broker_connection() -> Any:
    """A new, not yet connected, kombu connection to the Celery broker with a short
    connect timeout (the Redis transport options add short socket timeouts)."""
    from hub.celery import app

    # Bounded here as well, not only by the Redis transport options of settings: the
    # check must never hang, whatever broker it is pointed at.
    timeouts = {
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    redis = str(app.conf.broker_url).startswith(("redis", "sentinel"))
    return app.connection_for_read(
        connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=timeouts if redis else None
    )


def connect_once(broker: Any) -> None:
    """Connect, without kombu's default of retrying for ever. For Redis this is a PING."""
    broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)


def check_broker() -> None:
    with broker_connection() as broker:
        connect_once(broker)
