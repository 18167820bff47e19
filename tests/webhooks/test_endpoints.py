"""Registering and managing endpoints: managers only, addresses checked (SSRF), events
known; secrets rotated; a message resent with its id."""

import pytest
from django.utils import timezone

from core.errors import DomainError, NotFound, PermissionRefused
from tests.factories import make_marketer
from tests.webhooks.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from webhooks import services
from webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


def test_a_manager_registers_an_endpoint_and_gets_its_secret_once(manager, allow_private):
    endpoint, secret = services.webhook_endpoint_create(
        actor=manager,
        url="  http://127.0.0.1:8080/hooks  ",
        event_types=["feedback.created", "campaign.announced", "campaign.announced"],
        description=" CRM ",
    )

    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:8080/hooks"
    assert endpoint.event_types == ["campaign.announced", "feedback.created"]
    assert endpoint.description == "CRM"
    assert endpoint.created_by == manager
    assert endpoint.active
    assert secret == endpoint.secret
    assert secret.startswith("whsec_")


def test_only_managers_register(advisor, allow_private):
    for person in (advisor, make_marketer()):
        with pytest.raises(PermissionRefused):
            services.webhook_endpoint_create(
                actor=person, url="https://hooks.example.com/x", event_types=[]
            )
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
    ],
)
def test_a_private_address_is_refused_at_registration(manager, settings, url):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(DomainError) as refused:
        services.webhook_endpoint_create(actor=manager, url=url, event_types=[])
    assert list(refused.value.field_errors) == ["url"]
    assert "private network" in refused.value.field_errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "Enter the address"),
        ("ftp://files.example.com/x", "http:// or https://"),
        ("hooks.example.com/x", "http:// or https://"),
        ("https://hooks.example.com:99999/x", "http:// or https://"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://hooks.example.com/\x00", "control characters"),
        ("https://" + "a" * 500 + ".com/", "at most 500"),
        ("https://no-such-host.invalid/hook", "could not be found"),
    ],
)
def test_an_unusable_address_is_refused_with_a_clear_message(manager, url, words):
    with pytest.raises(DomainError) as refused:
        services.webhook_endpoint_create(actor=manager, url=url, event_types=[])
    assert words in refused.value.field_errors["url"][0]


def test_an_unknown_event_type_is_refused(manager, allow_private):
    with pytest.raises(DomainError) as refused:
        services.webhook_endpoint_create(
            actor=manager,
            url="http://127.0.0.1/x",
            event_types=["campaign.announced", "campaign.exploded"],
        )
    assert refused.value.field_errors == {"event_types": ["Unknown event type: campaign.exploded."]}


def test_update_changes_address_events_and_description(manager, allow_private):
    endpoint = WebhookEndpointFactory()
    services.webhook_endpoint_update(
        actor=manager,
        endpoint_id=endpoint.pk,
        url="http://127.0.0.1:9/new",
        event_types=["campaign.done"],
        description="Ticketing",
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.event_types, endpoint.description) == (
        "http://127.0.0.1:9/new",
        ["campaign.done"],
        "Ticketing",
    )


def test_update_checks_the_address_too(manager, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpointFactory()
    with pytest.raises(DomainError):
        services.webhook_endpoint_update(
            actor=manager, endpoint_id=endpoint.pk, url="http://127.0.0.1/x", event_types=[]
        )
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).url == endpoint.url


def test_rotating_makes_a_new_secret_and_keeps_the_old_one_for_a_day(manager):
    endpoint = WebhookEndpointFactory()
    old = endpoint.secret
    now = timezone.now()
    rotated, secret = services.webhook_endpoint_rotate_secret(
        actor=manager, endpoint_id=endpoint.pk, now=now
    )
    rotated.refresh_from_db()
    assert rotated.secret == secret != old
    assert rotated.previous_secret == old
    assert (rotated.previous_secret_until - now).total_seconds() == 24 * 3600


