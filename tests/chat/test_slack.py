"""The Slack app against a fake Slack on loopback: announcements posted with buttons, clicks
and forms signed with slack_sdk's recipe, actions done once by the worker's task, and the
message updated in place whichever channel the change came from."""

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignEvent, Feedback, ReminderSnooze, Stakeholder
from chat import slack as slack_app
from chat.identity import ChatUser, connect_url
from chat.models import ChatAction, ChatIdentity, ChatPost, Platform
from chat.tasks import chat_action_process, chat_posts_refresh, chat_sweep
from notifications import services as notification_services
from notifications.models import Channel, Notification
from tests.chat.conftest import post_to_slack_endpoint, signed_request
from tests.factories import MembershipFactory, TeamFactory, announced_campaign, campaign_input

pytestmark = pytest.mark.django_db

CHANNEL = "C0123ABCD"


@pytest.fixture
def slack_team(support_team):
    support_team.slack_channel_id = CHANNEL
    support_team.save()
    return support_team


def deliver_chat(campaign: Campaign) -> None:
    """What the webhooks worker does for the campaign's team-chat rows."""
    ids = list(
        Notification.objects.filter(
            campaign=campaign, channel=Channel.WEBHOOK, status=Notification.Status.PENDING
        ).values_list("pk", flat=True)
    )
    report = notification_services.notifications_deliver(notification_ids=ids)
    assert report.failed == []
    assert report.retry == []


def posted(marketer, team) -> ChatPost:
    campaign = announced_campaign(owner=marketer, teams=[team], title="Vœux 2027")
    deliver_chat(campaign)
    return ChatPost.objects.get(campaign=campaign)


def click(fake, post: ChatPost, action_id: str, *, user="U1", trigger="trigger-1") -> dict:
    value = slack_app.button_value(
        campaign_id=post.campaign_id, version=post.version, team_id=post.team_id
    )
    return {
        "type": "block_actions",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "trigger_id": trigger,
        "response_url": fake.response_url(),
        "channel": {"id": post.channel_id},
        "message": {"ts": post.message_ts},
        "actions": [{"action_id": action_id, "value": value, "block_id": "passerelle_actions"}],
    }


