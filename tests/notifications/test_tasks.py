"""The Celery tasks called directly (a real worker runs them in test_integration)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from notifications import tasks
from notifications.models import Channel, DeliverySettings, Notification
from tests.factories import make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
Status = Notification.Status


def pending_email() -> Notification:
    team, _members = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    return Notification.objects.get(campaign=campaign, channel=Channel.EMAIL)


def test_deliver_task_retries_through_the_broker_with_backoff_then_sends_once(
    smtp_server, publish_spy, use_broker
):
    use_broker("redis://127.0.0.1:6390/0")  # the retry is only recorded, not consumed
    notification = pending_email()
    smtp_server.handler.data_script = ["451 4.3.0 try later", "451 4.3.0 try later"]

    assert tasks.deliver([notification.pk]) == {"sent": 0, "retry": 1, "failed": 0}
    notification.refresh_from_db()
    (retry,) = publish_spy
    assert (retry.task_name, retry.args) == ("notifications.tasks.deliver", ([notification.pk],))
    assert 0 < retry.countdown <= 30

    for attempt in (2, 3):
        with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
            outcome = tasks.deliver([notification.pk])
            assert tasks.deliver([notification.pk]) == {"sent": 0, "retry": 0, "failed": 0}
        notification.refresh_from_db()
        assert notification.attempts == attempt

    assert outcome == {"sent": 1, "retry": 0, "failed": 0}
    assert notification.status == Status.SENT
    assert len(publish_spy) == 2  # two retries scheduled, none after the success
    assert smtp_server.handler.recipients() == [notification.recipient.email]


def test_deliver_task_reports_a_permanent_failure_without_scheduling_a_retry(
    smtp_server, publish_spy
):
    notification = pending_email()
    smtp_server.handler.data_reply = "550 5.7.1 refused"
    assert tasks.deliver([notification.pk]) == {"sent": 0, "retry": 0, "failed": 1}
    assert publish_spy == []


def test_the_daily_digest_beat_task_hands_batches_to_workers_once_a_day(publish_spy):
    team, (member,) = team_with_members(1)
    DeliverySettings.objects.create(user=member, daily_digest=True)
    announce(campaign_for(owner=make_marketer(), teams=[team]))
    nine = datetime(2026, 3, 3, 9, tzinfo=ZoneInfo("Europe/Paris"))
    with time_machine.travel(nine, tick=False):
        assert tasks.send_daily_digests() == 1
        [call] = publish_spy
        assert (call.task_name, call.args) == (
            "notifications.tasks.send_digest_batch",
            ([member.pk], nine.astimezone(UTC).isoformat()),
        )
        assert tasks.send_digest_batch(*call.args) == 1
        assert tasks.send_digest_batch(*call.args) == 0  # a batch redelivered sends nothing
        assert tasks.send_daily_digests() == 0
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert len(publish_spy) == 1


def test_the_worker_loads_what_e_mails_need_before_forking_its_pool(monkeypatch):
    """A fresh process spent its first e-mail of a fan-out (about a second) importing the
    URLconf and compiling templates; the worker's main process now does it once, and its
    children inherit it."""
    from celery import signals

    from hub.celery import prepare_before_forking
    from notifications import channels

    prepared = []
    real_prepare = channels.delivery_prepare
    monkeypatch.setattr(channels, "delivery_prepare", lambda: prepared.append(real_prepare()))
    assert prepare_before_forking in signals.worker_init._live_receivers(None)
    prepare_before_forking()
    assert prepared == [None]


def test_every_e_mail_template_the_worker_prepares_exists():
    from django.template.loader import get_template

    from notifications.channels import EMAIL_TEMPLATES

    for name in EMAIL_TEMPLATES:
        assert get_template(name).origin.name.endswith(name)
