"""Mattermost's interactive message buttons, on incoming-webhook posts or on posts of the
Passerelle bot (MATTERMOST_URL and MATTERMOST_BOT_TOKEN), which it updates in place.

Each button's context carries a token signed with SECRET_KEY (campaign, version, team,
action): Mattermost relays it as is when someone clicks, so the click is ours only if
the signature holds. Who clicked is the `user_id` Mattermost's server puts in the
request, not anything a client sends: Mattermost keeps an action's integration (URL and
context) on the server and strips it from what clients receive, so the token is a
secret between that server and Passerelle (CVE-2026-19621 was a leak of exactly this:
run a Mattermost release that fixes it, 11.10.1 or later).

"Not ready…" and "Ask a question…" open an interactive dialog (Mattermost's
/api/v4/actions/dialogs/open on the server the webhook belongs to); the click's answer
updates the post in place.
"""

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from chat.actions import ACK, ASK, NOT_READY
from chat.models import ChatPost, Platform
from chat.state import Target, state_lines
from notifications.channels import DeliveryError, post_json, send_json, webhook_payload
from notifications.chat_text import chat_escape
from notifications.models import FailureReason, Kind, Notification
from teams.models import Team

logger = logging.getLogger(__name__)

_SALT = "chat.mattermost"
# Mattermost wants plain alphanumeric button ids.
_BUTTON_IDS = {ACK: "ack", NOT_READY: "notready", ASK: "ask"}


def action_token(*, target: Target, action: str) -> str:
    return signing.dumps(
        {"c": target.campaign_id, "v": target.version, "t": target.team_id, "a": action},
        salt=_SALT,
        compress=True,
    )


def action_token_read(token: object) -> tuple[Target, str] | None:
    if not isinstance(token, str):
        return None
    try:
        data = signing.loads(
            token, salt=_SALT, max_age=settings.CHAT_ACTION_MAX_AGE_DAYS * 24 * 3600
        )
        target = Target(campaign_id=int(data["c"]), version=int(data["v"]), team_id=int(data["t"]))
        action = str(data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return (target, action) if action in _BUTTON_IDS else None


def _endpoint(name: str) -> str:
    return settings.PASSERELLE_BASE_URL + reverse(name)


def buttons_attachment(*, target: Target, state: str = "") -> dict[str, Any]:
    """The attachment under the post's text: its state now, and the three buttons."""
    labels = {ACK: _("Acknowledge"), NOT_READY: _("Not ready…"), ASK: _("Ask a question…")}
    return {
        "text": state,
        "actions": [
            {
                "id": _BUTTON_IDS[action],
                "name": labels[action],
                "style": "primary" if action == ACK else "default",
                "integration": {
                    "url": _endpoint("chat:mattermost_action"),
                    "context": {"token": action_token(target=target, action=action)},
                },
            }
            for action in (ACK, NOT_READY, ASK)
        ],
    }


def open_dialog(
    *, webhook_url: str, trigger_id: str, target: Target, action: str, title: str
) -> bool:
    """The dialog for "Not ready…" or "Ask a question…", on the Mattermost server the
    team's webhook belongs to (the trigger id is good for a few seconds)."""
    parts = urlsplit(webhook_url)
    not_ready = action == NOT_READY
    body = {
        "trigger_id": trigger_id,
        "url": _endpoint("chat:mattermost_dialog"),
        "dialog": {
            "callback_id": action,
            "title": (_("Not ready") if not_ready else _("Ask a question"))[:24],
            "introduction_text": title[:1000],
            "state": action_token(target=target, action=action),
            "submit_label": _("Send"),
            "elements": [
                {
                    "display_name": _("What does your team need before it can face customers?")
                    if not_ready
                    else _("Your question for the campaign's owner"),
                    "name": "text",
                    "type": "textarea",
                    "max_length": 2000,
                }
            ],
        },
    }
    url = f"{parts.scheme}://{parts.netloc}/api/v4/actions/dialogs/open"
    try:
        status = post_json(url, json.dumps(body).encode())
    except DeliveryError:
        status = 0
    if not 200 <= status < 300:
        # The click is answered either way; the web page offers the same form.
        logger.warning("Mattermost dialogs/open failed (HTTP %s)", status)
        return False
    return True


# --- the Mattermost bot: posts it can update in place --------------------------------------

# What starts a new post with buttons; anything else goes in its thread.
_NEW_POST_KINDS = frozenset({Kind.ANNOUNCED, Kind.CHANGED})


def _api(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """One call to the Mattermost server's REST API as the bot (the operator configured
    the address: it may be on the private network)."""
    status, data = send_json(
        f"{settings.MATTERMOST_URL}/api/v4{path}",
        json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {settings.MATTERMOST_BOT_TOKEN}"},
        read=1_000_000,
        trusted=True,
    )
    if status >= 300:
        transient = status >= 500 or status in {408, 429}
        raise DeliveryError(
            f"Mattermost answered HTTP {status}",
            transient=transient,
            reason="" if transient else FailureReason.WEBHOOK_REFUSED,
        )
    try:
        answer = json.loads(data or b"{}")
    except ValueError as exc:
        raise DeliveryError("Mattermost's answer is not JSON", transient=True) from exc
    return answer if isinstance(answer, dict) else {}


def post_notification(notification: Notification) -> None:
    """Post one outbox row to the team's Mattermost channel as the bot. An announcement or
    a new version is kept (ChatPost) to be updated in place; anything else goes in the
    thread of its announcement."""
    team = notification.team
    assert team is not None
    payload = webhook_payload(notification, webhook_format="mattermost")
    post: dict[str, Any] = {"channel_id": team.mattermost_channel_id, "message": payload["text"]}
    if notification.kind in _NEW_POST_KINDS:
        post["props"] = {"attachments": payload.get("attachments", [])}
        created = _api("POST", "/posts", post)
        ChatPost.objects.get_or_create(
            platform=Platform.MATTERMOST,
            channel_id=team.mattermost_channel_id,
            message_ts=str(created.get("id", "")),
            defaults={
                "campaign_id": notification.campaign_id,
                "team_id": team.pk,
                "version": notification.campaign_version,
                "text": payload["text"],
            },
        )
        return
    announcement = (
        ChatPost.objects.filter(
            platform=Platform.MATTERMOST, campaign_id=notification.campaign_id, team_id=team.pk
        )
        .order_by("-version", "-posted_at")
        .first()
    )
    if announcement is not None:
        post["root_id"] = announcement.message_ts
    _api("POST", "/posts", post)


def update_post(post: ChatPost) -> None:
    """Replace the post's attachment with the state now (and the buttons while they
    work): PUT /api/v4/posts/{id}/patch."""
    target = Target(post.campaign_id, post.version, post.team_id)
    team = Team.objects.get(pk=post.team_id)
    with translation.override(team.language):
        lines, actionable = state_lines(
            campaign_id=post.campaign_id,
            version=post.version,
            team_id=post.team_id,
            escape=chat_escape("mattermost"),
        )
        state = "\n".join(lines)
        attachment = (
            buttons_attachment(target=target, state=state) if actionable else {"text": state}
        )
    _api("PUT", f"/posts/{post.message_ts}/patch", {"props": {"attachments": [attachment]}})
