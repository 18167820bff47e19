"""Bounces reported by the e-mail provider: anymail's tracking webhooks, posted as each
provider posts them (payloads as in anymail's own tests), mark the outbox row failed so
the campaign page shows who was never told."""

import base64
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.urls import reverse

from notifications import services
from notifications.channels import send_emails
from notifications.models import Channel, FailureReason, Notification
from tests.factories import make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
Status = Notification.Status

SECRET = "postmark:correct-horse-battery"
MAILGUN_SIGNING_KEY = "mailgun-signing-key-for-tests"
_ids = itertools.count(1)


class ProviderBackend(AnymailTestBackend):
    """anymail's test backend with message ids shaped like a provider's."""

    def get_esp_message_id(self, message: Any) -> str:
        return f"b7bc2f4a-e38e-4336-af7d-{next(_ids):012d}"


@pytest.fixture
def provider(settings):
    """The app sends through an anymail backend; the webhooks take the shared secret."""
    settings.MAILERS = {
        "default": {"BACKEND": "tests.notifications.test_bounces.ProviderBackend", "OPTIONS": {}}
    }
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": [SECRET],
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY,
    }


@pytest.fixture
def sent(provider):
    """A campaign whose two e-mails went out through the provider."""
    team, _members = team_with_members(2)
    owner = make_marketer(full_name="Marie Marketing")
    campaign = announce(campaign_for(owner=owner, teams=[team], title="Soldes d'hiver"))
    ids = list(
        Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL).values_list(
            "pk", flat=True
        )
    )
    report = services.notifications_deliver(notification_ids=ids)
    assert sorted(report.sent) == sorted(ids)
    rows = list(Notification.objects.filter(pk__in=ids).order_by("recipient__email"))
    assert all(row.provider_message_id for row in rows)
    return campaign, rows


