"""The managers' pages: plain POST forms, the secret shown once, Resend, 403 for anyone
else, and a fixed number of queries on the lists."""

import pytest
from django.urls import reverse

from tests.factories import make_marketer
from tests.webhooks.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from webhooks import services
from webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


def page_urls(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> list[tuple[str, str]]:
    return [
        ("get", reverse("webhooks:list")),
        ("get", reverse("webhooks:create")),
        ("post", reverse("webhooks:create")),
        ("get", reverse("webhooks:detail", args=[endpoint.pk])),
        ("get", reverse("webhooks:edit", args=[endpoint.pk])),
        ("post", reverse("webhooks:edit", args=[endpoint.pk])),
        ("post", reverse("webhooks:enable", args=[endpoint.pk])),
        ("post", reverse("webhooks:rotate_secret", args=[endpoint.pk])),
        ("post", reverse("webhooks:send_test", args=[endpoint.pk])),
        ("get", reverse("webhooks:delete", args=[endpoint.pk])),
        ("post", reverse("webhooks:delete", args=[endpoint.pk])),
        ("post", reverse("webhooks:delivery_resend", args=[endpoint.pk, delivery.pk])),
    ]


@pytest.mark.parametrize("who", ["advisor", "marketer"])
def test_anyone_but_a_manager_gets_403_on_every_page(client, advisor, who):
    person = advisor if who == "advisor" else make_marketer()
    delivery = WebhookDeliveryFactory(status=Status.FAILED)
    endpoint = delivery.endpoint
    secret = endpoint.secret
    client.force_login(person)
    for method, url in page_urls(endpoint, delivery):
        response = getattr(client, method)(url, {"url": "https://x.example.com"})
        assert response.status_code == 403, (method, url)
    endpoint.refresh_from_db()
    assert endpoint.secret == secret
    assert WebhookDelivery.objects.get().status == Status.FAILED


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("webhooks:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_list_shows_each_endpoint_and_its_last_delivery(manager_client):
    active = WebhookEndpointFactory(description="CRM", event_types=["campaign.announced"])
    WebhookDeliveryFactory(endpoint=active, status=Status.FAILED, last_status_code=502)
    disabled = WebhookEndpointFactory(description="Old bot")
    services.endpoint_disable(endpoint_id=disabled.pk, reason=DisabledReason.GONE)

    response = manager_client.get(reverse("webhooks:list"))

    assert response.status_code == 200
    page = response.content.decode()
    assert active.url in page
    assert "A campaign was announced" in page
    assert "HTTP 502" in page
    assert "Failed" in page
    assert "Every event" in page
    assert "Disabled" in page
    assert "410 Gone" in page
    assert "Nothing sent yet" in page


def test_the_list_costs_the_same_queries_however_many_endpoints(
    manager_client, django_assert_max_num_queries
):
    def queries_for_list() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(reverse("webhooks:list")).status_code == 200
        return len(captured)

    WebhookDeliveryFactory()
    one = queries_for_list()
    for _ in range(5):
        WebhookDeliveryFactory()
        WebhookDeliveryFactory(endpoint=WebhookEndpoint.objects.last())
    assert queries_for_list() == one
    with django_assert_max_num_queries(8):
        manager_client.get(reverse("webhooks:list"))


def test_the_delivery_log_costs_the_same_queries_however_long(
    manager_client, django_assert_max_num_queries
):
    endpoint = WebhookEndpointFactory()
    for status in (Status.DELIVERED, Status.FAILED, Status.PENDING) * 20:
        WebhookDeliveryFactory(endpoint=endpoint, status=status)
    with django_assert_max_num_queries(9):
        response = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('id="delivery-') == 50
    second = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk]), {"page": "2"})
    assert second.content.decode().count('id="delivery-') == 10


def test_creating_shows_the_secret_once(manager_client, manager, allow_private):
    response = manager_client.post(
        reverse("webhooks:create"),
        {
            "url": "http://127.0.0.1:8080/hooks",
            "event_types": ["campaign.announced", "campaign.done"],
            "description": "CRM",
        },
    )

    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:detail", args=[endpoint.pk])
    assert endpoint.created_by == manager
    assert endpoint.event_types == ["campaign.announced", "campaign.done"]
    page = manager_client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    assert "it is not shown again" in page
    assert endpoint.secret not in manager_client.get(response["Location"]).content.decode()
    assert endpoint.secret not in manager_client.get(reverse("webhooks:list")).content.decode()


