"""An endpoint failing for longer than the window is disabled, and its manager told."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from teams import services as teams
from tests.factories import make_manager
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks import services
from webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import webhook_deliver, webhook_endpoint_disabled_notify, webhooks_sweep

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def failing(endpoint, receiver, queued, django_capture_on_commit_callbacks):
    """An endpoint whose receiver answers 500, and a message that just failed once."""
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_publish(event_type="campaign.done", data={"campaign": {"id": 1}})
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery.pk) == "retry"
    return delivery


def sweep(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return webhooks_sweep()


def test_failures_lasting_past_the_window_disable_the_endpoint_and_tell_its_manager(
    failing, endpoint, receiver, queued, django_capture_on_commit_callbacks, webhook_manager
):
    started = WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since
    assert started is not None
    other_manager = make_manager(email="other@example.test")

    # Still failing 23 hours on: within the window, it stays on.
    with time_machine.travel(started + timedelta(hours=23), tick=False):
        WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(failing.pk) == "retry"
        assert sweep(django_capture_on_commit_callbacks)["disabled"] == 0
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active

    with time_machine.travel(started + timedelta(hours=25), tick=False):
        WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(failing.pk) == "retry"
        assert sweep(django_capture_on_commit_callbacks)["disabled"] == 1
        disabled_at = timezone.now()

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at == disabled_at
    assert endpoint.disabled_reason == DisabledReason.FAILING
    assert "more than 24 hours" in endpoint.disabled_reason_text()
    # The manager who registered it is told, once.
    assert queued.notices == [endpoint.pk]
    assert webhook_endpoint_disabled_notify(endpoint.pk) == 1
    (message,) = mail.outbox
    assert message.to == [webhook_manager.email]
    assert other_manager.email not in message.to
    assert endpoint.url in message.subject
    assert f"/manage/webhooks/{endpoint.pk}/" in message.body
    assert "more than 24 hours" in message.body
    assert webhook_endpoint_disabled_notify(endpoint.pk) == 0

    # The message waits for the endpoint to be enabled again; nothing is sent meanwhile,
    # and the notice is not sent again.
    assert WebhookDelivery.objects.get(pk=failing.pk).status == Status.PENDING
    requests_before = len(receiver.requests)
    with time_machine.travel(started + timedelta(hours=40), tick=False):
        assert sweep(django_capture_on_commit_callbacks)["notices"] == 0
        assert webhook_deliver(failing.pk) == "skipped"
    assert len(receiver.requests) == requests_before
    assert len(mail.outbox) == 1
    assert queued.notices == [endpoint.pk]


def test_one_refusal_long_ago_does_not_disable(
    endpoint, receiver, queued, django_capture_on_commit_callbacks
):
    receiver.status = 400
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_event_publish(event_type="campaign.done", data={})
    assert webhook_deliver(WebhookDelivery.objects.get().pk) == "failed"

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert sweep(django_capture_on_commit_callbacks)["disabled"] == 0
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active


def test_a_success_in_between_starts_the_window_again(
    failing, endpoint, receiver, queued, django_capture_on_commit_callbacks
):
    started = WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since
    with time_machine.travel(started + timedelta(hours=12), tick=False):
        receiver.status = 200
        WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(failing.pk) == "delivered"
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None

    receiver.status = 500
    with time_machine.travel(started + timedelta(hours=20), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            services.webhook_event_publish(event_type="campaign.done", data={})
        second = WebhookDelivery.objects.order_by("pk").last()
        assert webhook_deliver(second.pk) == "retry"
    with time_machine.travel(started + timedelta(hours=30), tick=False):
        WebhookDelivery.objects.filter(pk=second.pk).update(next_attempt_at=timezone.now())
        assert webhook_deliver(second.pk) == "retry"
        assert sweep(django_capture_on_commit_callbacks)["disabled"] == 0
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active


def test_the_window_is_a_setting(
    failing, endpoint, queued, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER_HOURS = 2
    started = WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since
    with time_machine.travel(started + timedelta(hours=3), tick=False):
        WebhookDelivery.objects.filter(pk=failing.pk).update(next_attempt_at=timezone.now())
        webhook_deliver(failing.pk)
        assert sweep(django_capture_on_commit_callbacks)["disabled"] == 1


def test_every_manager_is_told_when_the_creator_is_gone(failing, endpoint, webhook_manager):
    admin = make_manager(email="admin@example.test")
    second = make_manager(email="second@example.test")
    teams.person_set_roles(actor=admin, user_id=webhook_manager.pk, roles=[])
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)

    assert webhook_endpoint_disabled_notify(endpoint.pk) == 2

    assert sorted(m.to[0] for m in mail.outbox) == [admin.email, second.email]


def test_a_mail_server_down_leaves_the_notice_to_the_sweep(
    failing, endpoint, queued, monkeypatch, django_capture_on_commit_callbacks
):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.GONE)

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("down")

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMessage.send", refuse)
        assert webhook_endpoint_disabled_notify(endpoint.pk) == 0
    assert not mail.outbox

    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert sweep(django_capture_on_commit_callbacks)["notices"] == 1
    assert queued.notices == [endpoint.pk]
    assert webhook_endpoint_disabled_notify(endpoint.pk) == 1
    assert len(mail.outbox) == 1


def test_enabling_again_sends_what_was_kept(
    failing, endpoint, receiver, queued, webhook_manager, django_capture_on_commit_callbacks
):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)
    receiver.status = 200

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_endpoint_enable(actor=webhook_manager, endpoint_id=endpoint.pk)

    endpoint.refresh_from_db()
    assert endpoint.active
    assert (endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since) == (
        None,
        "",
        None,
    )
    assert queued.deliveries == [failing.pk, failing.pk]
    assert webhook_deliver(failing.pk) == "delivered"


def test_an_endpoint_disabled_is_not_sent_new_events(endpoint, queued):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)
    assert services.webhook_event_publish(event_type="campaign.done", data={}) == 0
    other = WebhookEndpointFactory()
    assert services.webhook_event_publish(event_type="campaign.done", data={}) == 1
    assert WebhookDelivery.objects.get().endpoint == other
