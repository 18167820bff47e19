"""Retention: delivered notifications and their payloads go after
NOTIFICATION_RETENTION_DAYS; nothing still on its way is ever purged."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hub import queues
from notifications import tasks
from notifications.models import DigestRun, Dispatch, Notification
from notifications.services import notifications_purge_expired
from tests.factories import MembershipFactory, announced_campaign

pytestmark = pytest.mark.django_db

Status = Notification.Status


def _campaign_with_rows(members: int = 3):
    first = MembershipFactory()
    team = first.team
    people = [first.user] + [MembershipFactory(team=team).user for _ in range(members - 1)]
    campaign = announced_campaign(teams=[team])
    return campaign, people


def _age(campaign, days: int) -> None:
    then = timezone.now() - timedelta(days=days)
    Notification.objects.filter(campaign=campaign).update(created_at=then)
    Dispatch.objects.filter(campaign=campaign).update(created_at=then)


def test_old_delivered_rows_and_their_payloads_go_recent_ones_stay(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 30
    old, _ = _campaign_with_rows()
    recent, _ = _campaign_with_rows()
    Notification.objects.update(status=Status.SENT)
    _age(old, 31)
    _age(recent, 29)
    recent_rows = set(Notification.objects.filter(campaign=recent).values_list("pk", flat=True))
    old_rows = Notification.objects.filter(campaign=old).count()
    old_dispatches = Dispatch.objects.filter(campaign=old).count()
    assert old_rows
    assert old_dispatches

    report = notifications_purge_expired()

    assert report.notifications == old_rows
    assert report.dispatches == old_dispatches
    assert not Notification.objects.filter(campaign=old).exists()
    assert not Dispatch.objects.filter(campaign=old).exists()
    assert set(Notification.objects.values_list("pk", flat=True)) == recent_rows
    assert Dispatch.objects.filter(campaign=recent).exists()


def test_rows_still_on_their_way_are_never_purged_nor_their_payload(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 30
    campaign, _ = _campaign_with_rows(members=4)
    rows = list(Notification.objects.filter(campaign=campaign).order_by("pk"))
    assert len(rows) >= 4
    waiting = {Status.PENDING, Status.SENDING, Status.HELD}
    for row, status in zip(
        rows[:4], [Status.PENDING, Status.SENDING, Status.HELD, Status.FAILED], strict=True
    ):
        row.status = status
        row.save(update_fields=["status"])
    Notification.objects.filter(pk__in=[r.pk for r in rows[4:]]).update(status=Status.SENT)
    _age(campaign, 500)

    notifications_purge_expired()

    left = set(Notification.objects.values_list("status", flat=True))
    assert left == waiting
    assert Dispatch.objects.filter(campaign=campaign).exists()  # they still need it


def test_a_dispatch_never_expanded_is_kept(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 30
    campaign, _ = _campaign_with_rows()
    Notification.objects.all().delete()
    Dispatch.objects.update(expanded_at=None)
    _age(campaign, 100)

    assert notifications_purge_expired().dispatches == 0
    assert Dispatch.objects.filter(campaign=campaign).exists()


def test_the_purge_works_in_batches_and_a_second_run_finds_nothing(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 1
    for _ in range(3):
        campaign, people = _campaign_with_rows(members=3)
        _age(campaign, 2)
        DigestRun.objects.create(user=people[0], period=f"day-{campaign.pk}")
    DigestRun.objects.update(sent_at=timezone.now() - timedelta(days=2))
    Notification.objects.update(status=Status.FAILED)
    total = Notification.objects.count()

    first = notifications_purge_expired(batch_size=2)
    second = notifications_purge_expired(batch_size=2)

    assert first.notifications == total
    assert first.dispatches == 3
    assert first.digest_runs == 3
    assert (second.notifications, second.dispatches, second.digest_runs) == (0, 0, 0)
    assert not Notification.objects.exists()


def test_the_task_purges_and_is_a_daily_housekeeping_beat_task(settings):
    settings.NOTIFICATION_RETENTION_DAYS = 10
    campaign, _ = _campaign_with_rows()
    Notification.objects.update(status=Status.SENT)
    _age(campaign, 11)

    result = tasks.notifications_purge_expired()

    assert result["notifications"] > 0
    assert not Notification.objects.exists()
    name = "notifications.tasks.notifications_purge_expired"
    assert queues.ROUTES[name] == queues.HOUSEKEEPING
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == name]
    assert len(entries) == 1
    assert entries[0]["schedule"].hour == {3}


def test_the_retention_defaults_to_400_days():
    # tests set no NOTIFICATION_RETENTION_DAYS: the default is what production gets.
    assert settings.NOTIFICATION_RETENTION_DAYS == 400
