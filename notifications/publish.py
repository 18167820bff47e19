"""Publishing Celery tasks, best-effort from a web request, patiently from a worker.

With Redis down a plain `.delay()` can block for seconds while kombu retries the
connection. From a web request a publish fails fast instead (no retry, short socket
timeouts in the broker transport options) and is only logged: the rows it was about are
already committed, and the beat sweep queues them once the broker is back. From inside a
task (a fan-out, a retry), it retries per CELERY_TASK_PUBLISH_RETRY_POLICY, long enough
to ride out a Redis failover, and failing that leaves the rows to the sweep as well.
"""

import logging
from typing import Any

from celery import current_task

logger = logging.getLogger(__name__)


def _inside_a_task() -> bool:
    # The proxy is falsy outside a task (it stands for None).
    return bool(current_task) and getattr(current_task.request, "id", None) is not None


def publish_task(
    task_name: str, *args: Any, countdown: float | None = None, expires: float | None = None
) -> bool:
    from hub.celery import app

    patient = _inside_a_task()
    try:
        with app.producer_or_acquire() as producer:
            if not patient:
                # retry=False only covers the publish itself: without this, kombu would
                # first spend seconds retrying the connection whenever the pooled
                # connection is not up.
                producer.connection.ensure_connection(max_retries=0)
            app.send_task(
                task_name,
                args=list(args),
                countdown=countdown,
                expires=expires,
                retry=patient,
                producer=producer,
            )
    except Exception:  # a publish failure must never undo or break a committed change
        logger.warning(
            "could not publish %s%s; the sweep will pick it up", task_name, args, exc_info=True
        )
        return False
    return True
