"""/metrics: who may read it, what it says about the outbox, the queues and beat, and
that a scrape costs the same few queries however much data there is."""

from datetime import timedelta

import pytest
import time_machine
from celery.schedules import crontab
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import beat, metrics
from core.models import PeriodicTaskRun
from notifications import services
from notifications.models import Channel, Dispatch, FailureReason, Kind, Notification
from tests.factories import CampaignFactory, TeamFactory, UserFactory
from tests.support.servers import free_port

pytestmark = pytest.mark.django_db
Status = Notification.Status
TOKEN = "a-long-random-metrics-token"
SWEEP = "notifications.tasks.sweep_stale_notifications"
DIGESTS = "notifications.tasks.send_daily_digests"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The scraped samples, by sample name, then by their sorted labels."""
    response = client.get(reverse("core:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def enqueue(campaign, people) -> None:
    services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=1,
        kind=Kind.ANNOUNCED,
        user_ids=[person.pk for person in people],
        payload={"title": campaign.title, "path": "/", "channel": "email", "audience": ""},
    )


def emails(campaign):
    return Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL).order_by("pk")


# --- who may read it ------------------------------------------------------------------------


def test_without_a_configured_token_the_page_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get(reverse("core:metrics"), HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    ["", f"Basic {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x", f"Bearer{TOKEN}", "Bearer "],
)
def test_a_missing_or_wrong_token_is_refused(client, token, authorization):
    response = client.get(reverse("core:metrics"), HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"passerelle_" not in response.content


def test_the_token_is_enough_without_a_login(client, token):
    # Anonymous client: LoginRequiredMiddleware would redirect to the login page.
    response = client.get(reverse("core:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert b"passerelle_database_up 1.0" in response.content
    assert "no-cache" in response["Cache-Control"]


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it(client, token):
    response = client.get(
        reverse("core:metrics"),
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_ACCEPT="application/openmetrics-text; version=1.0.0",
    )
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.endswith(b"# EOF\n")


# --- what it says ----------------------------------------------------------------------------


def test_outbox_rows_in_flight_by_status_and_channel_with_their_ages(client, token, settings):
    settings.NOTIFICATIONS_LEASE_SECONDS = 30
    now = timezone.now()
    campaign = CampaignFactory()
    enqueue(campaign, UserFactory.create_batch(6))
    rows = list(emails(campaign))
    # Six e-mails: two pending (one of them waiting for a retry since 10 minutes), two
    # sending (one from a worker whose lease expired), one held for a digest, one sent.
    Notification.objects.filter(pk=rows[0].pk).update(
        window_started_at=now - timedelta(minutes=10), attempts=2
    )
    Notification.objects.filter(pk=rows[2].pk).update(status=Status.SENDING, claimed_at=now)
    Notification.objects.filter(pk=rows[3].pk).update(
        status=Status.SENDING, claimed_at=now - timedelta(seconds=31)
    )
    Notification.objects.filter(pk=rows[4].pk).update(status=Status.HELD)
    Notification.objects.filter(pk=rows[5].pk).update(status=Status.SENT, sent_at=now)

    samples = scrape(client)

    assert value(samples, "passerelle_outbox_messages", status="pending", channel="email") == 2
    assert value(samples, "passerelle_outbox_messages", status="sending", channel="email") == 2
    assert value(samples, "passerelle_outbox_messages", status="held", channel="email") == 1
    assert value(samples, "passerelle_outbox_messages", status="pending", channel="webhook") == 0
    # In-app rows are delivered as they are written: never in flight.
    assert value(samples, "passerelle_outbox_messages", status="pending", channel="in_app") == 0
    age = value(samples, "passerelle_outbox_oldest_pending_age_seconds", channel="email")
    assert 600 <= age < 660
    assert value(samples, "passerelle_outbox_oldest_pending_age_seconds", channel="webhook") == 0
    assert value(samples, "passerelle_outbox_retrying", channel="email") == 1
    assert value(samples, "passerelle_outbox_expired_leases", channel="email") == 1


def test_failures_by_channel_and_reason_with_every_known_pair_present(client, token):
    campaign = CampaignFactory()
    enqueue(campaign, UserFactory.create_batch(4))
    rows = list(emails(campaign))
    for row, reason in zip(
        rows, [FailureReason.BOUNCED, FailureReason.BOUNCED, FailureReason.GAVE_UP, ""], strict=True
    ):
        Notification.objects.filter(pk=row.pk).update(status=Status.FAILED, failure_reason=reason)

    samples = scrape(client)

    failed = "passerelle_outbox_failed"
    assert value(samples, failed, channel="email", reason="bounced") == 2
    assert value(samples, failed, channel="email", reason="gave_up") == 1
    assert value(samples, failed, channel="email", reason="other") == 1  # a failed digest
    # At 0 before the first one, so that increase() sees it.
    assert value(samples, failed, channel="webhook", reason="webhook_gone") == 0
    assert value(samples, failed, channel="webhook", reason="gave_up") == 0
    assert ((("channel", "email"), ("reason", "webhook_gone"))) not in samples[failed]


def test_delivery_latency_histogram_covers_what_workers_delivered_in_the_last_hour(client, token):
    now = timezone.now()
    campaign = CampaignFactory()
    enqueue(campaign, UserFactory.create_batch(4))
    rows = list(emails(campaign))

    def sent(row, *, waited: float, ago: timedelta = timedelta(minutes=1), claimed=True) -> None:
        at = now - ago
        Notification.objects.filter(pk=row.pk).update(
            status=Status.SENT,
            sent_at=at,
            window_started_at=at - timedelta(seconds=waited),
            claimed_at=at if claimed else None,
        )

    sent(rows[0], waited=3)
    sent(rows[1], waited=100)
    sent(rows[2], waited=1, ago=timedelta(hours=2))  # outside the window
    sent(rows[3], waited=20_000, claimed=False)  # went out in a digest: no worker's claim

    samples = scrape(client)

    bucket = "passerelle_delivery_latency_seconds_bucket"
    assert value(samples, bucket, channel="email", le="1.0") == 0
    assert value(samples, bucket, channel="email", le="5.0") == 1
    assert value(samples, bucket, channel="email", le="60.0") == 1
    assert value(samples, bucket, channel="email", le="120.0") == 2
    assert value(samples, bucket, channel="email", le="+Inf") == 2
    assert value(samples, "passerelle_delivery_latency_seconds_gsum", channel="email") == (
        pytest.approx(103, abs=0.01)
    )
    # In-app rows are sent when written and never claimed: not in the figure.
    assert ("channel", "in_app") not in {label for labels in samples[bucket] for label in labels}
    assert value(samples, bucket, channel="webhook", le="+Inf") == 0


def test_dispatches_not_expanded_broken_webhooks_and_the_table_size(client, token):
    campaign = CampaignFactory()
    enqueue(campaign, UserFactory.create_batch(2))  # 2 e-mails and 2 in-app rows
    waiting = Dispatch.objects.create(
        campaign=campaign, campaign_version=1, kind=Kind.CHANGED, payload={}
    )
    Dispatch.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    TeamFactory(webhook_url="https://chat.example.com/hook", webhook_broken_at=timezone.now())
    TeamFactory(webhook_url="https://chat.example.com/other")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the estimate is the planner's statistics
            cursor.execute("ANALYZE notifications_notification")

    samples = scrape(client)

    assert value(samples, "passerelle_dispatches_unexpanded") == 1
    assert 180 <= value(samples, "passerelle_dispatch_oldest_unexpanded_age_seconds") < 240
    assert value(samples, "passerelle_team_webhooks_broken") == 1
    assert value(samples, "passerelle_outbox_rows_estimated") == 4


def test_beat_tasks_last_runs_and_intervals(client, token, settings):
    succeeded = timezone.now() - timedelta(seconds=42)
    PeriodicTaskRun.objects.create(task=SWEEP, last_success_at=succeeded)
    PeriodicTaskRun.objects.create(
        task=DIGESTS, last_success_at=succeeded, last_failure_at=succeeded
    )

    samples = scrape(client)

    success = "passerelle_beat_last_success_timestamp_seconds"
    assert value(samples, success, task=SWEEP) == pytest.approx(succeeded.timestamp())
    assert value(samples, "passerelle_beat_last_failure_timestamp_seconds", task=DIGESTS) == (
        pytest.approx(succeeded.timestamp())
    )
    assert (("task", SWEEP),) not in samples["passerelle_beat_last_failure_timestamp_seconds"]
    interval = "passerelle_beat_interval_seconds"
    assert (
        value(samples, interval, task=SWEEP)
        == settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]["schedule"]
    )
    assert value(samples, interval, task=DIGESTS) == 3600  # crontab(minute=0)
    # Scheduled, never run yet: an interval and no timestamp (an alert catches that too).
    reminders = "campaigns.tasks.send_due_reminders_and_escalations"
    assert value(samples, interval, task=reminders) == 300
    assert (("task", reminders),) not in samples[success]


@time_machine.travel("2026-01-07 10:00 +0100", tick=False)  # no DST change weeks ahead
def test_a_crontab_interval_is_its_longest_gap(monkeypatch):
    monkeypatch.setattr(beat, "_intervals", {})
    assert beat.schedule_interval(crontab(minute="*/20")) == 1200
    assert beat.schedule_interval(crontab(minute=0, hour=8)) == 86400
    # Weekdays at 8: Friday to Monday is the gap that matters.
    assert beat.schedule_interval(crontab(minute=0, hour=8, day_of_week="1-5")) == 3 * 86400
    assert beat.schedule_interval(15.0) == 15


# --- cost ------------------------------------------------------------------------------------


def data_queries(captured) -> list[str]:
    """The queries that read data, without transaction control (savepoints in tests)."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    return [q["sql"] for q in captured if not q["sql"].startswith(control)]


