"""In Chromium: a manager registers a webhook endpoint (a receiver on loopback), copies
its secret from the one-time box, sends a test message, and the delivery log shows it
delivered; the receiver verifies the signature with the Standard Webhooks library."""

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.factories import DEFAULT_PASSWORD, make_manager
from tests.support.browser import log_in, shot
from tests.webhooks.conftest import allow_private, receiver  # noqa: F401 - fixtures
from webhooks.models import TEST_EVENT_TYPE, WebhookDelivery
from webhooks.tasks import webhook_deliver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_register_an_endpoint_and_send_it_a_test_message(
    browser_page,
    live_server,
    receiver,  # noqa: F811
    allow_private,  # noqa: F811
):
    manager = make_manager(full_name="Mona Manager")
    page = browser_page
    log_in(page, live_server, manager.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/manage/webhooks/new/")
    page.get_by_label("Address (URL)").fill(receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_role("button", name="Add the endpoint").click()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert secret.startswith("whsec_")

    page.get_by_role("button", name="Send a test message").click()
    expect(page.get_by_text("Test message queued")).to_be_visible()
    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.event_type == TEST_EVENT_TYPE
    # The secret was shown once: after the redirect it is gone.
    expect(page.get_by_role("textbox", name="Signing secret")).to_have_count(0)

    assert webhook_deliver(delivery.pk) == "delivered"  # what the worker does
    page.reload()
    row = page.locator(f"#delivery-{delivery.pk}")
    expect(row).to_contain_text(TEST_EVENT_TYPE)
    expect(row).to_contain_text("Delivered")
    shot(page, "webhook-test-message-delivered")
    (request,) = receiver.requests
    body = Webhook(secret).verify(request.body, request.headers)
    assert body["data"]["actor"]["name"] == "Mona Manager"
