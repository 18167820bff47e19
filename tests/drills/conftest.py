"""Fixtures of the fault drills: a stack of real processes per test, and the verdict.

Drills are marked `postgres` (several worker processes claim rows with SKIP LOCKED, and
the database drill cuts connections with pg_terminate_backend) and need a `redis-server`
binary (each drill runs its own Redis, so it can stop it). Without them a drill is
skipped, except under PASSERELLE_REQUIRE_SERVICES=1 where it fails (tests/conftest.py,
tests/support/processes.binary).
"""

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Count

from notifications.models import Channel, Notification
from tests.support.drills import (
    RedisServer,
    SmtpSink,
    Stack,
    Tally,
    WebhookSink,
    record_drill,
)
from tests.support.processes import binary
from tests.support.servers import wait_until

Status = Notification.Status

# The delivery settings a drill's workers run with: the test run's own values (the
# defaults of hub/settings.py) unless the drill shortens one, and reported either way.
DRILL_SETTINGS = (
    "NOTIFICATIONS_LEASE_SECONDS",
    "NOTIFICATIONS_SWEEP_SECONDS",
    "NOTIFICATIONS_STALE_AFTER_SECONDS",
    "NOTIFICATIONS_RETRY_BASE_SECONDS",
    "NOTIFICATIONS_RETRY_MAX_DELAY_SECONDS",
    "NOTIFICATIONS_RETRY_WINDOW_HOURS",
    "NOTIFICATIONS_BATCH_SIZE",
    "NOTIFICATIONS_EXPAND_INLINE_MAX",
    "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS",
)


def _setting(name: str) -> str:
    if name == "NOTIFICATIONS_SWEEP_SECONDS":  # read only into beat's schedule
        return str(int(settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]["schedule"]))
    return str(getattr(settings, name))


@pytest.fixture
def stack(transactional_db, tmp_path, use_broker, celery_app) -> Iterator[Stack]:
    """Redis, SMTP and webhook sinks for one drill; workers and beats are started by the
    drill (`stack.worker(…)`, `stack.beat(…)`). The test process publishes to the same
    Redis. Everything is stopped afterwards, before the test database is flushed."""
    program = binary("redis-server", "/usr/bin/redis-server")
    redis = RedisServer(program, tmp_path)
    smtp = SmtpSink()
    webhooks = WebhookSink()

    def ping(node: str) -> bool:
        try:
            return bool(celery_app.control.ping(destination=[node], timeout=0.5))
        except Exception:
            return False

    drill = Stack(
        folder=tmp_path,
        redis=redis,
        smtp=smtp,
        webhooks=webhooks,
        ping=ping,
        environment={name: _setting(name) for name in DRILL_SETTINGS},
    )
    try:
        redis.start()
        use_broker(redis.url)
        smtp.up()
        webhooks.start()
        yield drill
    finally:
        drill.stop()
        smtp.down()
        webhooks.stop()
        if redis.process is not None:
            redis.stop()


# --- the verdict ------------------------------------------------------------------------


def outbox(campaign_ids: Iterable[int], channel: str, *, delivered: bool = False) -> list[int]:
    """The campaigns' row ids on `channel`; with `delivered`, those not failed."""
    rows = Notification.objects.filter(campaign_id__in=list(campaign_ids), channel=channel)
    if delivered:
        rows = rows.exclude(status=Status.FAILED)
    return list(rows.order_by("pk").values_list("pk", flat=True))


def unfinished(campaign_ids: Iterable[int]) -> int:
    """Rows of the campaigns still waiting or being sent."""
    return Notification.objects.filter(
        campaign_id__in=list(campaign_ids), status__in=[Status.PENDING, Status.SENDING]
    ).count()