def test_a_scrape_reads_the_database_in_a_fixed_number_of_queries():
    with CaptureQueriesContext(connection) as empty:
        metrics.outbox_figures()

    now = timezone.now()
    for kind_index in range(3):
        campaign = CampaignFactory()
        enqueue(campaign, UserFactory.create_batch(3))
        rows = list(emails(campaign))
        Notification.objects.filter(pk=rows[0].pk).update(
            status=Status.FAILED, failure_reason=FailureReason.values[kind_index]
        )
        Notification.objects.filter(pk=rows[1].pk).update(
            status=Status.SENT, sent_at=now, claimed_at=now
        )
        Notification.objects.filter(pk=rows[2].pk).update(status=Status.SENDING, claimed_at=now)
        team = TeamFactory(webhook_broken_at=now)
        PeriodicTaskRun.objects.create(task=f"task-{team.pk}", last_success_at=now)
    with CaptureQueriesContext(connection) as busy:
        figures = metrics.outbox_figures()

    assert len(figures.failed) == 3
    assert figures.webhooks_broken == 3
    # In flight, failed, latency, table size, dispatches, teams, beat runs; on
    # PostgreSQL, the statement timeout first.
    expected = 7 + (connection.vendor == "postgresql")
    assert len(data_queries(empty.captured_queries)) == expected
    assert len(data_queries(busy.captured_queries)) == expected


