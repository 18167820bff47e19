"""What /metrics exposes: the delivery pipeline's state, computed when scraped.

Nothing is counted in process memory: web, workers and beat are separate processes
(gunicorn's several), and the outbox table already is the truth. Each scrape reads it
with a fixed number of queries, each served by a partial index, so the cost follows the
rows still in flight (pending, sending, held), the failed ones and those sent in the
last hour, never the millions already delivered; the table's size is PostgreSQL's
estimate. docs/OPERATIONS.md says what each metric means and what to alert on.
"""

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import (
    CollectorRegistry,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from core import beat, health
from core.models import PeriodicTaskRun
from notifications.models import Channel, Dispatch, FailureReason, Notification
from teams.models import Team

logger = logging.getLogger(__name__)
Status = Notification.Status

# Upper bounds of the delivery latency histogram, in seconds: from "at once" to the
# 24-hour retry window.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400)
LATENCY_WINDOW = timedelta(hours=1)
# A scrape that takes longer is useless to Prometheus (10 s timeout by default).
STATEMENT_TIMEOUT_MS = 5000
IN_FLIGHT = (Status.PENDING, Status.SENDING, Status.HELD)
# Channels whose rows wait for a worker; in-app rows are delivered when written.
DELIVERED_BY_WORKERS = (Channel.EMAIL, Channel.WEBHOOK)


@dataclass
class Latency:
    count: int = 0
    total_seconds: float = 0.0
    # Cumulative: rows delivered within each of LATENCY_BUCKETS.
    within: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))


@dataclass
class OutboxFigures:
    """The outbox as one scrape sees it (see docs/OPERATIONS.md for each figure)."""

    in_flight: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, channel)
    oldest_pending_age: dict[str, float] = field(default_factory=dict)  # by channel
    retrying: dict[str, int] = field(default_factory=dict)
    expired_leases: dict[str, int] = field(default_factory=dict)
    failed: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, reason)
    latency: dict[str, Latency] = field(default_factory=dict)
    rows_estimated: int = 0
    dispatches_unexpanded: int = 0
    oldest_unexpanded_age: float = 0.0
    webhooks_broken: int = 0
    beat_success: dict[str, float] = field(default_factory=dict)  # task -> Unix time
    beat_failure: dict[str, float] = field(default_factory=dict)


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


def _in_flight(figures: OutboxFigures, now: datetime) -> None:
    # Held rows wait for a digest (a day at most). Waiting is counted from the start of
    # the current delivery window (creation, or a "Send again"), not from
    # next_attempt_at, which the sweep moves.
    lease_expired = now - timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS)
    # Spelled as ORs, not IN: PostgreSQL combines the three partial indexes (a bitmap
    # OR) only for an OR, and scans a whole index for the IN.
    in_flight = Q(status=Status.PENDING) | Q(status=Status.SENDING) | Q(status=Status.HELD)
    rows = (
        Notification.objects.filter(in_flight)
        .values("status", "channel")
        .annotate(
            count=Count("pk"),
            oldest=Min(Coalesce("window_started_at", "created_at")),
            tried=Count("pk", filter=Q(attempts__gt=0)),
            expired=Count("pk", filter=Q(claimed_at__lt=lease_expired)),
        )
        .order_by()
    )
    for row in rows:
        status, channel = row["status"], row["channel"]
        figures.in_flight[status, channel] = row["count"]
        if status == Status.PENDING:
            figures.oldest_pending_age[channel] = _age(now, row["oldest"])
            figures.retrying[channel] = row["tried"]
        elif status == Status.SENDING:
            figures.expired_leases[channel] = row["expired"]


def _failed(figures: OutboxFigures) -> None:
    rows = (
        Notification.objects.filter(status=Status.FAILED)
        .values("channel", "failure_reason")
        # count(*), not count(id): the index holds both columns, so an index-only scan.
        .annotate(count=Count("*"))
        .order_by()
    )
    for row in rows:
        # A digest that failed for good has no reason of its own.
        figures.failed[row["channel"], row["failure_reason"] or "other"] = row["count"]


def _latency(figures: OutboxFigures, now: datetime) -> None:
    # Rows a worker delivered (claimed_at set): in-app rows and digests are sent
    # without a claim, and their "latency" (none, or until the digest hour) would
    # drown the figure that matters.
    waited_since = Coalesce("window_started_at", "created_at")
    buckets = {
        f"le_{bound}": Count("pk", filter=Q(sent_at__lte=waited_since + timedelta(seconds=bound)))
        for bound in LATENCY_BUCKETS
    }
    rows = (
        Notification.objects.filter(
            status=Status.SENT, claimed_at__isnull=False, sent_at__gte=now - LATENCY_WINDOW
        )
        .values("channel")
        .annotate(
            count=Count("pk"),
            total=Sum(ExpressionWrapper(F("sent_at") - waited_since, output_field=DurationField())),
            **buckets,
        )
        .order_by()
    )
    for row in rows:
        found: Mapping[str, Any] = row  # keys made up above, beyond the stubs' typing
        total: timedelta | None = found["total"]
        figures.latency[found["channel"]] = Latency(
            count=found["count"],
            total_seconds=total.total_seconds() if total else 0.0,
            within=[found[f"le_{bound}"] for bound in LATENCY_BUCKETS],
        )


