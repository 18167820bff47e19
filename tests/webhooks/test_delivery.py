"""Sending: signed as Standard Webhooks, to a real receiver on loopback; retried on 5xx,
failed at once on other 4xx, refused for a private address at send time."""

import base64
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.http import http_date, parse_http_date
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications.channels import retry_after_seconds
from tests.factories import make_manager
from webhooks import services, signing
from webhooks.models import DisabledReason, WebhookDelivery, WebhookEndpoint
from webhooks.services.delivery import (
    RETRY_AFTER_MAX,
    RETRY_DELAYS,
    STUCK_AFTER,
    retry_delay,
)
from webhooks.tasks import webhook_deliver, webhooks_sweep

pytestmark = pytest.mark.django_db
Status = WebhookDelivery.Status


@pytest.fixture
def publish_one(django_capture_on_commit_callbacks):
    """Publish an event as a service does, and run what its commit would run."""

    def publish(**data):
        with django_capture_on_commit_callbacks(execute=True):
            services.webhook_event_publish(
                event_type="campaign.announced",
                data={"campaign": {"id": 7, "title": "Été"}, **data},
            )
        return WebhookDelivery.objects.latest("pk")

    return publish


def fresh(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


def test_the_message_verifies_with_the_standard_webhooks_reference_library(
    endpoint, receiver, queued, publish_one
):
    delivery = publish_one()

    assert webhook_deliver(delivery.pk) == "delivered"

    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == {
        "type": "campaign.announced",
        "timestamp": delivery.occurred_at.isoformat(),
        "data": {"campaign": {"id": 7, "title": "Été"}},
    }
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.headers["content-type"] == "application/json"
    assert fresh(delivery).status == Status.DELIVERED
    assert fresh(delivery).last_status_code == 200


def test_a_signature_made_with_another_secret_does_not_verify(
    endpoint, receiver, queued, publish_one
):
    delivery = publish_one()
    webhook_deliver(delivery.pk)

    (request,) = receiver.requests
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_make()).verify(request.body, request.headers)
    tampered = request.body.replace("Été".encode(), b"Hiver")
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, request.headers)


def test_the_secret_has_the_standard_form():
    secret = signing.secret_make()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert signing.message_id_make().startswith("msg_")
    assert "." not in signing.message_id_make()


def test_a_5xx_is_retried_later_with_the_same_id_then_delivered(
    endpoint, receiver, queued, publish_one
):
    receiver.statuses = [503]
    delivery = publish_one()
    start = timezone.now()

    assert webhook_deliver(delivery.pk) == "retry"

    row = fresh(delivery)
    assert row.status == Status.PENDING
    assert row.attempts == 1
    assert row.last_status_code == 503
    assert "HTTP 503" in row.last_error
    first_wait = row.next_attempt_at - start
    assert timedelta(seconds=20) <= first_wait <= timedelta(seconds=40)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is not None
    # Not due yet: a duplicate task claims nothing.
    assert webhook_deliver(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1

    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        # The sweep finds it due and queues it; the task sends it.
        webhooks_sweep()
        assert queued.deliveries.count(delivery.pk) == 2  # once published, once swept
        assert webhook_deliver(delivery.pk) == "delivered"

    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert int(second.headers["webhook-timestamp"]) > int(first.headers["webhook-timestamp"])
    assert first.body == second.body
    row = fresh(delivery)
    assert (row.status, row.attempts, row.last_error) == (Status.DELIVERED, 2, "")
    # A success ends the run of failures.
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None


@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_these_answers_are_worth_another_try(endpoint, receiver, queued, publish_one, status):
    receiver.status = status
    delivery = publish_one()
    assert webhook_deliver(delivery.pk) == "retry"
    assert fresh(delivery).status == Status.PENDING


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("600", timedelta(minutes=10)),
        # Shorter than the schedule's wait: the schedule's wait (30 s, ±20 %).
        ("1", timedelta(seconds=30)),
        # More than the longest step of the schedule: capped there.
        ("864000", RETRY_AFTER_MAX),
        ("100000000000000", RETRY_AFTER_MAX),
    ],
)
def test_a_receivers_retry_after_is_honoured_up_to_the_longest_step(
    endpoint, receiver, queued, publish_one, retry_after, expected
):
    receiver.status = 429
    receiver.headers = {"Retry-After": retry_after}
    delivery = publish_one()
    start = timezone.now()

    assert webhook_deliver(delivery.pk) == "retry"

    wait = fresh(delivery).next_attempt_at - start
    assert expected * 0.8 - timedelta(seconds=1) <= wait <= expected * 1.2 + timedelta(seconds=1)