def basic_auth(credentials: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


def post_json(client, url: str, payload: object, credentials: str = SECRET, **headers: str):
    return client.post(
        url,
        data=json.dumps(payload),
        content_type="application/json",
        headers={**basic_auth(credentials), **headers},
    )


def postmark_bounce(message_id: str, email: str, bounce_type: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce",
        "ID": 901542550,
        "Type": bounce_type,
        "TypeCode": 1,
        "ServerID": 23,
        "Name": "Hard bounce",
        "MessageID": message_id,
        "Description": "The server was unable to deliver your message "
        "(ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "passerelle@example.com",
        "BouncedAt": "2026-03-02T16:28:50.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Campaign announced",
    }


POSTMARK = "/anymail/postmark/tracking/"
MAILGUN = "/anymail/mailgun/tracking/"
BREVO = "/anymail/brevo/tracking/"


def refreshed(row: Notification) -> Notification:
    return Notification.objects.get(pk=row.pk)


# --- the mounted webhooks --------------------------------------------------------------


def test_a_postmark_bounce_marks_the_email_failed_and_the_owner_sees_it(client, sent):
    campaign, (bounced, delivered) = sent

    response = post_json(
        client, POSTMARK, postmark_bounce(bounced.provider_message_id, bounced.recipient.email)
    )

    assert response.status_code == 200
    row = refreshed(bounced)
    assert (row.status, row.failure_reason) == (Status.FAILED, FailureReason.BOUNCED)
    assert row.last_error.startswith("Postmark reported bounced (bounced): The server was unable")
    assert "550 5.1.1" in row.last_error
    assert refreshed(delivered).status == Status.SENT

    client.force_login(campaign.owner)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "1 message could not be delivered." in page
    assert "Bounced by the recipient&#x27;s mail server" in page
    assert bounced.recipient.display_name in page
    assert "Send it again" in page


def test_a_repeated_report_changes_nothing(client, sent):
    _campaign, (bounced, _delivered) = sent
    payload = postmark_bounce(bounced.provider_message_id, bounced.recipient.email)
    assert post_json(client, POSTMARK, payload).status_code == 200
    first = refreshed(bounced)

    assert post_json(client, POSTMARK, payload).status_code == 200
    assert (
        services.notification_bounced(
            provider_message_id=bounced.provider_message_id, event_type="bounced"
        )
        == 0
    )
    again = refreshed(bounced)
    assert (again.status, again.failure_reason, again.last_error) == (
        first.status,
        first.failure_reason,
        first.last_error,
    )


def test_a_late_report_about_the_old_message_spares_the_one_sent_again(client, sent):
    campaign, (bounced, _delivered) = sent
    old_bounce = postmark_bounce(bounced.provider_message_id, bounced.recipient.email)
    post_json(client, POSTMARK, old_bounce)
    assert services.notifications_retry(campaign_id=campaign.pk) == 1

    # Waiting to be sent again: the provider repeating its old report must not fail it.
    post_json(client, POSTMARK, old_bounce)
    assert refreshed(bounced).status == Status.PENDING

    services.notifications_deliver(notification_ids=[bounced.pk])
    resent = refreshed(bounced)
    assert resent.status == Status.SENT
    assert resent.provider_message_id != bounced.provider_message_id
    post_json(client, POSTMARK, old_bounce)
    assert refreshed(bounced).status == Status.SENT

    post_json(client, POSTMARK, postmark_bounce(resent.provider_message_id, "x@example.com"))
    assert refreshed(bounced).status == Status.FAILED


@pytest.mark.parametrize(
    "credentials", ["postmark:wrong-password", "intruder:correct-horse-battery", ""]
)
def test_wrong_or_missing_credentials_are_refused(client, sent, credentials):
    _campaign, (bounced, _delivered) = sent
    payload = postmark_bounce(bounced.provider_message_id, bounced.recipient.email)
    if credentials:
        response = post_json(client, POSTMARK, payload, credentials=credentials)
    else:
        response = client.post(POSTMARK, data=json.dumps(payload), content_type="application/json")

    assert response.status_code == 400
    assert refreshed(bounced).status == Status.SENT


def test_without_a_configured_secret_the_webhooks_refuse_everyone(client, settings):
    # What hub.settings does when ANYMAIL_WEBHOOK_SECRET is not set.
    assert settings.ANYMAIL["WEBHOOK_SECRET"][0].startswith("closed:")
    notification = sent_notification_with_id("2706ee8a-737c-4285-b032-ccd317af53ed")

    for guess in ("closed:", "anymail:anymail", SECRET):
        payload = postmark_bounce(notification.provider_message_id, "bounce@example.com")
        assert post_json(client, POSTMARK, payload, credentials=guess).status_code == 400
    assert refreshed(notification).status == Status.SENT


def test_reports_about_unknown_messages_are_ignored(client, sent, caplog):
    _campaign, rows = sent
    # A digest, or another application on the same provider account.
    response = post_json(
        client, POSTMARK, postmark_bounce("883953f4-6105-42a2-a16a-77a8eac79483", "a@example.com")
    )

    assert response.status_code == 200
    assert all(refreshed(row).status == Status.SENT for row in rows)
    assert "matches no sent notification" in caplog.text


@pytest.mark.parametrize(
    ("bounce_type", "expected"),
    [
        ("Transient", Status.SENT),  # deferred: the provider keeps trying
        ("SpamNotification", Status.SENT),  # complained: delivered, then marked as spam
        ("BadEmailAddress", Status.FAILED),  # rejected, invalid address
    ],
)
def test_only_reports_of_non_delivery_count(client, sent, bounce_type, expected):
    _campaign, (row, _delivered) = sent
    payload = postmark_bounce(row.provider_message_id, row.recipient.email, bounce_type)
    assert post_json(client, POSTMARK, payload).status_code == 200
    assert refreshed(row).status == expected
    if expected == Status.FAILED:
        assert refreshed(row).failure_reason == FailureReason.ADDRESS_INVALID


def test_in_app_and_pending_rows_are_never_touched(sent):
    campaign, (row, _delivered) = sent
    in_app = Notification.objects.filter(campaign=campaign, channel=Channel.IN_APP).first()
    assert in_app is not None
    Notification.objects.filter(pk=in_app.pk).update(provider_message_id="same-id")
    Notification.objects.filter(pk=row.pk).update(
        provider_message_id="pending-id", status=Status.PENDING
    )

    for message_id in ("same-id", "pending-id"):
        assert (
            services.notification_bounced(provider_message_id=message_id, event_type="bounced") == 0
        )
    assert refreshed(in_app).status == in_app.status
    assert refreshed(row).status == Status.PENDING


# --- other providers' formats -------------------------------------------------------------


def sent_notification_with_id(message_id: str) -> Notification:
    team, _members = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    row = Notification.objects.get(campaign=campaign, channel=Channel.EMAIL)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENT, provider_message_id=message_id
    )
    return refreshed(row)


def mailgun_signature(token: str, timestamp: str, key: str = MAILGUN_SIGNING_KEY) -> dict:
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"token": token, "timestamp": timestamp, "signature": digest}


def mailgun_failed(message_id: str, *, key: str = MAILGUN_SIGNING_KEY) -> dict:
    return {
        "signature": mailgun_signature(
            "06c96bafc3f42a66b9edd546347a2fe18dc23461fe80dc52f0", "1772467200", key
        ),
        "event-data": {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1772467200.0,
            "recipient": "alice@example.com",
            "log-level": "error",
            "message": {
                "headers": {
                    "message-id": message_id,
                    "to": "Alice <alice@example.com>",
                    "from": "Passerelle <passerelle@example.com>",
                    "subject": "Campaign announced",
                },
                "size": 111,
            },
            "delivery-status": {
                "code": 550,
                "message": "5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
                "attempt-no": 1,
            },
            "user-variables": {},
            "tags": [],
        },
    }


