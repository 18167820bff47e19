"""Two workers handed the same delivery (a task and the sweep's copy): one claims it,
the other finds nothing; the receiver gets one POST. Real connections, on PostgreSQL."""

import threading

import pytest
from django.db import connection

from tests.webhooks.factories import WebhookDeliveryFactory, WebhookEndpointFactory
from webhooks.models import WebhookDelivery
from webhooks.tasks import webhook_deliver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_send_a_message_once(receiver, allow_private):
    receiver.delay = 0.3  # the first is still sending when the second tries
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url=receiver.url))
    results: list[str] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            results.append(webhook_deliver(delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(results) == ["delivered", "skipped"]
    assert len(receiver.requests) == 1
    row = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (row.status, row.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
