"""Transports: the e-mail a person receives, and team chat webhooks against a local server."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.services import notification_payload
from chat import mattermost
from chat.state import Target
from core.netsafety import UnsafeURLError, check_public_http_url
from notifications import services
from notifications.channels import (
    build_email,
    webhook_payload,
)
from notifications.models import Channel, Kind, Notification
from notifications.tokens import ack_token_read
from teams.models import Team
from tests.factories import CampaignFactory, UserFactory, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for, free_port

pytestmark = pytest.mark.django_db
Status = Notification.Status


# --- e-mail ---------------------------------------------------------------------------


def test_announcement_email_is_multipart_with_a_personal_ack_link():
    team, (member,) = team_with_members(1)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team], title="Soldes"))
    notification = Notification.objects.get(campaign=campaign, channel=Channel.EMAIL)

    email = build_email(notification)

    assert email.to == [member.email]
    assert email.subject.startswith("New campaign: Soldes, launching ")
    assert [mimetype for _content, mimetype in email.alternatives] == ["text/html"]
    html = email.alternatives[0][0]
    token = email.body.split("/campaigns/ack/")[1].split("/")[0]
    assert f"/campaigns/ack/{token}/" in html
    claim = ack_token_read(token)
    assert (claim.user_id, claim.campaign_id, claim.version) == (member.pk, campaign.pk, 1)
    unsubscribe = email.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://localhost:8000/notifications/unsubscribe/")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["X-Passerelle-Notification"] == str(notification.pk)
    # The markdown body is rendered in the HTML part, kept as text in the plain one.
    assert '<h4 style="margin:16px 0 6px;font-size:15px;line-height:1.35;">Points clés</h4>' in html
    assert "## Points clés" in email.body


def test_each_recipient_gets_their_own_ack_link():
    team, members = team_with_members(3)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    emails = [
        build_email(n)
        for n in Notification.objects.filter(campaign=campaign, channel=Channel.EMAIL)
    ]
    tokens = {e.to[0]: e.body.split("/campaigns/ack/")[1].split("/")[0] for e in emails}
    assert {ack_token_read(tokens[m.email]).user_id for m in members} == {m.pk for m in members}


@pytest.mark.parametrize("kind", [Kind.CANCELLED, Kind.DONE, Kind.ESCALATION])
def test_notices_that_need_no_acknowledgement_carry_no_ack_link(kind):
    campaign = CampaignFactory()
    person = UserFactory()
    services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=1,
        kind=kind,
        user_ids=[person.pk],
        payload=notification_payload(campaign, team="Support", reason="Budget"),
    )
    email = build_email(Notification.objects.get(channel=Channel.EMAIL))
    assert "/campaigns/ack/" not in email.body
    assert "/campaigns/ack/" not in email.alternatives[0][0]


def test_email_is_escaped_in_html():
    campaign = CampaignFactory()
    person = UserFactory()
    services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=1,
        kind=Kind.FEEDBACK,
        user_ids=[person.pk],
        payload={
            **notification_payload(campaign, note="<img src=x onerror=alert(1)>", author_name="Al"),
            "title": "<b>Soldes</b>",
        },
        occurrence="ack-note-1",
    )
    html = build_email(Notification.objects.get(channel=Channel.EMAIL)).alternatives[0][0]
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>Soldes</b>" not in html


# --- webhooks -------------------------------------------------------------------------


def webhook_notification(url: str, webhook_format: str = Team.WebhookFormat.SLACK) -> Notification:
    team, _members = team_with_members(1, webhook_url=url, webhook_format=webhook_format)
    campaign = announce(
        campaign_for(
            owner=make_marketer(full_name="Marie Marketing"), teams=[team], title="Soldes d'été"
        )
    )
    return Notification.objects.select_related("team").get(
        campaign=campaign, channel=Channel.WEBHOOK
    )


def test_slack_payload_has_text_and_blocks():
    notification = webhook_notification("https://hooks.slack.com/services/x")
    payload = webhook_payload(notification, webhook_format="slack")
    assert payload["text"].startswith("New campaign: Soldes d'été")
    assert [block["type"] for block in payload["blocks"]] == [
        "header",
        "section",
        "section",
        "actions",
    ]
    button = payload["blocks"][3]["elements"][0]
    assert button["url"] == f"http://localhost:8000/campaigns/{notification.campaign_id}/"
    assert "Marie Marketing" in payload["blocks"][2]["text"]["text"]


def test_mattermost_payload_has_text_and_username():
    notification = webhook_notification(
        "https://chat.example.com/hooks/x", Team.WebhookFormat.MATTERMOST
    )
    payload = webhook_payload(notification, webhook_format="mattermost")
    assert set(payload) == {"text", "username", "attachments"}
    assert payload["username"] == "Passerelle"
    assert payload["text"].startswith("#### New campaign: Soldes d'été")
    assert f"(http://localhost:8000/campaigns/{notification.campaign_id}/)" in payload["text"]
    # Interactive buttons whose context carries a token only we can sign.
    (attachment,) = payload["attachments"]
    assert [a["name"] for a in attachment["actions"]] == [
        "Acknowledge",
        "Not ready…",
        "Ask a question…",
    ]
    integration = attachment["actions"][0]["integration"]
    assert integration["url"] == "http://localhost:8000/chat/mattermost/actions/"
    assert mattermost.action_token_read(integration["context"]["token"]) == (
        Target(notification.campaign_id, notification.campaign_version, notification.team_id),
        "ack",
    )


def test_msteams_payload_is_an_adaptive_card_attachment():
    notification = webhook_notification(
        "https://example.webhook.office.com/x", Team.WebhookFormat.MSTEAMS
    )
    payload = webhook_payload(notification, webhook_format="msteams")
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"].startswith("New campaign: Soldes d'été")
    assert {fact["title"] for fact in card["body"][3]["facts"]} >= {
        "Channel:",
        "Launch:",
        "Contact:",
    }
    # Acknowledge opens the one-tap page after sign-in (Teams' webhooks take no clicks).
    acknowledge, open_it = card["actions"]
    assert acknowledge["title"] == "Acknowledge"
    assert acknowledge["url"] == (
        f"http://localhost:8000/campaigns/{notification.campaign_id}/acknowledge/open/"
    )
    assert open_it["url"] == f"http://localhost:8000/campaigns/{notification.campaign_id}/"


def deliver(notification: Notification):
    report = services.notifications_deliver(notification_ids=[notification.pk])
    notification.refresh_from_db()
    return report


@pytest.mark.parametrize("webhook_format", Team.WebhookFormat.values)
def test_webhook_posts_json_to_the_team_chat(webhook_server, settings, webhook_format):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    notification = webhook_notification(webhook_server.url, webhook_format)

    report = deliver(notification)

    assert report.sent == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.SENT, 1)
    (request,) = webhook_server.received
    assert request["path"] == "/hooks/team"
    assert request["content_type"] == "application/json"
    assert request["json"] == webhook_payload(notification, webhook_format=webhook_format)


def test_a_webhook_slower_than_the_timeout_is_retried_later(webhook_server, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = 1
    webhook_server.delay = 2.5
    notification = webhook_notification(webhook_server.url)

    report = deliver(notification)

    assert report.retry == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.PENDING, 1)
    assert "timed out" in notification.last_error
    assert notification.next_attempt_at > timezone.now()


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_webhook_server_errors_are_transient(webhook_server, settings, status):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    webhook_server.status = status
    notification = webhook_notification(webhook_server.url)

    assert deliver(notification).retry == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.PENDING, 1)
    assert f"HTTP {status}" in notification.last_error


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_webhook_client_errors_fail_at_once(webhook_server, settings, status):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    webhook_server.status = status
    notification = webhook_notification(webhook_server.url)

    assert deliver(notification).failed == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    assert f"HTTP {status}" in notification.last_error


def test_webhook_redirects_are_not_followed(webhook_server, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    webhook_server.status = 302
    webhook_server.location = "http://169.254.169.254/latest/meta-data/"
    notification = webhook_notification(webhook_server.url)

    assert deliver(notification).failed == [notification.pk]
    assert len(webhook_server.received) == 1
    assert "HTTP 302" in notification.last_error


def test_webhook_server_down_is_transient(settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    notification = webhook_notification(f"http://127.0.0.1:{free_port()}/hook")
    assert deliver(notification).retry == [notification.pk]
    assert "unreachable" in notification.last_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.1/hook",
        "http://localhost/hook",
        "https://192.168.1.20/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_private_addresses_are_refused_for_good(url):
    with pytest.raises(UnsafeURLError) as refused:
        check_public_http_url(url, allow_private=False)
    assert refused.value.transient is False
    assert "private address" in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://chat.example.com/hook",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http:///no-host",
    ],
)
def test_non_http_urls_are_refused_for_good(url):
    with pytest.raises(UnsafeURLError) as refused:
        check_public_http_url(url, allow_private=True)
    assert refused.value.transient is False


def test_delivery_to_a_private_address_fails_without_posting(webhook_server, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    notification = webhook_notification(webhook_server.url)

    assert deliver(notification).failed == [notification.pk]
    assert (notification.status, notification.attempts) == (Status.FAILED, 1)
    assert "private address" in notification.last_error
    assert webhook_server.received == []


def test_a_team_that_removed_its_webhook_fails_the_row(settings):
    notification = webhook_notification("https://chat.example.com/hook")
    Team.objects.filter(pk=notification.team_id).update(webhook_url="")
    assert deliver(notification).failed == [notification.pk]
    assert "no longer has a webhook" in notification.last_error


def test_emails_and_webhooks_of_one_batch_are_delivered_together(
    webhook_server, smtp_server, settings
):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    team, members = team_with_members(2, webhook_url=webhook_server.url)
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team]))
    ids = list(
        Notification.objects.filter(campaign=campaign, status=Status.PENDING).values_list(
            "pk", flat=True
        )
    )
    assert len(ids) == 3

    report = services.notifications_deliver(notification_ids=ids)
    assert sorted(report.sent) == sorted(ids)
    assert len(webhook_server.received) == 1
    assert sorted(smtp_server.handler.recipients()) == sorted(m.email for m in members)


def test_a_retried_webhook_is_posted_again_after_its_backoff(webhook_server, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    webhook_server.status = 503
    notification = webhook_notification(webhook_server.url)
    deliver(notification)
    webhook_server.status = 200
    with time_machine.travel(notification.next_attempt_at + timedelta(seconds=1)):
        assert deliver(notification).sent == [notification.pk]
    assert (notification.status, notification.attempts, notification.last_error) == (
        Status.SENT,
        2,
        "",
    )
    assert len(webhook_server.received) == 2


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a9fe:a9fe", "::ffff:7f00:1", "::127.0.0.1", "2002:a9fe:a9fe::", "2001:0:a9fe::1"],
)
def test_delivery_refuses_a_name_now_resolving_to_a_wrapped_private_address(
    webhook_server, settings, monkeypatch, address
):
    """The connect-time pinning judges the same IPv6 forms as the save-time validator."""
    import socket

    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    notification = webhook_notification("https://chat.example.com/hook")
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, 443, 0, 0))],
    )

    assert deliver(notification).failed == [notification.pk]
    assert "private address" in notification.last_error
    assert webhook_server.received == []
