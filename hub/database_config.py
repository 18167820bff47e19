"""PostgreSQL behind a connection pooler (PgBouncer in transaction mode).

In transaction mode each transaction, and each statement outside one, may run on a
different server connection. What the app must then not rely on:

- server-side cursors: `QuerySet.iterator()` outside a transaction declares a cursor
  `WITH HOLD` on one server connection and fetches from it in later statements, which
  may reach another one ("cursor does not exist"). Django then fetches everything at
  once instead (`DISABLE_SERVER_SIDE_CURSORS`), chunked by `chunk_size` on the client.
- startup parameters: PgBouncer refuses a connection that sends `options` (the planner
  settings of `DATABASE_CONNECTION_OPTIONS`); set them on the database or role instead
  (`ALTER ROLE … SET`) or with PgBouncer's `connect_query` (docs/scaling).
- prepared statements: nothing to do. Django's psycopg 3 backend binds parameters on the
  client and turns psycopg's automatic preparation off (`prepare_threshold=None`), so no
  named statement outlives its transaction. (Leave `prepare_threshold` and
  `server_side_binding` out of `DATABASE_URL` unless PgBouncer >= 1.21 runs with
  `max_prepared_statements`.)
- session settings: the only `SET` Django sends on its own is the time zone, when the
  server's differs from UTC; PgBouncer tracks `TimeZone` per client and restores it on
  whichever server connection the client gets (`ALTER ROLE … SET timezone = 'UTC'` spares
  that round trip). `SET LOCAL`, row locks and `SKIP LOCKED` live inside a transaction
  and are unaffected; the app takes no advisory locks and uses no LISTEN/NOTIFY.
"""

from dj_database_url import DBConfig
from django.core.exceptions import ImproperlyConfigured

POOLERS = ("", "pgbouncer")


def database_pooler(value: str) -> str:
    pooler = value.strip().lower()
    if pooler not in POOLERS:
        raise ImproperlyConfigured(
            f"DATABASE_POOLER must be empty or 'pgbouncer' (transaction mode), got {value!r}"
        )
    return pooler


def behind_pooler(database: DBConfig, *, pooler: str) -> None:
    """Adapt a PostgreSQL `DATABASES` entry to `pooler` (see the module docstring)."""
    if not pooler:
        return
    options = database.get("OPTIONS", {})
    if options.get("options"):
        raise ImproperlyConfigured(
            f"DATABASE_POOLER={pooler} refuses connection startup options "
            f"({options['options']!r}, from DATABASE_CONNECTION_OPTIONS or ?options= in "
            "DATABASE_URL): set them on the server with ALTER ROLE … SET, or in PgBouncer's "
            "connect_query (docs/scaling/pgbouncer-and-sentinel.md)."
        )
    database["DISABLE_SERVER_SIDE_CURSORS"] = True