def test_a_private_address_is_refused_on_the_form(manager_client, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    response = manager_client.post(
        reverse("webhooks:create"), {"url": "http://127.0.0.1:8080/hooks", "description": ""}
    )
    assert response.status_code == 400
    assert "private network" in response.content.decode()
    assert "nothing was saved" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_event_is_refused_on_the_form(manager_client, allow_private):
    response = manager_client.post(
        reverse("webhooks:create"),
        {"url": "http://127.0.0.1/x", "event_types": ["campaign.exploded"]},
    )
    assert response.status_code == 400
    assert not WebhookEndpoint.objects.exists()


def test_editing_an_endpoint(manager_client, allow_private):
    endpoint = WebhookEndpointFactory(event_types=[])
    form = manager_client.get(reverse("webhooks:edit", args=[endpoint.pk]))
    assert endpoint.url in form.content.decode()

    response = manager_client.post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"url": "http://127.0.0.1:9/new", "event_types": ["feedback.created"]},
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/new"
    assert endpoint.event_types == ["feedback.created"]


def test_resend_from_the_page(manager_client, queued, django_capture_on_commit_callbacks):
    delivery = WebhookDeliveryFactory(status=Status.FAILED, last_status_code=500)
    detail = reverse("webhooks:detail", args=[delivery.endpoint_id])
    resend = reverse("webhooks:delivery_resend", args=[delivery.endpoint_id, delivery.pk])
    page = manager_client.get(detail).content.decode()
    assert f'action="{resend}"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(resend)

    assert response.status_code == 302
    assert response["Location"] == detail + "#deliveries"
    assert WebhookDelivery.objects.get().status == Status.PENDING
    assert queued.deliveries == [delivery.pk]
    after = manager_client.get(detail).content.decode()
    assert "queued to be sent again" in after
    assert f'action="{resend}"' not in after  # on its way: no button

    again = manager_client.post(resend, follow=True)
    assert "already on its way" in again.content.decode()
    assert queued.deliveries == [delivery.pk]


def test_resend_of_another_endpoints_message_is_not_found(manager_client):
    delivery = WebhookDeliveryFactory(status=Status.FAILED)
    other = WebhookEndpointFactory()
    response = manager_client.post(
        reverse("webhooks:delivery_resend", args=[other.pk, delivery.pk])
    )
    assert response.status_code == 404


def test_enable_again_from_the_page(manager_client, queued):
    endpoint = WebhookEndpointFactory()
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)
    page = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "Enable again" in page
    assert "without a success" in page

    response = manager_client.post(reverse("webhooks:enable", args=[endpoint.pk]), follow=True)

    assert response.status_code == 200
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active
    assert "Endpoint enabled" in response.content.decode()


def test_rotate_the_secret_from_the_page(manager_client):
    endpoint = WebhookEndpointFactory()
    old = endpoint.secret

    response = manager_client.post(
        reverse("webhooks:rotate_secret", args=[endpoint.pk]), follow=True
    )

    endpoint.refresh_from_db()
    assert endpoint.secret != old
    page = response.content.decode()
    assert endpoint.secret in page
    assert old not in page


def test_delete_asks_then_deletes(manager_client):
    endpoint = WebhookEndpointFactory()
    url = reverse("webhooks:delete", args=[endpoint.pk])
    assert "Delete the endpoint" in manager_client.get(url).content.decode()
    assert WebhookEndpoint.objects.exists()

    response = manager_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:list")
    assert not WebhookEndpoint.objects.exists()
    assert manager_client.get(reverse("webhooks:detail", args=[endpoint.pk])).status_code == 404


def test_the_dashboard_links_managers_to_the_webhooks(manager_client, client, advisor):
    page = manager_client.get(reverse("dashboards:overview")).content.decode()
    assert reverse("webhooks:list") in page


def test_the_admin_never_shows_a_secret_whole(client, admin_user):
    endpoint = WebhookEndpointFactory()
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    client.force_login(admin_user)
    page = client.get(
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    ).content.decode()
    assert endpoint.secret[:10] in page
    assert endpoint.secret not in page
    assert client.get(reverse("admin:webhooks_webhookendpoint_changelist")).status_code == 200
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 200
    change = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])
    assert client.get(change).status_code == 200
