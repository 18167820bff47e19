"""Mattermost's buttons: the context's token must carry our signature, a request is acted
on once, and the answer updates the post in place."""

import json

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import CampaignEvent, Stakeholder
from chat import mattermost
from chat.models import ChatAction, ChatIdentity, ChatPost, Platform
from chat.state import Target
from chat.tasks import chat_posts_refresh
from notifications import services as notification_services
from notifications.models import Channel, Notification
from tests.chat import fake_slack
from tests.factories import announced_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def target(marketer, support_team):
    support_team.webhook_url = "https://chat.invalid/hooks/abc"
    support_team.webhook_format = support_team.WebhookFormat.MATTERMOST
    support_team.save()
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    return Target(campaign.pk, campaign.version, support_team.pk)


def _connect(advisor) -> None:
    ChatIdentity.objects.create(
        platform=Platform.MATTERMOST, workspace_id="team1", external_user_id="mm1", user=advisor
    )


def _click(client, token: str, *, trigger: str = "trigger-1"):
    body = {
        "user_id": "mm1",
        "team_id": "team1",
        "trigger_id": trigger,
        "context": {"token": token},
    }
    return client.post(
        reverse("chat:mattermost_action"), data=json.dumps(body), content_type="application/json"
    )


def test_acknowledge_answers_privately_and_updates_the_post(client, target, advisor):
    _connect(advisor)
    response = _click(client, mattermost.action_token(target=target, action="ack"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["ephemeral_text"] == "Acknowledged for Conseillers clientèle. Thank you."
    (attachment,) = answer["update"]["props"]["attachments"]
    assert attachment["text"].startswith("✓ Acknowledged by Alice Advisor")
    assert Stakeholder.objects.get(campaign_id=target.campaign_id).acknowledged_by == advisor
    event = CampaignEvent.objects.get(kind=CampaignEvent.Kind.ACKNOWLEDGED)
    assert event.details["via"] == "mattermost"


def test_a_forged_token_or_a_replay_records_nothing(client, target, advisor):
    _connect(advisor)
    token = mattermost.action_token(target=target, action="ack")
    assert _click(client, token[:-2] + "xx").status_code == 401
    assert ChatAction.objects.count() == 0
    assert _click(client, token).status_code == 200
    assert _click(client, token).status_code == 409  # the same request again
    assert CampaignEvent.objects.filter(kind=CampaignEvent.Kind.ACKNOWLEDGED).count() == 1


def test_an_unknown_user_is_sent_a_link_to_connect(client, target):
    response = _click(client, mattermost.action_token(target=target, action="ack"))
    assert "connect it once" in response.json()["ephemeral_text"]
    assert "/chat/connect/" in response.json()["ephemeral_text"]
    assert not Stakeholder.objects.get(campaign_id=target.campaign_id).acknowledged_version


def test_a_dialogs_answer_says_not_ready_and_an_empty_one_stays_open(client, target, advisor):
    _connect(advisor)
    url = reverse("chat:mattermost_dialog")
    state = mattermost.action_token(target=target, action="not_ready")

    def submit(text: str, callback: str = "1"):
        body = {
            "type": "dialog_submission",
            "callback_id": callback,
            "state": state,
            "user_id": "mm1",
            "team_id": "team1",
            "submission": {"text": text},
            "cancelled": False,
        }
        return client.post(url, data=json.dumps(body), content_type="application/json")

    assert submit("  ").json() == {
        "errors": {"text": "Write a few words: this is what the campaign's owner will read."}
    }
    assert submit("Le stock n'est pas arrivé", callback="2").status_code == 200
    stakeholder = Stakeholder.objects.get(campaign_id=target.campaign_id)
    assert stakeholder.not_ready_reason == "Le stock n'est pas arrivé"


def test_a_button_whose_dialog_cannot_open_points_to_the_page(client, settings, target, advisor):
    _connect(advisor)
    response = _click(client, mattermost.action_token(target=target, action="not_ready"))
    # chat.invalid is not reachable from the tests: the person gets the page's link.
    assert f"/campaigns/{target.campaign_id}/" in response.json()["ephemeral_text"]


class TestTheBot:
    """With MATTERMOST_URL and a bot token, posts are the bot's and follow every change."""

    @pytest.fixture
    def server(self, settings):
        fake = fake_slack.start()
        settings.MATTERMOST_URL = fake.base
        settings.MATTERMOST_BOT_TOKEN = "bot-token"
        yield fake
        fake.server.shutdown()
        fake.server.server_close()

    def test_web_side_changes_update_the_post_in_place(
        self, server, marketer, advisor, support_team
    ):
        support_team.mattermost_channel_id = "k" * 26
        support_team.save()
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        rows = Notification.objects.filter(campaign=campaign, channel=Channel.WEBHOOK)
        report = notification_services.notifications_deliver(notification_ids=[r.pk for r in rows])
        assert report.failed == []
        (created,) = server.called("v4/posts")
        assert created["channel_id"] == "k" * 26
        first_button = created["props"]["attachments"][0]["actions"][0]
        assert first_button["name"] == "Acknowledge"
        post = ChatPost.objects.get(campaign=campaign, platform=Platform.MATTERMOST)
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        assert chat_posts_refresh(campaign.pk) == 1
        (patch,) = [c.body for c in server.calls if c.method == f"v4/posts/{post.message_ts}/patch"]
        assert patch["props"]["attachments"][0]["text"].startswith("✓ Acknowledged by Alice")
        # What people typed reaches a whole channel inert: no mention, no link.
        services.campaign_acknowledgement_revoke(
            actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk
        )
        services.stakeholder_not_ready(
            actor=advisor,
            campaign_id=campaign.pk,
            team_id=support_team.pk,
            reason="@all [Open in Passerelle](https://evil.example)",
        )
        chat_posts_refresh(campaign.pk)
        hostile = [c.body for c in server.calls if c.method.endswith("/patch")][-1]
        text = hostile["props"]["attachments"][0]["text"]
        assert "⚠ Not ready:" in text
        assert "@all" not in text
        assert "](https://evil" not in text
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
        chat_posts_refresh(campaign.pk)
        last = [c.body for c in server.calls if c.method.endswith("/patch")][-1]
        assert "actions" not in last["props"]["attachments"][0]  # done: no more buttons