@pytest.mark.postgres
def test_each_outbox_query_is_served_by_an_index_not_a_table_scan():
    # The plans on a table of a few rows may still be sequential scans when that is
    # cheaper; with sequential scans priced out, every outbox query must have an index
    # that serves it, so a scrape stays cheap however large the outbox grows.
    with CaptureQueriesContext(connection) as captured:
        metrics.outbox_figures()
    outbox = [sql for sql in data_queries(captured) if 'FROM "notifications_notification"' in sql]
    assert len(outbox) == 3
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in outbox:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, plan
            assert "notification_campaign_idx" not in plan, plan  # a whole-index scan


# --- when a dependency is down -----------------------------------------------------------------


def test_a_database_failure_still_answers_with_database_up_at_zero(client, token, monkeypatch):
    def unreachable(**kwargs):
        raise OperationalError("connection to server at 10.0.0.5 failed")

    monkeypatch.setattr(metrics, "outbox_figures", unreachable)

    samples = scrape(client)

    assert value(samples, "passerelle_database_up") == 0
    assert "passerelle_outbox_messages" not in samples


def test_a_broker_that_is_down_gives_broker_up_at_zero_and_no_queue_figures(
    client, token, use_broker
):
    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there

    samples = scrape(client)

    assert value(samples, "passerelle_broker_up") == 0
    assert "passerelle_queue_messages" not in samples
    assert value(samples, "passerelle_database_up") == 1


def test_a_broker_other_than_redis_gives_no_broker_figures(client, token, use_broker):
    use_broker("memory://")

    samples = scrape(client)

    assert "passerelle_broker_up" not in samples
    assert "passerelle_queue_messages" not in samples


@pytest.mark.redis
def test_queue_depths_are_read_from_redis(client, token, celery_app, private_queue):
    for _ in range(3):
        celery_app.send_task("notifications.tasks.deliver", args=[[1]])
    celery_app.send_task("notifications.tasks.deliver_webhook", args=[[2]])

    samples = scrape(client)

    assert value(samples, "passerelle_broker_up") == 1
    assert value(samples, "passerelle_queue_messages", queue=f"{private_queue}email") == 3
    assert value(samples, "passerelle_queue_messages", queue=f"{private_queue}webhooks") == 1
    assert value(samples, "passerelle_queue_messages", queue=f"{private_queue}digests") == 0
    assert "passerelle_queue_unacked_messages" in samples