def submission(post: ChatPost, callback_id: str, text: str, *, user="U1") -> dict:
    target = {"campaign_id": post.campaign_id, "version": post.version, "team_id": post.team_id}
    return {
        "type": "view_submission",
        "user": {"id": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "view": {
            "callback_id": callback_id,
            "private_metadata": json.dumps({"target": target, "channel": post.channel_id}),
            "state": {"values": {slack_app.TEXT_BLOCK: {slack_app.TEXT_INPUT: {"value": text}}}},
        },
    }


def send(client, payload: dict, **signing) -> object:
    body, headers = signed_request(payload, **signing)
    return post_to_slack_endpoint(client, body, headers)


def process_pending() -> list[str]:
    return [
        chat_action_process(pk)
        for pk in ChatAction.objects.filter(status=ChatAction.Status.PENDING).values_list(
            "pk", flat=True
        )
    ]


def last_update_text(fake) -> str:
    return json.dumps(fake.called("chat.update")[-1]["blocks"], ensure_ascii=False)


class TestPosting:
    def test_announcement_goes_to_the_channel_with_buttons_and_is_kept(
        self, slack, marketer, slack_team
    ):
        post = posted(marketer, slack_team)
        (message,) = slack.called("chat.postMessage")
        assert message["channel"] == CHANNEL
        actions = message["blocks"][-1]
        assert [e["action_id"] for e in actions["elements"]] == [
            "passerelle_ack",
            "passerelle_not_ready",
            "passerelle_ask",
            "passerelle_snooze",
            "passerelle_open",
        ]
        assert post.version == 1
        assert post.team == slack_team
        assert post.message_ts.startswith("1700000000.")

    def test_without_the_app_the_incoming_webhook_is_used(self, settings, marketer, slack_team):
        settings.SLACK_BOT_TOKEN = ""
        campaign = announced_campaign(owner=marketer, teams=[slack_team])
        # No webhook URL and no app: nothing is posted to the team's chat.
        assert not Notification.objects.filter(campaign=campaign, channel=Channel.WEBHOOK)

    def test_later_news_goes_in_the_announcements_thread(self, slack, marketer, slack_team):
        post = posted(marketer, slack_team)
        services.campaign_cancel(actor=marketer, campaign_id=post.campaign_id, reason="Reporté")
        deliver_chat(post.campaign)
        cancelled = slack.called("chat.postMessage")[-1]
        assert cancelled["thread_ts"] == post.message_ts


class TestSignedRequests:
    def test_acknowledge_is_recorded_once_and_the_message_updated(
        self, client, slack, marketer, advisor, slack_team
    ):
        slack.emails["U1"] = advisor.email.upper()  # matched whatever the case
        post = posted(marketer, slack_team)
        response = send(client, click(slack, post, "passerelle_ack"))
        assert response.status_code == 200
        assert process_pending() == ["done"]
        stakeholder = Stakeholder.objects.get(campaign=post.campaign)
        assert stakeholder.acknowledged_by == advisor
        event = post.campaign.events.get(kind=CampaignEvent.Kind.ACKNOWLEDGED)
        assert event.details["via"] == "slack"
        # Privately, to the person who clicked.
        (answer,) = slack.called("/response/click")
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == "Acknowledged for Conseillers clientèle. Thank you."
        assert ChatIdentity.objects.get(external_user_id="U1").user == advisor
        # In place, for everybody.
        assert chat_posts_refresh(post.campaign_id) == 1
        update = slack.called("chat.update")[-1]
        assert update["ts"] == post.message_ts
        assert "✓ Acknowledged by Alice Advisor" in last_update_text(slack)

    def test_bad_signature_stale_timestamp_and_replay_record_nothing(
        self, client, slack, marketer, advisor, slack_team
    ):
        slack.emails["U1"] = advisor.email
        post = posted(marketer, slack_team)
        payload = click(slack, post, "passerelle_ack")
        assert send(client, payload, secret="not-the-secret").status_code == 401
        assert send(client, payload, timestamp=int(time.time()) - 6 * 60).status_code == 401
        assert ChatAction.objects.count() == 0
        body, headers = signed_request(payload)
        assert post_to_slack_endpoint(client, body, headers).status_code == 200
        assert post_to_slack_endpoint(client, body, headers).status_code == 409
        assert ChatAction.objects.count() == 1
        process_pending()
        assert post.campaign.events.filter(kind=CampaignEvent.Kind.ACKNOWLEDGED).count() == 1

    def test_a_task_run_twice_acts_once(self, client, slack, marketer, advisor, slack_team):
        slack.emails["U1"] = advisor.email
        post = posted(marketer, slack_team)
        send(client, click(slack, post, "passerelle_ack"))
        action = ChatAction.objects.get()
        assert chat_action_process(action.pk) == "done"
        assert chat_action_process(action.pk) == "done"
        assert len(slack.called("/response/click")) == 1

    def test_an_unknown_user_gets_a_private_link_to_connect_once(
        self, client, slack, marketer, advisor, slack_team
    ):
        slack.names["U1"] = "Alice A."  # Slack knows a name, but no address
        post = posted(marketer, slack_team)
        send(client, click(slack, post, "passerelle_ack"))
        assert process_pending() == ["refused"]
        assert not Stakeholder.objects.get(campaign=post.campaign).acknowledged_version
        (answer,) = slack.called("/response/click")
        link = answer["text"].split()[-1]
        assert link == connect_url(ChatUser(Platform.SLACK, "T1", "U1", label="Alice A."))
        client.force_login(advisor)
        path = link.removeprefix("http://localhost:8000")
        page = client.get(path).text
        assert "Connect my Slack account" in page
        # Whose chat account it is, and not to connect one somebody else sent.
        assert "<strong>Alice A.</strong>" in page
        assert "If someone sent you this link, do not connect." in page
        client.post(path)
        assert ChatIdentity.objects.get(external_user_id="U1").user == advisor
        send(client, click(slack, post, "passerelle_ack", trigger="trigger-2"))
        assert process_pending() == ["done"]

    def test_someone_outside_the_team_is_refused_privately(
        self, client, slack, marketer, slack_team
    ):
        outsider = MembershipFactory(team=TeamFactory(name="Ventes")).user
        slack.emails["U9"] = outsider.email
        post = posted(marketer, slack_team)
        send(client, click(slack, post, "passerelle_ack", user="U9"))
        assert process_pending() == ["refused"]
        (answer,) = slack.called("/response/click")
        assert answer["text"] == "You are not in Conseillers clientèle: nothing was recorded."
        assert not post.campaign.events.filter(kind=CampaignEvent.Kind.ACKNOWLEDGED).exists()

    def test_the_endpoint_is_not_there_without_the_app(self, client, settings):
        settings.SLACK_BOT_TOKEN = ""
        assert client.post(reverse("chat:slack_interactivity")).status_code == 404


class TestModals:
    def test_not_ready_opens_a_form_and_its_answer_holds_the_campaign(
        self, client, slack, marketer, advisor, slack_team
    ):
        slack.emails["U1"] = advisor.email
        post = posted(marketer, slack_team)
        assert send(client, click(slack, post, "passerelle_not_ready")).status_code == 200
        (opened,) = slack.called("views.open")
        assert opened["trigger_id"] == "trigger-1"
        assert opened["view"]["callback_id"] == slack_app.MODAL_NOT_READY
        # An empty answer: Slack shows the error under the field, keeping the form.
        response = send(client, submission(post, slack_app.MODAL_NOT_READY, "  "))
        assert response.json()["response_action"] == "errors"
        assert not ChatAction.objects.filter(status=ChatAction.Status.PENDING).exists()
        send(client, submission(post, slack_app.MODAL_NOT_READY, "Pas de script"))
        assert process_pending() == ["done"]
        stakeholder = Stakeholder.objects.get(campaign=post.campaign)
        assert stakeholder.not_ready_reason == "Pas de script"
        (private,) = slack.called("chat.postEphemeral")
        assert private["user"] == "U1"
        assert private["channel"] == CHANNEL
        chat_posts_refresh(post.campaign_id)
        assert "⚠ Not ready: “Pas de script” (Alice Advisor" in last_update_text(slack)
        with pytest.raises(Exception, match="is not ready: Pas de script"):
            services.campaign_mark_done(actor=marketer, campaign_id=post.campaign_id)

    def test_a_question_lands_on_the_thread(self, client, slack, marketer, advisor, slack_team):
        slack.emails["U1"] = advisor.email
        post = posted(marketer, slack_team)
        send(client, submission(post, slack_app.MODAL_ASK, "Le code promo marche en boutique ?"))
        assert process_pending() == ["done"]
        question = Feedback.objects.get(campaign=post.campaign)
        assert question.tag == Feedback.Tag.QUESTION
        assert question.author == advisor
        assert question.via == "slack"  # the thread says where it came from


class TestInPlaceUpdates:
    def test_acknowledging_on_the_web_updates_the_chat_message(
        self, slack, marketer, advisor, slack_team
    ):
        post = posted(marketer, slack_team)
        services.campaign_acknowledge(actor=advisor, campaign_id=post.campaign_id)
        post.refresh_from_db()
        assert post.stale_since is not None
        assert chat_posts_refresh(post.campaign_id) == 1
        assert "✓ Acknowledged by Alice Advisor" in last_update_text(slack)
        post.refresh_from_db()
        assert post.stale_since is None

    def test_a_new_version_supersedes_the_message_and_drops_its_buttons(
        self, slack, marketer, slack_team
    ):
        post = posted(marketer, slack_team)
        campaign = post.campaign
        services.campaign_update(
            actor=marketer,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, body="Nouvelle offre : -30 %."),
        )
        deliver_chat(campaign)
        chat_posts_refresh(campaign.pk)
        blocks = slack.called("chat.update")[-1]["blocks"]
        assert "Superseded: version 2 was announced since" in json.dumps(blocks, ensure_ascii=False)
        assert all(block["type"] != "actions" for block in blocks)
        newest = ChatPost.objects.get(campaign=campaign, version=2)
        assert newest.message_ts != post.message_ts

    def test_slack_down_leaves_the_message_stale_for_the_sweep(
        self, settings, slack, marketer, advisor, slack_team
    ):
        post = posted(marketer, slack_team)
        settings.SLACK_API_URL = "http://127.0.0.1:9/api/"  # nothing listens there
        services.campaign_acknowledge(actor=advisor, campaign_id=post.campaign_id)
        assert chat_posts_refresh(post.campaign_id) == 0
        post.refresh_from_db()
        assert post.stale_since is not None
        assert "unreachable" in post.last_error
        ChatPost.objects.filter(pk=post.pk).update(stale_since=post.stale_since.replace(year=2020))
        assert chat_sweep() == 1