def _rows_estimated() -> int:
    table = Notification._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The planner's estimate, kept by autovacuum: free, where count(*) reads
            # the whole table. -1 until the table was first analysed.
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        else:  # SQLite: the single-machine set-up, small enough to count.
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        row = cursor.fetchone()
    return max(0, int(row[0])) if row else 0


def outbox_figures(*, now: datetime | None = None) -> OutboxFigures:
    """Read the outbox, dispatches, teams and periodic task runs: seven queries whatever
    the data (on PostgreSQL, plus the statement timeout). One
    read-only transaction, so a query stuck on a lock cannot outlive the scrape."""
    now = now or timezone.now()
    figures = OutboxFigures()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        _in_flight(figures, now)
        _failed(figures)
        _latency(figures, now)
        figures.rows_estimated = _rows_estimated()
        unexpanded = Dispatch.objects.filter(expanded_at__isnull=True).aggregate(
            count=Count("pk"), oldest=Min("created_at")
        )
        figures.dispatches_unexpanded = unexpanded["count"]
        figures.oldest_unexpanded_age = _age(now, unexpanded["oldest"])
        figures.webhooks_broken = Team.objects.filter(webhook_broken_at__isnull=False).count()
        for run in PeriodicTaskRun.objects.all():
            if run.last_success_at:
                figures.beat_success[run.task] = run.last_success_at.timestamp()
            if run.last_failure_at:
                figures.beat_failure[run.task] = run.last_failure_at.timestamp()
    return figures


@dataclass
class BrokerFigures:
    queues: dict[str, int]
    unacked: int


def broker_figures() -> BrokerFigures | None:
    """Messages waiting in each Celery queue, and those handed to a worker and not yet
    acknowledged, when the broker is Redis; None for another broker. One pipeline of
    LLEN/HLEN. Raises when the broker is unreachable."""
    from hub.celery import app

    with health.broker_connection() as broker:
        if getattr(broker.transport, "driver_type", "") != "redis":
            return None
        health.connect_once(broker)
        channel = broker.default_channel
        names = [queue.name for queue in app.conf.task_queues or ()]
        # kombu keeps a queue's messages of each priority in a list of their own.
        keys = {
            name: [channel._q_for_pri(name, pri) for pri in channel.priority_steps]
            for name in names
        }
        with channel.client.pipeline() as pipe:
            for name in names:
                for key in keys[name]:
                    pipe.llen(key)
            pipe.hlen(channel.unacked_key)
            lengths = pipe.execute()
    depths: dict[str, int] = {}
    position = 0
    for name in names:
        depths[name] = sum(lengths[position : position + len(keys[name])])
        position += len(keys[name])
    return BrokerFigures(queues=depths, unacked=int(lengths[-1]))


# --- Prometheus ------------------------------------------------------------------------------


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"passerelle_{name}", documentation, labels=labels)


def _channel_of(reason: str) -> str:
    return Channel.WEBHOOK if reason.startswith("webhook_") else Channel.EMAIL


