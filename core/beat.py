"""When each periodic task last ran, recorded for /metrics (core.metrics).

Recorded by Celery's `task_success`/`task_failure` signals, in the worker that ran the
task, for every task that CELERY_BEAT_SCHEDULE names, rather than by each task itself:
a periodic task added to the schedule later is covered without remembering to, and
the tasks (owned by other apps) stay thin. What is recorded is the *work done*, not
beat's sending: a tick that no worker consumes (beat up, housekeeping queue without a
worker) or that fails every time shows as a success that stops advancing, which is
exactly what the alert on it should catch.
"""

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import pairwise
from typing import Any

from celery.schedules import crontab
from celery.schedules import schedule as every
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from core.models import PeriodicTaskRun

logger = logging.getLogger(__name__)


def beat_task_names(beat_schedule: Mapping[str, Mapping[str, Any]] | None = None) -> set[str]:
    schedule = settings.CELERY_BEAT_SCHEDULE if beat_schedule is None else beat_schedule
    return {str(entry["task"]) for entry in schedule.values()}


def periodic_task_record(*, task: str, succeeded: bool, at: datetime | None = None) -> None:
    """Note that `task` just succeeded or failed. One upsert in autocommit (no
    transaction of its own needed); idempotent, the latest call wins."""
    at = at or timezone.now()
    field = "last_success_at" if succeeded else "last_failure_at"
    PeriodicTaskRun.objects.bulk_create(
        [PeriodicTaskRun(task=task, **{field: at})],
        update_conflicts=True,
        unique_fields=["task"],
        update_fields=[field],
    )


def _record(sender: Any, *, succeeded: bool) -> None:
    name = getattr(sender, "name", None)
    if name not in beat_task_names():
        return
    try:
        periodic_task_record(task=name, succeeded=succeeded)
    except DatabaseError:
        # The task's own outcome stands; the alert on a stale time will say the rest.
        logger.warning("could not record the run of %s", name, exc_info=True)


def on_task_success(sender: Any = None, **kwargs: Any) -> None:
    _record(sender, succeeded=True)


def on_task_failure(sender: Any = None, **kwargs: Any) -> None:
    _record(sender, succeeded=False)


# --- how often each runs -------------------------------------------------------------------

_intervals: dict[str, float | None] = {}


def _crontab_interval(schedule: crontab) -> float | None:
    """The longest gap between consecutive runs, over the next few weeks' worth of runs
    (a crontab's gaps vary: `minute=0, hour=8` on weekdays leaves 72 h over a weekend)."""
    key = repr(schedule)
    if key not in _intervals:
        moment = timezone.now().replace(second=0, microsecond=0)
        runs = []
        for _ in range(40):
            start, delta, _now = schedule.remaining_delta(moment)
            moment = start + delta  # the run after it comes next
            runs.append(moment)
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(runs)]
        _intervals[key] = max(gaps) if gaps else None
    return _intervals[key]


def schedule_interval(schedule: object) -> float | None:
    """Seconds between two runs of a CELERY_BEAT_SCHEDULE entry's `schedule` (the
    longest gap for a crontab), or None for a kind of schedule this does not know."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, crontab):
        return _crontab_interval(schedule)
    if isinstance(schedule, every):
        seconds: float = schedule.seconds
        return float(seconds)
    return None


def beat_intervals(entries: Iterable[Mapping[str, Any]] | None = None) -> dict[str, float]:
    """Each periodic task's interval in seconds (the shortest, if it is scheduled twice)."""
    found: dict[str, float] = {}
    for entry in settings.CELERY_BEAT_SCHEDULE.values() if entries is None else entries:
        interval = schedule_interval(entry["schedule"])
        if interval is not None:
            task = str(entry["task"])
            found[task] = min(interval, found.get(task, interval))
    return found
