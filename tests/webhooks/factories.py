"""Factories of the webhooks app, in the style of tests/factories.py."""

import factory
from django.utils import timezone

from tests.factories import make_manager
from webhooks import signing
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """An endpoint as the service makes it, without the address check (tests point it at
    receivers on loopback, or at addresses they want refused at send time)."""

    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/passerelle")
    secret = factory.LazyFunction(signing.secret_make)
    event_types = factory.LazyFunction(list)
    description = "CRM"
    created_by = factory.LazyFunction(make_manager)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    message_id = factory.LazyFunction(signing.message_id_make)
    event_type = EventType.CAMPAIGN_ANNOUNCED
    payload = factory.LazyFunction(lambda: {"campaign": {"id": 1, "title": "Offre d'été"}})
    occurred_at = factory.LazyFunction(timezone.now)
    next_attempt_at = factory.LazyFunction(timezone.now)