def _outbox_metrics(figures: OutboxFigures) -> Iterator[Metric]:
    messages = _gauge(
        "outbox_messages",
        "Outbox rows not yet delivered nor failed, by status (pending, sending, held) and channel.",
        ["status", "channel"],
    )
    for status in IN_FLIGHT:
        for channel in Channel.values:
            messages.add_metric([status, channel], figures.in_flight.get((status, channel), 0))
    yield messages
    oldest = _gauge(
        "outbox_oldest_pending_age_seconds",
        "Age of the oldest pending row (since its delivery window started), by channel.",
        ["channel"],
    )
    retrying = _gauge(
        "outbox_retrying", "Pending rows already tried at least once, by channel.", ["channel"]
    )
    expired = _gauge(
        "outbox_expired_leases",
        "Rows in 'sending' whose worker stopped renewing its lease (the sweep frees them).",
        ["channel"],
    )
    for channel in DELIVERED_BY_WORKERS:
        oldest.add_metric([channel], figures.oldest_pending_age.get(channel, 0.0))
        retrying.add_metric([channel], figures.retrying.get(channel, 0))
        expired.add_metric([channel], figures.expired_leases.get(channel, 0))
    yield from (oldest, retrying, expired)
    failed = _gauge(
        "outbox_failed",
        "Rows that failed for good, by channel and reason (a 'Send again' makes them pending).",
        ["channel", "reason"],
    )
    # Every known pair, at 0 when there is none: increase() needs the series to exist
    # before its first failure.
    pairs = {(_channel_of(reason), reason) for reason in FailureReason.values}
    pairs |= {(channel, FailureReason.GAVE_UP.value) for channel in DELIVERED_BY_WORKERS}
    for channel, reason in sorted(pairs | set(figures.failed)):
        failed.add_metric([channel, reason], figures.failed.get((channel, reason), 0))
    yield failed
    latency = GaugeHistogramMetricFamily(
        "passerelle_delivery_latency_seconds",
        "Time from the start of a row's delivery window to its delivery, over the rows "
        "workers delivered in the last hour, by channel.",
        labels=["channel"],
    )
    for channel in DELIVERED_BY_WORKERS:
        seen = figures.latency.get(channel, Latency())
        buckets = [
            (str(float(b)), float(n)) for b, n in zip(LATENCY_BUCKETS, seen.within, strict=True)
        ]
        buckets.append(("+Inf", float(seen.count)))
        latency.add_metric([channel], buckets, seen.total_seconds)
    yield latency
    yield _single(
        "outbox_rows_estimated",
        "Rows in the outbox table, final ones included (PostgreSQL's estimate).",
        figures.rows_estimated,
    )
    yield _single(
        "dispatches_unexpanded",
        "Events whose outbox rows are not written yet (a large audience, or a lost task).",
        figures.dispatches_unexpanded,
    )
    yield _single(
        "dispatch_oldest_unexpanded_age_seconds",
        "Age of the oldest event whose outbox rows are not written yet.",
        figures.oldest_unexpanded_age,
    )
    yield _single(
        "team_webhooks_broken",
        "Teams whose chat webhook was marked broken (HTTP 404/410); repaired in the admin.",
        figures.webhooks_broken,
    )


def _beat_metrics(figures: OutboxFigures) -> Iterator[Metric]:
    success = _gauge(
        "beat_last_success_timestamp_seconds",
        "When each periodic task last succeeded (Unix time); absent if it never did.",
        ["task"],
    )
    for task, at in sorted(figures.beat_success.items()):
        success.add_metric([task], at)
    failure = _gauge(
        "beat_last_failure_timestamp_seconds",
        "When each periodic task last failed (Unix time); absent if it never did.",
        ["task"],
    )
    for task, at in sorted(figures.beat_failure.items()):
        failure.add_metric([task], at)
    interval = _gauge(
        "beat_interval_seconds",
        "How often each periodic task is scheduled (the longest gap for a crontab).",
        ["task"],
    )
    for task, seconds in sorted(beat.beat_intervals().items()):
        interval.add_metric([task], seconds)
    yield from (success, failure, interval)


def _broker_metrics() -> Iterator[Metric]:
    try:
        figures = broker_figures()
    except Exception:  # any failure to reach the broker is "down", whatever the transport
        logger.warning("metrics: broker unreachable", exc_info=True)
        yield _single("broker_up", "1 when the Redis broker answered this scrape.", 0)
        return
    if figures is None:  # not Redis: no queue figures to give
        return
    yield _single("broker_up", "1 when the Redis broker answered this scrape.", 1)
    queues = _gauge("queue_messages", "Messages waiting in each Celery queue.", ["queue"])
    for name, depth in sorted(figures.queues.items()):
        queues.add_metric([name], depth)
    yield queues
    yield _single(
        "queue_unacked_messages",
        "Messages handed to workers and not acknowledged yet (running or reserved).",
        figures.unacked,
    )


def _single(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"passerelle_{name}", documentation, value=value)


class PipelineCollector(Collector):
    """Reads the database and the broker at each scrape. A dependency that is down
    gives its `_up` metric at 0 and leaves its other figures out, rather than failing
    the scrape: Prometheus then still has the other half, and the alert on `_up`."""

    def collect(self) -> Iterator[Metric]:
        try:
            figures = outbox_figures()
        except DatabaseError:
            logger.warning("metrics: database unreachable or too slow", exc_info=True)
            yield _single("database_up", "1 when the database answered this scrape.", 0)
        else:
            yield _single("database_up", "1 when the database answered this scrape.", 1)
            yield from _outbox_metrics(figures)
            yield from _beat_metrics(figures)
        yield from _broker_metrics()


registry = CollectorRegistry(auto_describe=False)
registry.register(PipelineCollector())


def exposition(accept: str) -> tuple[bytes, str]:
    """The metrics in the format the scraper asked for (Prometheus text or OpenMetrics),
    and its content type."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
