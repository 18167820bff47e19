import json
import time
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from slack_sdk.signature import SignatureVerifier

from tests.chat import fake_slack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def slack(settings):
    """The Slack app configured against a fake Slack on loopback."""
    fake = fake_slack.start()
    settings.SLACK_BOT_TOKEN = "xoxb-test"
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_API_URL = fake.api_url
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def signed_request(payload: dict, *, timestamp: int | None = None, secret: str = SIGNING_SECRET):
    """A request body and its headers, signed the way Slack does (slack_sdk's recipe)."""
    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return body, {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def post_to_slack_endpoint(client, body: str, headers: dict):
    return client.post(
        reverse("chat:slack_interactivity"),
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