def test_enabling_an_active_endpoint_is_already_done(manager):
    endpoint = WebhookEndpointFactory()
    with pytest.raises(DomainError) as refused:
        services.webhook_endpoint_enable(actor=manager, endpoint_id=endpoint.pk)
    assert refused.value.code == "already_done"


def test_deleting_takes_the_log_with_it(manager):
    delivery = WebhookDeliveryFactory()
    services.webhook_endpoint_delete(actor=manager, endpoint_id=delivery.endpoint_id)
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    with pytest.raises(NotFound):
        services.webhook_endpoint_delete(actor=manager, endpoint_id=delivery.endpoint_id)


@pytest.mark.parametrize("status", [Status.DELIVERED, Status.FAILED])
def test_a_resend_keeps_the_message_id_and_starts_a_new_round(
    manager, queued, django_capture_on_commit_callbacks, status
):
    delivery = WebhookDeliveryFactory(status=status, attempts=4, last_error="HTTP 500")

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_resend(actor=manager, delivery_id=delivery.pk)

    again = WebhookDelivery.objects.get()
    assert again.pk == delivery.pk
    assert again.message_id == delivery.message_id
    assert (again.status, again.attempts) == (Status.PENDING, 0)
    assert queued.deliveries == [delivery.pk]


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENDING])
def test_a_message_on_its_way_is_not_resent(manager, queued, status):
    delivery = WebhookDeliveryFactory(status=status)
    with pytest.raises(DomainError) as refused:
        services.webhook_delivery_resend(actor=manager, delivery_id=delivery.pk)
    assert refused.value.code == "already_done"
    assert queued.calls == []


def test_a_message_of_a_disabled_endpoint_is_not_resent(manager, queued):
    delivery = WebhookDeliveryFactory(status=Status.FAILED)
    services.endpoint_disable(endpoint_id=delivery.endpoint_id, reason=DisabledReason.GONE)
    with pytest.raises(DomainError, match="Enable the endpoint again"):
        services.webhook_delivery_resend(actor=manager, delivery_id=delivery.pk)


def test_only_managers_manage(advisor):
    delivery = WebhookDeliveryFactory(status=Status.FAILED)
    endpoint_id = delivery.endpoint_id
    calls = [
        lambda: services.webhook_endpoint_update(
            actor=advisor, endpoint_id=endpoint_id, url="https://x.example.com", event_types=[]
        ),
        lambda: services.webhook_endpoint_enable(actor=advisor, endpoint_id=endpoint_id),
        lambda: services.webhook_endpoint_rotate_secret(actor=advisor, endpoint_id=endpoint_id),
        lambda: services.webhook_endpoint_delete(actor=advisor, endpoint_id=endpoint_id),
        lambda: services.webhook_delivery_resend(actor=advisor, delivery_id=delivery.pk),
    ]
    for call in calls:
        with pytest.raises(PermissionRefused):
            call()
    assert WebhookEndpoint.objects.get(pk=endpoint_id).secret == delivery.endpoint.secret


def test_every_change_to_an_endpoint_is_in_the_audit_log_without_its_secret(manager, settings):
    from audit.models import AuditEvent
    from webhooks import services as webhook_services

    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    endpoint, secret = webhook_services.webhook_endpoint_create(
        actor=manager, url="https://hooks.example.test/in/s3cr3t-path", event_types=[]
    )
    webhook_services.webhook_endpoint_update(
        actor=manager,
        endpoint_id=endpoint.pk,
        url="https://hooks.example.test/in/s3cr3t-path",
        event_types=["campaign.announced"],
    )
    webhook_services.webhook_endpoint_rotate_secret(actor=manager, endpoint_id=endpoint.pk)
    webhook_services.webhook_endpoint_delete(actor=manager, endpoint_id=endpoint.pk)
    events = list(AuditEvent.objects.order_by("pk"))
    assert [e.action for e in events] == [
        "webhook_endpoint_added",
        "webhook_endpoint_changed",
        "webhook_secret_rotated",
        "webhook_endpoint_deleted",
    ]
    for event in events:
        text = f"{event.target_label} {event.details}"
        assert "s3cr3t-path" not in text
        assert secret not in text