def test_snooze_from_the_messages_menu(client, slack, marketer, advisor, slack_team):
    slack.emails["U1"] = advisor.email
    post = posted(marketer, slack_team)
    payload = click(slack, post, "passerelle_snooze")
    value = payload["actions"][0]["value"]
    payload["actions"][0]["selected_option"] = {"value": f"tomorrow:{value}"}
    assert send(client, payload).status_code == 200
    assert process_pending() == ["done"]
    snooze = ReminderSnooze.objects.get(user=advisor, campaign=post.campaign)
    (answer,) = slack.called("/response/click")
    assert answer["text"].startswith("No reminder about this campaign until ")
    assert snooze.until <= Stakeholder.objects.get(campaign=post.campaign).due_at


def test_what_people_typed_cannot_ping_or_link_from_the_message(
    client, slack, marketer, advisor, slack_team
):
    post = posted(marketer, slack_team)
    services.stakeholder_not_ready(
        actor=advisor,
        campaign_id=post.campaign_id,
        team_id=slack_team.pk,
        reason="<!channel> @here voir <https://evil.example|Open in Passerelle>",
    )
    chat_posts_refresh(post.campaign_id)
    state = next(
        b
        for b in slack.called("chat.update")[-1]["blocks"]
        if b.get("block_id") == "passerelle_state"
    )["elements"][0]["text"]
    assert "⚠ Not ready:" in state
    assert "<!channel>" not in state
    assert "&lt;!channel&gt;" in state
    assert "@here" not in state  # a zero-width joiner stops the mention
    assert "https://evil" not in state


