"""What people type reaches Slack, Mattermost and Teams as text: no mention, no link, no
image, no formatting of their own; only the app's "Open in Passerelle" link is a link."""

import json
import re

import pytest

from notifications.channels import webhook_payload
from notifications.chat_text import ZERO_WIDTH_JOINER, markdown_text, slack_text
from notifications.models import Channel, Notification
from teams.models import Team
from tests.factories import make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

ZWJ = ZERO_WIDTH_JOINER

# From the security review: each of these did something in a channel.
SLACK_ATTACKS = [
    "<!channel>",
    "<!here>",
    "<@U024BE7LH>",
    "<https://evil.example|Open in Passerelle>",
]
MARKDOWN_ATTACKS = [
    "@all",
    "@channel",
    "@here",
    "@marie.dupont",
    "[Open in Passerelle](https://evil.example)",
    "![pixel](https://evil.example/p.gif)",
    "https://evil.example/login",
    "www.evil.example",
    "**bold** _it_ `code` # heading > quote",
    "<img src=x> &#64;all",
]


@pytest.mark.parametrize("attack", SLACK_ATTACKS)
def test_slack_text_has_no_angle_bracket_markup(attack):
    escaped = slack_text(attack)
    assert "<" not in escaped
    assert ">" not in escaped
    assert escaped.startswith("&lt;")


def test_slack_text_escapes_ampersands_first_and_defangs_bare_links_and_mentions():
    assert slack_text("A & B <x>") == "A &amp; B &lt;x&gt;"
    assert slack_text("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"
    assert slack_text("see https://evil.example") == f"see https://{ZWJ}evil.example"
    assert slack_text("@here") == f"@{ZWJ}here"


@pytest.mark.parametrize("attack", MARKDOWN_ATTACKS)
def test_markdown_text_leaves_no_link_image_mention_or_markup(attack):
    escaped = markdown_text(attack)
    assert not re.search(r"@\w", escaped)  # every @ is followed by the joiner
    assert not re.search(r"(?<!\\)[\[\]()<>*_`#!&]", escaped)  # all escaped
    assert "://" not in escaped or f"://{ZWJ}" in escaped
    assert not re.search(r"(?i)www\.", escaped)
    # What a reader sees once the escapes are read is what was typed.
    assert re.sub(r"\\(.)", r"\1", escaped).replace(ZWJ, "") == attack


def test_markdown_text_keeps_a_title_on_one_line():
    assert markdown_text("Soldes\n# d'hiver\r\n- 20 %") == "Soldes \\# d'hiver - 20 %"


# --- in the payloads ------------------------------------------------------------------


@pytest.fixture
def hostile_notification(db):
    def make(webhook_format: str) -> Notification:
        team, _members = team_with_members(
            1, webhook_url="https://chat.example.com/hook", webhook_format=webhook_format
        )
        campaign = announce(
            campaign_for(
                owner=make_marketer(full_name="@all <!here>"),
                teams=[team],
                title="<!channel> [Open in Passerelle](https://evil.example) @here",
                summary="![p](https://evil.example/p.gif) <https://evil.example|Open>",
                audience="www.evil.example <@U024BE7LH>",
            )
        )
        return Notification.objects.select_related("team").get(
            campaign=campaign, channel=Channel.WEBHOOK
        )

    return make


def test_slack_payload_escapes_user_text_and_turns_off_unfurling(hostile_notification):
    notification = hostile_notification(Team.WebhookFormat.SLACK)
    payload = webhook_payload(notification, webhook_format="slack")
    assert payload["unfurl_links"] is False
    assert payload["unfurl_media"] is False
    mrkdwn = [payload["text"]] + [
        block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"
    ]
    for text in mrkdwn:
        assert "<" not in text
        assert ">" not in text
        assert "https://evil" not in text
        assert "www.evil" not in text
    assert "&lt;!channel&gt;" in payload["text"]
    assert f"&lt;@{ZWJ}U024BE7LH&gt;" in mrkdwn[2]
    # The header is plain text (never parsed): shown as typed.
    assert payload["blocks"][0]["text"]["text"].startswith("New campaign: <!channel>")
    button = payload["blocks"][3]["elements"][0]
    assert button["url"] == f"http://localhost:8000/campaigns/{notification.campaign_id}/"


def test_mattermost_payload_escapes_user_text_and_keeps_the_apps_link(hostile_notification):
    notification = hostile_notification(Team.WebhookFormat.MATTERMOST)
    text = webhook_payload(notification, webhook_format="mattermost")["text"]
    own_link = f"[Open in Passerelle](http://localhost:8000/campaigns/{notification.campaign_id}/)"
    assert text.endswith("\n\n" + own_link)
    user_part = text.removesuffix(own_link)
    assert not re.search(r"@\w", user_part)
    assert not re.search(r"(?<!\\)[\[\]<>!]", user_part)
    assert "https://evil" not in user_part
    assert "www.evil" not in user_part
    assert "**Contact:** @\u200dall \\<\\!here\\>" in user_part  # app bold, user text inert


def test_teams_payload_escapes_user_text_and_keeps_the_apps_action(hostile_notification):
    notification = hostile_notification(Team.WebhookFormat.MSTEAMS)
    card = webhook_payload(notification, webhook_format="msteams")["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"] if block["type"] == "TextBlock"]
    texts += [fact["value"] for fact in card["body"][3]["facts"]]
    for text in texts:
        assert not re.search(r"@\w", text)
        assert not re.search(r"(?<!\\)[\[\]<>!]", text)
        assert "https://evil" not in text
        assert "www.evil" not in text
    assert card["actions"][-1]["url"] == (
        f"http://localhost:8000/campaigns/{notification.campaign_id}/"
    )
    assert "evil" not in json.dumps(card["actions"])


@pytest.mark.parametrize("escape", [slack_text, markdown_text])
def test_bidi_controls_never_reach_a_channel(escape):
    # A row older than the name rules may still hold one; it would reverse the message.
    assert "\u202e" not in escape("Alice\u202e Martin")
    assert "Martin" in escape("Alice\u202e Martin")
