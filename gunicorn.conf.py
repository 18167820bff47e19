"""gunicorn's settings: read by `gunicorn hub.wsgi` from the working directory (the image's
CMD, docker-compose.yml's web), and by benchmarks/announce.py, which measures them.

Everything comes from the environment with a production default. The point of the file
is `post_worker_init`: Django loads much of itself on the first request a process serves
(the URLconf and, through it, every view module and the libraries they import; each
template on its first use; the database connection; the translation catalogues). Without
the warm-up the first request of each fresh worker took 0.6 to 1 s instead of tens of ms,
and every deploy, scale-up or crashed worker handed that to a real person pressing
Announce. A worker warmed here is not accepting yet: the cost moves to the boot, while
the other workers (or the previous container) serve.
"""

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django.urls import URLResolver


def _env_int(name: str, default: int) -> int:
    # Fail at start-up on a typo rather than run with a surprise (as hub/env.py does).
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


bind = [f"0.0.0.0:{_env_int('PORT', 8000)}"]
# Sync workers: one request at a time each, so this is the number served at once.
workers = _env_int("WEB_CONCURRENCY", 2)
# Longer than any page or export should take; a worker stuck past it is killed and
# replaced (and warmed) rather than holding its slot for ever. A worker's boot, warm-up
# included (1 to 6 s on a busy 2-core machine), must fit in it too.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# The container's log is stdout: the access log goes there with the app's own log.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Workers touch a heartbeat file every second; on an overlay file system that write can
# block for seconds and get a healthy worker killed. /dev/shm is memory.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108


class _Log(Protocol):
    def info(self, msg: str, *args: object) -> None: ...
    def exception(self, msg: str, *args: object) -> None: ...


class _Worker(Protocol):
    """What the hook uses of gunicorn's worker (gunicorn ships no type information)."""

    log: _Log


def post_worker_init(worker: _Worker) -> None:
    """Runs in each new worker once it has loaded the application, before its first
    accept(): the cold first request is paid here, by nobody."""
    started = time.perf_counter()
    try:
        warm_up()
    except Exception:
        # A database or Redis that is down at boot must not keep the worker from starting
        # (it answers /health/ and the error pages); it is merely not warm.
        worker.log.exception("warm-up failed; this worker's first requests will be slow")
    else:
        worker.log.info("worker warmed up in %.0f ms", (time.perf_counter() - started) * 1000)


def warm_up() -> None:
    """Load what Django otherwise loads lazily on a process's first requests."""
    from django.conf import settings
    from django.core.cache import caches
    from django.db import connections
    from django.template import engines
    from django.urls import get_resolver
    from django.utils import translation

    from hub.celery import app

    # The URLconf imports every view module and what they import (allauth, icalendar,
    # prometheus_client…): the bulk of a cold first request.
    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            # Each language's catalogues (Django's, each app's, ours) are read on its
            # first use, and the tables that reverse() and {% url %} read are built per
            # language and per namespace, each on its first use.
            translation.gettext("Announce")
            _build_reverse_tables(resolver)
    # The cached loader compiles each template (and loads its tag libraries) on first use.
    templates = Path(settings.BASE_DIR) / "templates"
    for engine in engines.all():
        for path in sorted(templates.rglob("*.html")):
            engine.get_template(str(path.relative_to(templates)))
    # Connections of this process (nothing is inherited across the fork): CONN_MAX_AGE
    # keeps them for the first requests, which then skip the TCP and auth round trips.
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    for name in caches:
        caches[name].get("gunicorn-warm-up")
    # An announce publishes a task after commit. A process's first publish builds Celery's
    # producer pool, connects to the broker, declares the queue, sets up the task router
    # and loads the result backend (which reads every installed package's entry points):
    # ~0.1 s otherwise. Declaring a queue the workers declare anyway changes nothing.
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection(max_retries=0)
        for queue in app.amqp.queues.values():
            producer.maybe_declare(queue)
    app.amqp.router  # noqa: B018
    app.backend  # noqa: B018


def _build_reverse_tables(resolver: "URLResolver") -> None:
    resolver.reverse_dict  # noqa: B018 - a property that builds the table
    for _prefix, child in resolver.namespace_dict.values():
        _build_reverse_tables(child)
