"""What Slack and Mattermost send when someone clicks a button or submits a form, and
the page where a chat user connects their account once.

The chat endpoints take no session and no CSRF token: Slack signs each request with the
app's signing secret (and a timestamp: five minutes at most), Mattermost relays the
token we signed into each button. A request that fails the check, or one received
before (a replay), is refused and records nothing.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaigns.models import Campaign
from chat import mattermost, slack
from chat.actions import ACK, ASK, FORM_UNAVAILABLE, NOT_READY, SNOOZE, Outcome, perform
from chat.identity import (
    ChatUser,
    chat_identity_link,
    connect_token_read,
    connect_url,
    person_for,
)
from chat.models import ChatAction, Platform
from chat.state import Target, state_text
from core.http import AuthenticatedHttpRequest
from notifications.publish import publish_task
from teams.models import Team

_SLACK_KINDS = {slack.ACK: ACK, slack.NOT_READY: NOT_READY, slack.ASK: ASK, slack.SNOOZE: SNOOZE}
_MODAL_KINDS = {slack.MODAL_NOT_READY: NOT_READY, slack.MODAL_ASK: ASK}


def _record(
    *, platform: str, fingerprint: str, kind: str, payload: dict[str, Any], pending: bool
) -> ChatAction | None:
    """Keep the request once; None when it was received before (a replay). A pending
    action is handed to a worker after commit."""
    try:
        with transaction.atomic():
            action = ChatAction.objects.create(
                platform=platform,
                fingerprint=fingerprint,
                kind=kind,
                payload=payload,
                status=ChatAction.Status.PENDING if pending else ChatAction.Status.DONE,
            )
            if pending:
                transaction.on_commit(
                    lambda: publish_task("chat.tasks.chat_action_process", action.pk)
                )
    except IntegrityError:
        return None
    return action


def _replayed() -> HttpResponse:
    return HttpResponse("This request was already received.", status=409)


def _text_error(text: str) -> str:
    if not text:
        return _("Write a few words: this is what the campaign's owner will read.")
    if "\x00" in text:
        return _("This text contains a character that cannot be stored.")
    if len(text) > slack.TEXT_MAX_LENGTH:
        return _("At most %(max)s characters.") % {"max": slack.TEXT_MAX_LENGTH}
    return ""


# --- Slack -----------------------------------------------------------------------------------


@csrf_exempt
@login_not_required
@require_POST
def slack_interactivity(request: HttpRequest) -> HttpResponse:
    """Slack's interactivity request URL: button clicks and modal submissions. Answers
    at once (Slack waits 3 s); the action itself is done by a worker."""
    if not slack.configured():
        raise Http404
    if not slack.request_verified(request.body, request.headers):
        return HttpResponse("Invalid Slack signature.", status=401)
    signed = (
        f"{request.headers['X-Slack-Request-Timestamp']}:{request.headers['X-Slack-Signature']}"
    )
    fingerprint = hashlib.sha256(signed.encode()).hexdigest()
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse("No payload.", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("No payload.", status=400)
    if payload.get("type") == "block_actions":
        return _slack_click(payload, fingerprint)
    if payload.get("type") == "view_submission":
        return _slack_submission(payload, fingerprint)
    return HttpResponse(status=200)  # a closed modal, a shortcut: nothing to do


def _who(payload: dict[str, Any]) -> dict[str, Any]:
    user = payload.get("user") or {}
    return {
        "user": {"id": str(user.get("id", "")), "team_id": str(user.get("team_id", ""))},
        "team": {"id": str((payload.get("team") or {}).get("id", ""))},
    }


def _slack_click(payload: dict[str, Any], fingerprint: str) -> HttpResponse:
    clicked = (payload.get("actions") or [{}])[0]
    kind = _SLACK_KINDS.get(clicked.get("action_id", ""))
    if kind is None:
        return HttpResponse(status=200)  # the "Open in Passerelle" link button
    value, text = str(clicked.get("value", "")), ""
    if kind == SNOOZE:
        # The overflow menu's option: "<choice>:<button value>".
        text, _sep, value = str((clicked.get("selected_option") or {}).get("value", "")).partition(
            ":"
        )
    values = slack.read_button_value(value)
    if values is None:
        return HttpResponse("Unknown button.", status=400)
    campaign_id, version, team_id = values
    target = {"campaign_id": campaign_id, "version": version, "team_id": team_id}
    channel = str((payload.get("channel") or {}).get("id", ""))
    common = {**_who(payload), "target": target, "channel": channel}
    if kind in (ACK, SNOOZE):
        recorded = _record(
            platform=Platform.SLACK,
            fingerprint=fingerprint,
            kind=kind,
            payload={**common, "response_url": str(payload.get("response_url", "")), "text": text},
            pending=True,
        )
        return HttpResponse(status=200) if recorded else _replayed()
    if (
        _record(
            platform=Platform.SLACK,
            fingerprint=fingerprint,
            kind="open",
            payload=common,
            pending=False,
        )
        is None
    ):
        return _replayed()
    team = Team.objects.filter(pk=team_id).first()
    title = Campaign.objects.filter(pk=campaign_id).values_list("title", flat=True).first() or ""
    with translation.override(team.language if team else None):
        opened = slack.open_modal(
            trigger_id=str(payload.get("trigger_id", "")),
            action=slack.NOT_READY if kind == NOT_READY else slack.ASK,
            metadata={"target": target, "channel": channel},
            title=title,
        )
    if not opened:
        # Slack did not open the form: a worker tells the person where to answer instead
        # (after this answer: Slack waits 3 s for it).
        _record(
            platform=Platform.SLACK,
            fingerprint=hashlib.sha256(f"{fingerprint}:unopened".encode()).hexdigest(),
            kind=FORM_UNAVAILABLE,
            payload={**common, "response_url": str(payload.get("response_url", ""))},
            pending=True,
        )
    return HttpResponse(status=200)


def _slack_submission(payload: dict[str, Any], fingerprint: str) -> HttpResponse:
    view = payload.get("view") or {}
    kind = _MODAL_KINDS.get(view.get("callback_id", ""))
    if kind is None:
        return HttpResponse(status=200)
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
        target = Target(**metadata["target"])
        field = view["state"]["values"][slack.TEXT_BLOCK][slack.TEXT_INPUT]
    except (ValueError, KeyError, TypeError):
        return HttpResponse("Unknown form.", status=400)
    text = str(field.get("value") or "").strip()
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(team.language if team else None):
        if error := _text_error(text):
            # Slack shows it under the field and keeps what was typed.
            return JsonResponse({"response_action": "errors", "errors": {slack.TEXT_BLOCK: error}})
    recorded = _record(
        platform=Platform.SLACK,
        fingerprint=fingerprint,
        kind=kind,
        payload={
            **_who(payload),
            "target": metadata["target"],
            "channel": str(metadata.get("channel", "")),
            "text": text,
        },
        pending=True,
    )
    return HttpResponse(status=200) if recorded else _replayed()


# --- Mattermost ------------------------------------------------------------------------------


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _mattermost_user(body: dict[str, Any]) -> ChatUser:
    name = str(body.get("user_name", ""))
    return ChatUser(
        Platform.MATTERMOST,
        str(body.get("team_id", "")),
        str(body.get("user_id", "")),
        label=f"@{name}" if name else "",
    )


@dataclass(frozen=True)
class _Answer:
    received: bool  # False: a replay, refused
    done: bool
    text: str


def _mattermost_act(
    body: dict[str, Any], *, target: Target, kind: str, text: str, fingerprint: str
) -> _Answer:
    """Record the request once, then do the action at once (Mattermost shows the answer
    and the updated post from this response)."""
    chat_user = _mattermost_user(body)
    recorded = _record(
        platform=Platform.MATTERMOST,
        fingerprint=fingerprint,
        kind=kind,
        payload={"user": chat_user.user_id, "target": target.__dict__, "text": text},
        pending=False,
    )
    if recorded is None:
        return _Answer(False, False, "")
    person = person_for(chat_user)
    if person is None:
        outcome = Outcome(
            False,
            _(
                "Passerelle does not know your Mattermost account yet: connect it once, "
                "then click again. %(url)s"
            )
            % {"url": connect_url(chat_user)},
        )
    else:
        outcome = perform(
            person=person, kind=kind, target=target, text=text, via=Platform.MATTERMOST
        )
    ChatAction.objects.filter(pk=recorded.pk).update(
        status=ChatAction.Status.DONE if outcome.done else ChatAction.Status.REFUSED,
        outcome=outcome.text,
    )
    return _Answer(True, outcome.done, outcome.text)


@csrf_exempt
@login_not_required
@require_POST
def mattermost_action(request: HttpRequest) -> HttpResponse:
    """A button of a Mattermost post. The context's token must carry our signature."""
    body = _json_body(request)
    claim = mattermost.action_token_read(((body or {}).get("context") or {}).get("token"))
    if body is None or claim is None:
        return HttpResponse("Invalid or expired button.", status=401)
    target, kind = claim
    # Mattermost gives each click its own trigger id: the same body twice is a replay.
    fingerprint = hashlib.sha256(request.body).hexdigest()
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(team.language if team else None):
        if kind in (NOT_READY, ASK):
            if (
                _record(
                    platform=Platform.MATTERMOST,
                    fingerprint=fingerprint,
                    kind="open",
                    payload={"user": str(body.get("user_id", "")), "target": target.__dict__},
                    pending=False,
                )
                is None
            ):
                return _replayed()
            title = (
                Campaign.objects.filter(pk=target.campaign_id)
                .values_list("title", flat=True)
                .first()
            )
            opened = team is not None and mattermost.open_dialog(
                webhook_url=team.webhook_url,
                trigger_id=str(body.get("trigger_id", "")),
                target=target,
                action=kind,
                title=title or "",
            )
            if opened:
                return JsonResponse({})
            return JsonResponse(
                {
                    "ephemeral_text": _("Answer on the campaign's page: %(url)s")
                    % {"url": f"{settings.PASSERELLE_BASE_URL}/campaigns/{target.campaign_id}/"}
                }
            )
        answer = _mattermost_act(body, target=target, kind=kind, text="", fingerprint=fingerprint)
        if not answer.received:
            return _replayed()
        return JsonResponse(
            {
                "ephemeral_text": answer.text,
                "update": {
                    "props": {
                        "attachments": [
                            mattermost.buttons_attachment(target=target, state=state_text(target))
                        ]
                    }
                },
            }
        )


