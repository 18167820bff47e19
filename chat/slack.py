"""The Slack app: announcements posted with buttons by a bot, kept up to date in place,
and the clicks and forms Slack sends back (README "Two-way chat", chat/slack_manifest.yml).

Network calls go through slack_sdk's WebClient with a timeout, outside any database
transaction. A failed call says whether trying again could help (DeliveryError).
"""

import json
import logging
import urllib.error
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from chat.models import ChatPost, Platform
from chat.state import state_lines
from notifications.channels import DeliveryError, webhook_payload
from notifications.chat_text import slack_text
from notifications.messages import campaign_url
from notifications.models import FailureReason, Kind, Notification

logger = logging.getLogger(__name__)

ACK = "passerelle_ack"
NOT_READY = "passerelle_not_ready"
ASK = "passerelle_ask"
SNOOZE = "passerelle_snooze"
ACTIONS = (ACK, NOT_READY, ASK, SNOOZE)
# What starts a new message with buttons; anything else goes in its thread.
_NEW_POST_KINDS = frozenset({Kind.ANNOUNCED, Kind.CHANGED})
# The modals' callback ids (view_submission) and their one text input.
MODAL_NOT_READY = "passerelle_not_ready_modal"
MODAL_ASK = "passerelle_ask_modal"
TEXT_BLOCK = "text_block"
TEXT_INPUT = "text"
TEXT_MAX_LENGTH = 2000

# Slack's errors worth trying again later; any other is the app's configuration (a
# revoked token, a channel the bot was removed from) and fails the message for good.
_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN and settings.SLACK_SIGNING_SECRET)


# Slack waits 3 s for the interactivity endpoint's answer, which opens a modal first.
MODAL_TIMEOUT_SECONDS = 2


def _client(*, timeout: int | None = None) -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_URL,
        timeout=timeout or settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS,
    )


def request_verified(body: bytes, headers: Mapping[str, str]) -> bool:
    """Slack's signature of the raw body with the app's signing secret, and a timestamp
    at most five minutes off (slack_sdk's recipe): anything else did not come from
    Slack, or is an old request replayed."""
    return SignatureVerifier(settings.SLACK_SIGNING_SECRET).is_valid(
        body=body,
        timestamp=headers.get("X-Slack-Request-Timestamp"),
        signature=headers.get("X-Slack-Signature"),
    )


def _delivery_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", ""))
        status = exc.response.status_code
        transient = error in _TRANSIENT_ERRORS or status >= 500 or status == 429
        return DeliveryError(
            f"Slack answered {status} {error}",
            transient=transient,
            reason="" if transient else FailureReason.WEBHOOK_REFUSED,
        )
    return DeliveryError(f"Slack unreachable: {type(exc).__name__}: {exc}", transient=True)


_NETWORK_ERRORS = (SlackApiError, SlackRequestError, urllib.error.URLError, TimeoutError, OSError)


# --- what a message shows --------------------------------------------------------------


def button_value(*, campaign_id: int, version: int, team_id: int) -> str:
    return json.dumps({"c": campaign_id, "v": version, "t": team_id}, separators=(",", ":"))


def read_button_value(value: str) -> tuple[int, int, int] | None:
    try:
        data = json.loads(value)
        return int(data["c"]), int(data["v"]), int(data["t"])
    except (ValueError, TypeError, KeyError):
        return None


def _buttons(*, campaign_id: int, version: int, team_id: int, url: str) -> dict[str, Any]:
    value = button_value(campaign_id=campaign_id, version=version, team_id=team_id)
    return {
        "type": "actions",
        "block_id": "passerelle_actions",
        "elements": [
            {
                "type": "button",
                "action_id": ACK,
                "style": "primary",
                "text": {"type": "plain_text", "text": _("Acknowledge")},
                "value": value,
            },
            {
                "type": "button",
                "action_id": NOT_READY,
                "text": {"type": "plain_text", "text": _("Not ready…")},
                "value": value,
            },
            {
                "type": "button",
                "action_id": ASK,
                "text": {"type": "plain_text", "text": _("Ask a question…")},
                "value": value,
            },
            {
                "type": "overflow",
                "action_id": SNOOZE,
                "options": [
                    {
                        "text": {"type": "plain_text", "text": _("Remind me in 2 working hours")},
                        "value": f"2h:{value}",
                    },
                    {
                        "text": {"type": "plain_text", "text": _("Remind me next working day")},
                        "value": f"tomorrow:{value}",
                    },
                ],
            },
            {
                "type": "button",
                "action_id": "passerelle_open",
                "text": {"type": "plain_text", "text": _("Open in Passerelle")},
                "url": url,
            },
        ],
    }


def message_blocks(post: ChatPost) -> list[dict[str, Any]]:
    """The announcement as posted, then its state now, then the buttons while they work."""
    from teams.models import Team

    team = Team.objects.get(pk=post.team_id)
    with translation.override(team.language):
        lines, actionable = state_lines(
            campaign_id=post.campaign_id,
            version=post.version,
            team_id=post.team_id,
            escape=slack_text,
        )
        blocks = list(post.blocks)
        if lines:
            blocks.append(
                {
                    "type": "context",
                    "block_id": "passerelle_state",
                    "elements": [{"type": "mrkdwn", "text": "\n".join(lines)}],
                }
            )
        if actionable:
            blocks.append(
                _buttons(
                    campaign_id=post.campaign_id,
                    version=post.version,
                    team_id=post.team_id,
                    url=f"{settings.PASSERELLE_BASE_URL}/campaigns/{post.campaign_id}/",
                )
            )
    return blocks


