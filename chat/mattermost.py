"""Mattermost's interactive message buttons on incoming-webhook posts.

Each button's context carries a token signed with SECRET_KEY (campaign, version, team,
action): Mattermost relays it as is when someone clicks, so the click is ours only if
the signature holds. "Not ready…" and "Ask a question…" open an interactive dialog
(Mattermost's /api/v4/actions/dialogs/open on the server the webhook belongs to); the
click's answer updates the post in place.
"""

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from chat.actions import ACK, ASK, NOT_READY
from chat.state import Target
from notifications.channels import DeliveryError, post_json

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
