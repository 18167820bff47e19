"""Best-effort publishing of Celery tasks from a web request.

With Redis down a plain `.delay()` can block for seconds while kombu retries the
connection. Here a publish fails fast instead (no retry, short socket timeouts in the
broker transport options) and is only logged: the rows it was about are already committed
as pending, and the beat sweep queues them once the broker is back.
"""

import logging
from typing import Any

logger = logging.getLogger(__name__)


def publish_task(task_name: str, *args: Any, countdown: float | None = None) -> bool:
    from hub.celery import app

    try:
        with app.producer_or_acquire() as producer:
            # retry=False only covers the publish itself: without this, kombu would first
            # spend seconds retrying the connection (broker_connection_timeout, retry
            # intervals) whenever the pooled connection is not up.
            producer.connection.ensure_connection(max_retries=0)
            app.send_task(
                task_name, args=list(args), countdown=countdown, retry=False, producer=producer
            )
    except Exception:  # a publish failure must never undo or break a committed change
        logger.warning(
            "could not publish %s%s; the sweep will pick it up", task_name, args, exc_info=True
        )
        return False
    return True