def test_a_retry_after_date_is_read_too(endpoint, receiver, queued, publish_one):
    receiver.status = 503
    in_an_hour = timezone.now() + timedelta(hours=1)
    receiver.headers = {"Retry-After": http_date(in_an_hour.timestamp())}
    delivery = publish_one()

    assert webhook_deliver(delivery.pk) == "retry"

    assert abs(fresh(delivery).next_attempt_at - in_an_hour) < timedelta(seconds=5)


def test_retry_after_buys_no_attempt_past_the_schedule(endpoint, receiver, queued, publish_one):
    receiver.status = 503
    receiver.headers = {"Retry-After": "60"}
    delivery = publish_one()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=len(RETRY_DELAYS))

    assert webhook_deliver(delivery.pk) == "failed"
    assert fresh(delivery).last_error.startswith("gave up after")


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("120", 120),
        (" 7 ", 7),
        ("soon", None),
        ("-5", None),
        ("²", None),  # a digit to str.isdigit, not to HTTP
        ("100000000000000", 7 * 24 * 3600),  # capped before any timedelta is made
        ("9" * 5000, 7 * 24 * 3600),  # never parsed
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0),  # in the past
        ("Wed, 21 Oct 2015 07:30:00 GMT", 120),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds):
    now = parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT")
    assert retry_after_seconds(header, now=now) == seconds


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 301])
def test_other_answers_fail_at_once(endpoint, receiver, queued, publish_one, status):
    receiver.status = status
    receiver.answer = b"bad signature"
    delivery = publish_one()

    assert webhook_deliver(delivery.pk) == "failed"

    row = fresh(delivery)
    assert row.status == Status.FAILED
    assert row.attempts == 1
    assert row.last_status_code == status
    assert row.last_error == f"HTTP {status}: bad signature"
    endpoint.refresh_from_db()
    assert endpoint.active  # one refusal does not disable it
    assert endpoint.failing_since is not None
    # Failed for good: nothing brings it back but a resend.
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        webhooks_sweep()
    assert queued.deliveries == [delivery.pk]


def test_410_gone_disables_the_endpoint_and_tells_its_manager(
    endpoint, receiver, queued, publish_one, django_capture_on_commit_callbacks
):
    receiver.status = 410
    delivery = publish_one()

    with django_capture_on_commit_callbacks(execute=True):
        assert webhook_deliver(delivery.pk) == "failed"

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_reason == DisabledReason.GONE
    assert queued.notices == [endpoint.pk]


def test_an_unreachable_receiver_is_retried(endpoint, receiver, queued, publish_one, settings):
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.delay = 1.0
    delivery = publish_one()

    assert webhook_deliver(delivery.pk) == "retry"

    row = fresh(delivery)
    assert row.status == Status.PENDING
    assert row.last_status_code is None
    assert "unreachable" in row.last_error


def test_a_private_address_is_refused_at_send_time(receiver, queued, publish_one, settings):
    """Registered while private addresses were allowed (or its DNS changed since): each
    attempt checks the address again, and a loopback one fails for good, unsent."""
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = services.webhook_endpoint_create(
        actor=make_manager(),
        url=f"http://localhost:{port}/hooks/passerelle",
        event_types=[],
    )[0]
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    delivery = publish_one()
    assert delivery.endpoint_id == endpoint.pk

    assert webhook_deliver(delivery.pk) == "failed"

    assert receiver.requests == []
    row = fresh(delivery)
    assert row.status == Status.FAILED
    assert "private address" in row.last_error