def test_a_mailgun_permanent_failure_with_a_valid_signature(client, provider):
    row = sent_notification_with_id("<20260302162850.1.ABCDEF@mg.example.com>")

    forged = mailgun_failed("20260302162850.1.ABCDEF@mg.example.com", key="not-the-key")
    assert post_json(client, MAILGUN, forged).status_code == 400
    assert refreshed(row).status == Status.SENT

    # Mailgun drops the angle brackets in its webhooks; anymail puts them back.
    response = post_json(client, MAILGUN, mailgun_failed("20260302162850.1.ABCDEF@mg.example.com"))
    assert response.status_code == 200
    failed = refreshed(row)
    assert (failed.status, failed.failure_reason) == (Status.FAILED, FailureReason.BOUNCED)
    assert "5.1.1" in failed.last_error


def test_a_mailgun_temporary_failure_is_only_deferred(client, provider):
    row = sent_notification_with_id("<20260302162850.2.ABCDEF@mg.example.com>")
    payload = mailgun_failed("20260302162850.2.ABCDEF@mg.example.com")
    payload["event-data"]["severity"] = "temporary"
    assert post_json(client, MAILGUN, payload).status_code == 200
    assert refreshed(row).status == Status.SENT


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("hard_bounce", FailureReason.BOUNCED),
        ("blocked", FailureReason.MESSAGE_REFUSED),
        ("invalid_email", FailureReason.ADDRESS_INVALID),
    ],
)
def test_brevo_reports(client, provider, event, reason):
    row = sent_notification_with_id("<202603021628.12345678901@smtp-relay.mailin.fr>")
    payload = {
        "event": event,
        "email": "alice@example.com",
        "id": 1234567,
        "date": "2026-03-02 16:28:50",
        "ts": 1772467730,
        "message-id": "<202603021628.12345678901@smtp-relay.mailin.fr>",
        "ts_event": 1772467730,
        "subject": "Campaign announced",
        "reason": "550 5.1.1 unknown user",
        "ts_epoch": 1772467730123,
    }
    assert post_json(client, BREVO, payload).status_code == 200
    failed = refreshed(row)
    assert (failed.status, failed.failure_reason) == (Status.FAILED, reason)


# --- the provider refusing a recipient when sending ------------------------------------


def test_a_recipient_the_provider_refuses_fails_at_once_and_the_rest_go_out(provider, monkeypatch):
    from anymail.message import AnymailRecipientStatus

    team, members = team_with_members(2)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    refused = members[0].email
    original = ProviderBackend.post_to_esp

    def post_to_esp(self: ProviderBackend, payload: Any, message: Any) -> Any:
        if refused in message.to:
            # What a provider answers for an address on its suppression list.
            message.anymail_test_response = {
                "recipient_status": {refused: AnymailRecipientStatus(None, "rejected")}
            }
        return original(self, payload, message)

    monkeypatch.setattr(ProviderBackend, "post_to_esp", post_to_esp)
    rows = list(Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL))

    outcomes = {o.notification.recipient.email: o for o in send_emails(rows)}

    assert outcomes[members[1].email].error is None
    error = outcomes[refused].error
    assert error is not None
    assert (error.transient, error.reason) == (False, FailureReason.MAILBOX_UNAVAILABLE)
    assert len(mail.outbox) == 2  # both were handed to the provider; one came back refused


# --- configuration from the environment --------------------------------------------------


def run_settings(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` after django.setup() in a fresh interpreter with `env` added."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ANYMAIL_", "EMAIL_"))
    }
    # With DEBUG=0 and no mail server, writing e-mails to files must be chosen explicitly.
    environment |= {"DJANGO_SETTINGS_MODULE": "hub.settings", "EMAIL_FILE_PATH": "sent-mail", **env}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_anymail_provider_is_configured_from_the_environment():
    code = (
        "import json; from django.conf import settings; from django.core.mail import mailers; "
        "backend = mailers.default; "
        "print(json.dumps([type(backend).__module__, backend.server_token, "
        "settings.ANYMAIL['WEBHOOK_SECRET'], settings.ANYMAIL['REQUESTS_TIMEOUT']]))"
    )
    result = run_settings(
        code,
        EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
        ANYMAIL_POSTMARK_SERVER_TOKEN="server-token",
        ANYMAIL_WEBHOOK_SECRET="postmark:one, postmark:two",
        EMAIL_TIMEOUT="7",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [
        "anymail.backends.postmark",
        "server-token",
        ["postmark:one", "postmark:two"],
        7,
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANYMAIL_IGNORE_RECIPIENT_STATUS": "false"}, "ANYMAIL_IGNORE_RECIPIENT_STATUS cannot"),
        ({"ANYMAIL_WEBHOOK_SECRET": "no-colon"}, "must be user:password"),
    ],
)
def test_a_setting_that_cannot_work_stops_start_up(env, message):
    result = run_settings("print('started')", **env)
    assert result.returncode != 0
    assert message in result.stderr
