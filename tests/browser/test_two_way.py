"""The two-way journey in a real browser, with a fake Slack on loopback: a campaign is
announced to a team's Slack channel; the team answers "Not ready" from Slack; the owner
sees it on the page, cannot mark the campaign as done, and answers; the team acknowledges
from Slack; the Slack message shows it; the owner marks the campaign as done."""

import json
import urllib.request

import pytest
from django.urls import reverse

from campaigns.models import Stakeholder
from chat import slack as slack_app
from chat.models import ChatAction, ChatPost
from chat.tasks import chat_action_process, chat_posts_refresh
from notifications import services as notification_services
from notifications.models import Channel, Notification
from tests.browser.test_accessibility import violations
from tests.chat import fake_slack
from tests.chat.conftest import SIGNING_SECRET, signed_request
from tests.factories import DEFAULT_PASSWORD, make_marketer, team_with_members
from tests.support.browser import log_in, shot
from tests.support.servers import announce, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_slack_api(settings):
    fake = fake_slack.start()
    settings.SLACK_BOT_TOKEN = "xoxb-test"
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    settings.SLACK_API_URL = fake.api_url
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _from_slack(live_server, payload: dict) -> int:
    """What Slack sends when someone clicks or submits a form: a signed POST."""
    body, headers = signed_request(payload)
    request = urllib.request.Request(
        live_server.url + reverse("chat:slack_interactivity"),
        data=body.encode(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def _worker() -> None:
    """What the Celery worker does after commit: chat actions, then message updates."""
    for pk in ChatAction.objects.filter(status=ChatAction.Status.PENDING).values_list(
        "pk", flat=True
    ):
        chat_action_process(pk)
    for campaign_id in ChatPost.objects.filter(stale_since__isnull=False).values_list(
        "campaign_id", flat=True
    ):
        chat_posts_refresh(campaign_id)


def test_not_ready_from_slack_holds_the_campaign_until_answered_and_acknowledged(
    browser_page, live_server, fake_slack_api
):
    from playwright.sync_api import expect

    marketer = make_marketer(full_name="Marie Marketing")
    team, (advisor,) = team_with_members(
        1, name="Conseillers clientèle", slack_channel_id="C0123ABCD"
    )
    fake_slack_api.emails["U42"] = advisor.email
    campaign = announce(campaign_for(owner=marketer, teams=[team], title="Vœux 2027"))
    rows = Notification.objects.filter(campaign=campaign, channel=Channel.WEBHOOK)
    notification_services.notifications_deliver(notification_ids=[r.pk for r in rows])
    post = ChatPost.objects.get(campaign=campaign)
    value = slack_app.button_value(campaign_id=campaign.pk, version=1, team_id=team.pk)
    who = {"user": {"id": "U42", "team_id": "T1"}, "team": {"id": "T1"}}

    # In Slack: "Not ready…", then the form's answer.
    assert (
        _from_slack(
            live_server,
            {
                **who,
                "type": "block_actions",
                "trigger_id": "trigger-1",
                "response_url": fake_slack_api.response_url(),
                "channel": {"id": "C0123ABCD"},
                "actions": [{"action_id": slack_app.NOT_READY, "value": value}],
            },
        )
        == 200
    )
    (modal,) = fake_slack_api.called("views.open")
    metadata = modal["view"]["private_metadata"]
    submitted = {
        **who,
        "type": "view_submission",
        "view": {
            "callback_id": slack_app.MODAL_NOT_READY,
            "private_metadata": metadata,
            "state": {
                "values": {
                    slack_app.TEXT_BLOCK: {
                        slack_app.TEXT_INPUT: {"value": "Le script des conseillers manque"}
                    }
                }
            },
        },
    }
    assert _from_slack(live_server, submitted) == 200
    _worker()
    shown = json.dumps(fake_slack_api.called("chat.update")[-1]["blocks"], ensure_ascii=False)
    assert "⚠ Not ready: “Le script des conseillers manque”" in shown

    # On the page: the owner sees why, cannot close it, and answers.
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(live_server.url + reverse("campaigns:detail", args=[campaign.pk]))
    stakeholder_row = page.locator(f"#stakeholder-{Stakeholder.objects.get().pk}")
    expect(stakeholder_row).to_contain_text("Not ready")
    expect(stakeholder_row).to_contain_text("Le script des conseillers manque")
    expect(page.get_by_role("button", name="Mark as done")).to_be_disabled()
    expect(page.locator("#done-reason")).to_have_text(
        "Conseillers clientèle is not ready: Le script des conseillers manque"
    )
    assert not violations(page)
    shot(page, "not-ready-owner-page")
    page.get_by_label("Your answer to Conseillers clientèle").fill(
        "Le script est dans l'intranet, rubrique Vœux."
    )
    page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_role("status").first).to_contain_text("Your reply was sent to the team.")
    expect(stakeholder_row).to_contain_text("Le script est dans l'intranet")
    _worker()
    shown = json.dumps(fake_slack_api.called("chat.update")[-1]["blocks"], ensure_ascii=False)
    assert "↳ Marie Marketing replied: Le script est dans l'intranet" in shown

    # In Slack: the team acknowledges; the message says so, in place.
    clicked = {
        **who,
        "type": "block_actions",
        "trigger_id": "trigger-2",
        "response_url": fake_slack_api.response_url(),
        "channel": {"id": "C0123ABCD"},
        "actions": [{"action_id": slack_app.ACK, "value": value}],
    }
    assert _from_slack(live_server, clicked) == 200
    _worker()
    update = fake_slack_api.called("chat.update")[-1]
    assert update["ts"] == post.message_ts
    assert "✓ Acknowledged by" in json.dumps(update["blocks"], ensure_ascii=False)

    # Back on the page: the hold is lifted, the owner marks it as done.
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("via Slack")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.locator(".status-badge, .pill").first).to_be_visible()
    campaign.refresh_from_db()
    assert campaign.status == "done"
    shot(page, "not-ready-then-done")
