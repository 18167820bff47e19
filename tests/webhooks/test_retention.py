"""Retention of the delivery log: delivered and failed messages go after
WEBHOOKS_RETENTION_DAYS; a message still on its way stays whatever its age."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hub import queues
from tests.webhooks.factories import WebhookDeliveryFactory
from webhooks import tasks
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_deliveries_purge_expired

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def _messages(days_old: int, *statuses: str) -> list[int]:
    created = timezone.now() - timedelta(days=days_old)
    ids = [WebhookDeliveryFactory(status=status).pk for status in statuses]
    # created_at is auto_now_add: aged by an update, as time would.
    WebhookDelivery.objects.filter(pk__in=ids).update(created_at=created)
    return ids


def test_old_finished_messages_go_recent_and_unfinished_ones_stay(settings):
    settings.WEBHOOKS_RETENTION_DAYS = 30
    old_finished = _messages(31, Status.DELIVERED, Status.FAILED, Status.DELIVERED)
    old_on_their_way = _messages(400, Status.PENDING, Status.SENDING)
    recent = _messages(29, Status.DELIVERED, Status.FAILED)

    assert webhook_deliveries_purge_expired(batch_size=2) == len(old_finished)

    left = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert left == set(old_on_their_way + recent)
    # Idempotent: nothing left to purge.
    assert webhook_deliveries_purge_expired() == 0


def test_the_task_purges_and_is_a_daily_housekeeping_beat_task(settings):
    settings.WEBHOOKS_RETENTION_DAYS = 5
    _messages(6, Status.DELIVERED)

    assert tasks.webhook_deliveries_purge_expired() == 1

    assert not WebhookDelivery.objects.exists()
    name = "webhooks.tasks.webhook_deliveries_purge_expired"
    assert queues.ROUTES[name] == queues.HOUSEKEEPING
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == name]
    assert len(entries) == 1
    assert entries[0]["schedule"].hour == {3}


def test_the_retention_defaults_to_30_days():
    # tests set no WEBHOOKS_RETENTION_DAYS: the default is what production gets.
    assert settings.WEBHOOKS_RETENTION_DAYS == 30