class TestFailures:
    def test_a_form_slack_cannot_open_sends_the_person_to_the_page(
        self, client, slack, marketer, advisor, slack_team
    ):
        post = posted(marketer, slack_team)
        slack.errors["views.open"] = (200, "expired_trigger_id")
        assert send(client, click(slack, post, "passerelle_not_ready")).status_code == 200
        assert process_pending() == ["done"]
        (answer,) = slack.called("/response/click")
        assert answer["text"] == (
            "Slack could not open the form. Answer on the campaign's page: "
            f"http://localhost:8000/campaigns/{post.campaign_id}/"
        )
        assert not Stakeholder.objects.get(campaign=post.campaign).not_ready_at

    @pytest.mark.parametrize(
        ("status", "error", "outcome"),
        [
            (200, "channel_not_found", "failed"),
            (200, "not_in_channel", "failed"),
            (429, "ratelimited", "retry"),
            (500, "internal_error", "retry"),
        ],
        ids=["channel-not-found", "not-in-channel", "rate-limited", "slack-down"],
    )
    def test_slack_refusing_the_post_fails_it_or_tries_again(
        self, slack, marketer, slack_team, status, error, outcome
    ):
        slack.errors["chat.postMessage"] = (status, error)
        campaign = announced_campaign(owner=marketer, teams=[slack_team])
        row = Notification.objects.get(campaign=campaign, channel=Channel.WEBHOOK)
        report = notification_services.notifications_deliver(notification_ids=[row.pk])
        assert getattr(report, outcome) == [row.pk]
        row.refresh_from_db()
        assert error in row.last_error
        assert not ChatPost.objects.exists()

    def test_an_action_whose_task_was_lost_is_done_by_the_sweep(
        self,
        client,
        slack,
        marketer,
        advisor,
        slack_team,
        monkeypatch,
        django_capture_on_commit_callbacks,
    ):
        slack.emails["U1"] = advisor.email
        post = posted(marketer, slack_team)
        # Redis is down: publishing after commit fails (and says so), the click is kept.
        monkeypatch.setattr("chat.views.publish_task", lambda *args: False)
        with django_capture_on_commit_callbacks(execute=True):
            assert send(client, click(slack, post, "passerelle_ack")).status_code == 200
        action = ChatAction.objects.get()
        assert action.status == ChatAction.Status.PENDING
        published = []

        def publish(name, *args):
            published.append((name, *args))
            return True

        monkeypatch.setattr("chat.services.publish_task", publish)
        assert chat_sweep() == 0  # too fresh: its task may still run
        ChatAction.objects.filter(pk=action.pk).update(
            received_at=timezone.now() - timedelta(minutes=1)
        )
        chat_sweep()
        assert ("chat.tasks.chat_action_process", action.pk) in published
        # The worker that picks it up does it once.
        assert chat_action_process(action.pk) == "done"
        assert post.campaign.events.filter(kind=CampaignEvent.Kind.ACKNOWLEDGED).count() == 1