@csrf_exempt
@login_not_required
@require_POST
def mattermost_dialog(request: HttpRequest) -> HttpResponse:
    """A Mattermost dialog's submission: its state is the token of the button that
    opened it."""
    body = _json_body(request)
    claim = mattermost.action_token_read((body or {}).get("state"))
    if body is None or claim is None:
        return HttpResponse("Invalid or expired form.", status=401)
    if body.get("cancelled"):
        return HttpResponse(status=200)
    target, kind = claim
    text = str((body.get("submission") or {}).get("text") or "").strip()
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(team.language if team else None):
        if error := _text_error(text):
            return JsonResponse({"errors": {"text": error}})  # the dialog stays open
        answer = _mattermost_act(
            body,
            target=target,
            kind=kind,
            text=text,
            fingerprint=hashlib.sha256(request.body).hexdigest(),
        )
    if not answer.received:
        return _replayed()
    # A dialog's answer cannot be private: a refusal shows in the dialog, a success
    # closes it.
    if not answer.done:
        return JsonResponse({"error": answer.text})
    return HttpResponse(status=200)


# --- connecting a chat account ---------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def connect(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """Connect the chat account named by the signed link to the signed-in person, once.
    GET asks, POST connects (a link alone changes nothing)."""
    chat_user = connect_token_read(token)
    if chat_user is None:
        return render(request, "chat/connect.html", {"invalid": True}, status=400)
    known = person_for(chat_user)
    if request.method == "POST" and known is None:
        chat_identity_link(chat_user=chat_user, person=request.user)
        messages.success(
            request,
            _("Your %(platform)s account is connected. Click the button in the chat again.")
            % {"platform": Platform(chat_user.platform).label},
        )
        return redirect("notifications:inbox")
    return render(
        request,
        "chat/connect.html",
        {
            "invalid": False,
            "platform": Platform(chat_user.platform).label,
            "account": chat_user.label or chat_user.user_id,
            "known": known,
            "mine": known is not None and known.pk == request.user.pk,
        },
    )
