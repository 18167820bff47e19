"""Logging pieces that settings.LOGGING names: a JSON formatter (LOG_FORMAT=json), the
Celery task context added to every record, and the downgrade of kombu's "Couldn't ack".

Web, worker and beat log through the same configuration: Celery is told to keep
Django's (`keep_django_logging`, connected in core.apps), so a worker's lines, its own
"Task … succeeded" included, come out in the same format as the web's.

A formatter of our own rather than python-json-logger: what is needed is one
`json.dumps` of a dict, about thirty lines, and no dependency to track.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from celery import current_task

# Attributes every LogRecord has; anything else on a record came from `extra=` (or a
# filter) and goes into the JSON object as a field of its own.
_STANDARD = {
    *vars(logging.LogRecord("", logging.INFO, "", 0, "", (), None)),
    "message",
    "asctime",
}
# What delivery code passes as `extra=` and TaskContextFilter adds: first in each line.
CONTEXT_FIELDS = ("campaign_id", "notification_id", "dispatch_id", "task_id", "task_name")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the
    context fields that are known, any other `extra=`, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        for name in CONTEXT_FIELDS:
            if extras.get(name) is not None:
                entry[name] = extras.pop(name)
        entry.update({k: v for k, v in extras.items() if v is not None and k not in entry})
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an extra that JSON cannot hold (Django's `request`) is written as
        # its text rather than losing the whole line.
        return json.dumps(entry, ensure_ascii=False, default=str)


class TaskContextFilter(logging.Filter):
    """Adds the running Celery task's id and name to records logged while it runs (in a
    worker, in whichever thread or process runs it); records outside a task are left as
    they are. On the handler, so that every logger's records get it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "task_id", None) is None and current_task:
            request = getattr(current_task, "request", None)
            task_id = getattr(request, "id", None)
            if task_id is not None:
                record.task_id = task_id
                record.task_name = current_task.name
        return True


class BrokerAckLostFilter(logging.Filter):
    """Turns kombu's CRITICAL "Couldn't ack/reject" into a WARNING that says why it is
    harmless here, without the traceback.

    Celery acknowledges a task message after the task ran (`acks_late`). When Redis went
    away meanwhile, the channel the message came on is dead, and kombu's
    `Message.ack_log_error` logs CRITICAL through `celery.worker.request`. Nothing is
    lost and nothing needs a person: the task's work is done (committed in the
    database), and the unacknowledged message comes back after the broker's visibility
    timeout (or never, if Redis lost it), to a task that is idempotent and finds nothing
    left to do. Put on the loggers that log it, `celery.worker.request` (ack, reject
    after a task) and `celery.worker.consumer.consumer` (reject of an unusable message).
    """

    PREFIXES = ("Couldn't ack", "Couldn't reject")
    EXPLANATION = (
        " (the broker connection was lost after the task ran; the task's work is saved, "
        "and its message is delivered again after the visibility timeout to an idempotent "
        "task, or was lost with Redis: nothing to do)"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.CRITICAL and str(record.msg).startswith(self.PREFIXES):
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
            record.msg = f"{record.msg}{self.EXPLANATION}"
            # The traceback only shows kombu's socket code; the reason is in the message.
            record.exc_info = None
            record.exc_text = None
        return True


def keep_django_logging(**kwargs: Any) -> None:
    """Celery's `setup_logging` receiver. Django already applied settings.LOGGING when
    Celery's Django fix-up called django.setup(), before the worker or beat set up
    logging; a connected receiver is what stops Celery from replacing the root handlers
    with its own. Does nothing else: applying LOGGING again would drop handlers added
    since (an embedded test worker starting under pytest's log capture)."""