# --- posting and updating ---------------------------------------------------------------


def post_notification(notification: Notification) -> None:
    """Post one outbox row to its team's Slack channel. An announcement or a new version
    gets the buttons and is kept (ChatPost) to be updated in place; anything else about
    the campaign (a reminder, a reply, "done") goes in the thread of its announcement."""
    team = notification.team
    assert team is not None
    payload = webhook_payload(notification, webhook_format="slack")
    # Our own buttons replace the plain "Open" link of incoming webhooks.
    blocks = [b for b in payload["blocks"] if b.get("type") != "actions"]
    client = _client()
    channel = team.slack_channel_id
    try:
        if notification.kind in _NEW_POST_KINDS:
            with translation.override(team.language):
                buttons = _buttons(
                    campaign_id=notification.campaign_id,
                    version=notification.campaign_version,
                    team_id=team.pk,
                    url=campaign_url(notification),
                )
            first = [*blocks, buttons]
            response = client.chat_postMessage(
                channel=channel,
                text=payload["text"],
                blocks=first,
                unfurl_links=False,
                unfurl_media=False,
            )
            ChatPost.objects.get_or_create(
                platform=Platform.SLACK,
                channel_id=str(response["channel"]),
                message_ts=str(response["ts"]),
                defaults={
                    "campaign_id": notification.campaign_id,
                    "team_id": team.pk,
                    "version": notification.campaign_version,
                    "blocks": blocks,
                    "text": payload["text"],
                },
            )
            return
        announcement = (
            ChatPost.objects.filter(
                platform=Platform.SLACK, campaign_id=notification.campaign_id, team_id=team.pk
            )
            .order_by("-version", "-posted_at")
            .first()
        )
        client.chat_postMessage(
            channel=announcement.channel_id if announcement else channel,
            thread_ts=announcement.message_ts if announcement else None,
            text=payload["text"],
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except _NETWORK_ERRORS as exc:
        raise _delivery_error(exc) from exc


def update_post(post: ChatPost) -> None:
    """Replace the message's content with what it shows now (chat.update)."""
    try:
        _client().chat_update(
            channel=post.channel_id,
            ts=post.message_ts,
            text=post.text,
            blocks=message_blocks(post),
        )
    except _NETWORK_ERRORS as exc:
        raise _delivery_error(exc) from exc


def user_profile(*, user_id: str) -> tuple[str, str]:
    """The address Slack holds for the user (users.info; the app's users:read.email
    scope), which the workspace verified, and their name; "" for what Slack does not
    say."""
    try:
        response = _client().users_info(user=user_id)
    except _NETWORK_ERRORS:
        logger.warning("Slack users.info failed for %s", user_id, exc_info=True)
        return "", ""
    user = response.get("user") or {}
    profile = user.get("profile") or {}
    name = profile.get("real_name") or user.get("real_name") or user.get("name") or ""
    return str(profile.get("email") or ""), str(name)


def tell_privately(*, response_url: str = "", channel: str = "", user: str = "", text: str) -> None:
    """An answer only the person who clicked sees: through the click's response_url, or
    chat.postEphemeral for a modal's submission. Best effort: the action itself is done
    or refused whatever happens to this message."""
    try:
        if response_url:
            WebhookClient(
                response_url, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS
            ).send(text=text, response_type="ephemeral", replace_original=False)
        elif channel and user:
            _client().chat_postEphemeral(channel=channel, user=user, text=text)
    except _NETWORK_ERRORS:
        logger.warning("could not answer the Slack user privately", exc_info=True)


def open_modal(*, trigger_id: str, action: str, metadata: dict[str, Any], title: str) -> bool:
    """The form for "Not ready…" or "Ask a question…" (views.open), opened while the
    click's trigger id is valid (3 s): called from the request itself."""
    not_ready = action == NOT_READY
    view = {
        "type": "modal",
        "callback_id": MODAL_NOT_READY if not_ready else MODAL_ASK,
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "title": {
            "type": "plain_text",
            "text": (_("Not ready") if not_ready else _("Ask a question"))[:24],
        },
        "submit": {"type": "plain_text", "text": _("Send")},
        "close": {"type": "plain_text", "text": _("Cancel")},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "plain_text", "text": title[:3000]},
            },
            {
                "type": "input",
                "block_id": TEXT_BLOCK,
                "label": {
                    "type": "plain_text",
                    "text": _("What does your team need before it can face customers?")
                    if not_ready
                    else _("Your question for the campaign's owner"),
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": TEXT_INPUT,
                    "multiline": True,
                    "max_length": TEXT_MAX_LENGTH,
                },
            },
        ],
    }
    try:
        _client(timeout=MODAL_TIMEOUT_SECONDS).views_open(trigger_id=trigger_id, view=view)
    except _NETWORK_ERRORS:
        logger.warning("Slack views.open failed", exc_info=True)
        return False
    return True