def wait_for_delivery(
    stack: Stack,
    *,
    campaign_ids: list[int],
    emails: int,
    posts: int = 0,
    timeout: float,
) -> tuple[list[int], list[int]]:
    """Until the campaigns have `emails` e-mail rows and `posts` webhook rows (a large
    audience is expanded by a task), each reached its sink and no row is still pending
    or sending; then a moment more, for a duplicate that would be in flight. Returns the
    e-mail and webhook row ids."""

    def missing() -> int:
        email_ids = set(outbox(campaign_ids, Channel.EMAIL))
        # A post the chat server refused for good (a webhook gone) is not expected.
        post_ids = set(outbox(campaign_ids, Channel.WEBHOOK, delivered=True))
        return (
            emails
            - len(email_ids)
            + posts
            - len(post_ids)
            + len(email_ids - set(stack.smtp.arrivals.counts()))
            + len(post_ids - set(stack.webhooks.delivered().counts()))
        )

    def done() -> bool:
        return unfinished(campaign_ids) == 0 and missing() == 0

    if not wait_until(done, timeout=timeout, interval=0.2):
        rows = Notification.objects.filter(campaign_id__in=campaign_ids)
        states = list(
            rows.values_list("channel", "status").annotate(n=Count("pk")).order_by("channel")
        )
        errors = set(rows.exclude(last_error="").values_list("last_error", flat=True)[:5])
        raise AssertionError(
            f"not delivered after {timeout}s: {missing()} missing; rows by channel and status "
            f"{states}; errors {errors}\n{stack.logs()}"
        )
    time.sleep(1.0)
    return outbox(campaign_ids, Channel.EMAIL), outbox(
        campaign_ids, Channel.WEBHOOK, delivered=True
    )


@dataclass
class InAppTally:
    expected: int
    delivered: int
    duplicated: int

    @classmethod
    def of(cls, campaign_ids: Iterable[int], people: Iterable[int]) -> "InAppTally":
        """In-app notices are rows: one per person and event is delivered, more is a
        duplicate."""
        rows = Notification.objects.filter(
            campaign_id__in=list(campaign_ids), channel=Channel.IN_APP, status=Status.SENT
        )
        wanted = set(people)
        keys = list(rows.values_list("recipient_id", "campaign_id", "kind"))
        return cls(
            expected=len(wanted),
            delivered=len({recipient for recipient, _c, _k in keys} & wanted),
            duplicated=len(keys) - len(set(keys)),
        )


def report(
    stack: Stack,
    *,
    drill: str,
    fault: str,
    emails: Tally,
    in_app: InAppTally,
    webhooks: Tally | None = None,
    fault_over_at: float,
    started_at: float,
    allowed_duplicates: int = 0,
    notes: str = "",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The drill's row for docs/RELIABILITY.md (written when DRILL_REPORT is set)."""
    tallies = [emails, *([webhooks] if webhooks else [])]
    last = max((t.full_delivery_at or float("inf")) for t in tallies)
    # Recovery: the first message that reached a sink once the fault was over. Full
    # delivery after it also depends on how fast this machine sends 2,000 e-mails.
    arrivals = [
        *stack.smtp.arrivals.first_arrivals().values(),
        *stack.webhooks.delivered().first_arrivals().values(),
    ]
    resumed = min((at for at in arrivals if at >= fault_over_at), default=float("inf"))
    row: dict[str, Any] = {
        "drill": drill,
        "fault": fault,
        "emails": asdict(emails) | {"full_delivery_at": None},
        "in_app": asdict(in_app),
        "webhooks": asdict(webhooks) | {"full_delivery_at": None} if webhooks else None,
        "expected": sum(t.expected for t in tallies) + in_app.expected,
        "delivered": sum(t.delivered for t in tallies) + in_app.delivered,
        "lost": sum(t.lost for t in tallies) + (in_app.expected - in_app.delivered),
        "duplicated": sum(t.duplicated for t in tallies) + in_app.duplicated,
        "allowed_duplicates": allowed_duplicates,
        "seconds_to_first_delivery_after_fault": round(resumed - fault_over_at, 1),
        "seconds_to_full_delivery_after_fault": round(last - fault_over_at, 1),
        "seconds_to_full_delivery_after_announce": round(last - started_at, 1),
        "settings": {
            name.removeprefix("NOTIFICATIONS_"): stack.environment[name] for name in DRILL_SETTINGS
        },
        "notes": notes,
        **(extra or {}),
    }
    record_drill(row)
    return row
