""" "Send a test message": a signed `webhook.test` to an endpoint whatever it subscribed
to, through the outbox like any message; managers only, active endpoints only."""

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from core.errors import DomainError, PermissionRefused
from tests.factories import make_marketer
from webhooks import services
from webhooks.forms import EndpointForm
from webhooks.models import TEST_EVENT_TYPE, DisabledReason, WebhookDelivery
from webhooks.services.endpoints import TEST_MESSAGE
from webhooks.tasks import webhook_deliver

pytestmark = pytest.mark.django_db


def test_the_test_message_is_signed_and_sent_whatever_the_endpoint_subscribed_to(
    endpoint, receiver, queued, webhook_manager, django_capture_on_commit_callbacks
):
    endpoint.event_types = ["campaign.done"]
    endpoint.save()

    with django_capture_on_commit_callbacks(execute=True):
        delivery = services.webhook_endpoint_send_test(
            actor=webhook_manager, endpoint_id=endpoint.pk
        )

    assert queued.deliveries == [delivery.pk]
    assert webhook_deliver(delivery.pk) == "delivered"
    (request,) = receiver.requests
    body = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert body["type"] == TEST_EVENT_TYPE
    assert body["data"] == {
        "message": TEST_MESSAGE,
        "endpoint": {"id": endpoint.pk, "url": endpoint.url},
        "actor": {"id": webhook_manager.pk, "name": webhook_manager.display_name},
    }
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.Status.DELIVERED


def test_only_a_manager_sends_one(endpoint, queued):
    with pytest.raises(PermissionRefused):
        services.webhook_endpoint_send_test(actor=make_marketer(), endpoint_id=endpoint.pk)
    assert not WebhookDelivery.objects.exists()


def test_a_disabled_endpoint_gets_none_until_enabled(endpoint, queued, webhook_manager):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)

    with pytest.raises(DomainError, match="enable it again"):
        services.webhook_endpoint_send_test(actor=webhook_manager, endpoint_id=endpoint.pk)
    assert not WebhookDelivery.objects.exists()


def test_nobody_subscribes_to_it_and_no_change_publishes_it():
    assert TEST_EVENT_TYPE not in dict(EndpointForm.base_fields["event_types"].choices)
    with pytest.raises(ValueError, match="unknown webhook event type"):
        services.webhook_event_publish(event_type=TEST_EVENT_TYPE, data={})


def test_the_button_queues_it_and_says_so(client, endpoint, queued, webhook_manager):
    client.force_login(webhook_manager)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert reverse("webhooks:send_test", args=[endpoint.pk]) in page

    response = client.post(reverse("webhooks:send_test", args=[endpoint.pk]), follow=True)

    assert response.redirect_chain[-1][0].endswith("#deliveries")
    assert "Test message queued" in response.content.decode()
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.event_type == TEST_EVENT_TYPE
    assert f'id="delivery-{delivery.pk}"' in response.content.decode()
    assert client.get(reverse("webhooks:send_test", args=[endpoint.pk])).status_code == 405


def test_the_button_on_a_disabled_endpoint_explains_instead(client, endpoint, webhook_manager):
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.GONE)
    client.force_login(webhook_manager)
    page = client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert reverse("webhooks:send_test", args=[endpoint.pk]) not in page

    response = client.post(reverse("webhooks:send_test", args=[endpoint.pk]), follow=True)

    assert "enable it again before sending a test message" in response.content.decode()
    assert not WebhookDelivery.objects.exists()