def test_the_task_is_idempotent(endpoint, receiver, queued, publish_one):
    delivery = publish_one()
    assert webhook_deliver(delivery.pk) == "delivered"
    assert webhook_deliver(delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_a_disabled_endpoint_is_not_sent_to(endpoint, receiver, queued, publish_one):
    delivery = publish_one()
    services.endpoint_disable(endpoint_id=endpoint.pk, reason=DisabledReason.FAILING)

    assert webhook_deliver(delivery.pk) == "skipped"

    assert receiver.requests == []
    assert fresh(delivery).status == Status.PENDING  # kept for when it is enabled again


def test_a_message_gives_up_when_the_schedule_is_spent(endpoint, receiver, queued, publish_one):
    receiver.status = 503
    delivery = publish_one()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=len(RETRY_DELAYS))

    assert webhook_deliver(delivery.pk) == "failed"

    row = fresh(delivery)
    assert row.status == Status.FAILED
    assert row.last_error.startswith(f"gave up after {len(RETRY_DELAYS) + 1} attempts")


def test_the_backoff_grows_with_jitter_and_ends():
    waits = [retry_delay(n) for n in range(1, len(RETRY_DELAYS) + 1)]
    assert waits[0] is not None
    assert timedelta(seconds=24) <= waits[0] <= timedelta(seconds=36)
    assert waits[3] is not None
    assert timedelta(minutes=48) <= waits[3] <= timedelta(minutes=72)
    assert retry_delay(len(RETRY_DELAYS) + 1) is None
    assert len({retry_delay(1) for _ in range(5)}) > 1


def test_a_rotated_secret_still_signs_for_a_while(
    endpoint, receiver, queued, publish_one, webhook_manager
):
    old = endpoint.secret
    _endpoint, new = services.webhook_endpoint_rotate_secret(
        actor=webhook_manager, endpoint_id=endpoint.pk
    )
    first = publish_one()
    webhook_deliver(first.pk)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)

    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        later = publish_one()
        webhook_deliver(later.pk)
        request = receiver.requests[-1]
        Webhook(new).verify(request.body, request.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(request.body, request.headers)


def test_the_body_is_compact_json_with_type_timestamp_and_data(
    endpoint, receiver, queued, publish_one
):
    delivery = publish_one(note="à bientôt")
    webhook_deliver(delivery.pk)
    body = receiver.requests[0].body
    assert body.startswith(b'{"type":"campaign.announced","timestamp":')
    assert json.loads(body)["data"]["note"] == "à bientôt"


def test_the_sweep_gives_back_a_row_whose_worker_died(endpoint, receiver, queued, publish_one):
    delivery = publish_one()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=Status.SENDING, last_attempt_at=timezone.now(), attempts=1
    )
    webhooks_sweep()
    assert fresh(delivery).status == Status.SENDING  # still within the task's time limit

    with time_machine.travel(timezone.now() + STUCK_AFTER + timedelta(seconds=1)):
        result = webhooks_sweep()
        assert result["freed"] == 1
        assert fresh(delivery).status == Status.PENDING
        assert queued.deliveries == [delivery.pk, delivery.pk]
        assert webhook_deliver(delivery.pk) == "delivered"
    assert fresh(delivery).attempts == 2


def test_the_sweep_does_not_queue_again_what_a_task_was_just_handed(endpoint, queued, publish_one):
    delivery = publish_one()
    assert queued.deliveries == [delivery.pk]
    webhooks_sweep()
    assert queued.deliveries == [delivery.pk]
    # The broker lost it: a little later the sweep queues it again.
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        webhooks_sweep()
        webhooks_sweep()
    assert queued.deliveries == [delivery.pk, delivery.pk]
