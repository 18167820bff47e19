"""What a click or a form received from chat does: the campaign's own services, as the
person the chat user is, for the team the message was posted to.

A chat user Passerelle does not know is answered privately with a link to connect their
account; someone who is not in the message's team is refused privately; neither records
anything. Every action lands on the campaign's timeline with the channel it came from.
"""

import logging
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import services as campaigns
from campaigns.models import Feedback
from chat import slack
from chat.identity import ChatUser, chat_identity_link, connect_url, person_by_email, person_for
from chat.models import ChatAction, Platform
from chat.state import Target
from core.errors import AccessError, DomainError
from core.when import datetime_short
from teams.models import Team
from teams.roles import Actor

logger = logging.getLogger(__name__)

ACK, NOT_READY, ASK, SNOOZE = "ack", "not_ready", "ask", "snooze"
# Slack could not open the form of "Not ready…" or "Ask…": the person is sent the page.
FORM_UNAVAILABLE = "form_unavailable"


@dataclass(frozen=True)
class Outcome:
    done: bool
    text: str  # what the person is told, privately


def _language(person: User, team: Team | None) -> str:
    return person.language or (team.language if team else translation.get_language())


def perform(*, person: User, kind: str, target: Target, text: str, via: str) -> Outcome:
    """Do one chat action as `person`. The services enforce the rule book; their
    refusal is the private answer."""
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(_language(person, team)):
        if team is None or team.pk not in Actor.of(person).team_ids:
            return Outcome(
                False,
                _("You are not in %(team)s: nothing was recorded.")
                % {"team": team.name if team else _("this team")},
            )
        try:
            if kind == ACK:
                result = campaigns.campaign_acknowledge(
                    actor=person,
                    campaign_id=target.campaign_id,
                    version=target.version,
                    team_id=target.team_id,
                    via=via,
                )
                return Outcome(True, result.message())
            if kind == NOT_READY:
                campaigns.stakeholder_not_ready(
                    actor=person,
                    campaign_id=target.campaign_id,
                    team_id=target.team_id,
                    reason=text,
                    via=via,
                )
                return Outcome(
                    True,
                    _("Marketing was told %(team)s is not ready. The campaign stays open.")
                    % {"team": team.name},
                )
            if kind == SNOOZE:
                snoozed = campaigns.reminders_snooze(
                    actor=person, campaign_id=target.campaign_id, choice=text
                )
                return Outcome(
                    True,
                    _("No reminder about this campaign until %(when)s.")
                    % {"when": datetime_short(snoozed.until, tz=person.tzinfo)},
                )
            if kind == ASK:
                campaigns.feedback_post(
                    actor=person,
                    campaign_id=target.campaign_id,
                    tag=Feedback.Tag.QUESTION,
                    body=text,
                    via=via,
                )
                return Outcome(True, _("Your question was posted on the campaign's thread."))
        except (DomainError, AccessError) as error:
            return Outcome(False, error.message)
    raise ValueError(kind)


# --- Slack: done by a worker, after the endpoint answered -----------------------------------


def _slack_chat_user(payload: dict[str, Any]) -> ChatUser:
    user = payload.get("user") or {}
    workspace = (payload.get("team") or {}).get("id") or user.get("team_id") or ""
    return ChatUser(Platform.SLACK, str(workspace), str(user.get("id", "")))


def _slack_person(chat_user: ChatUser) -> tuple[User | None, ChatUser]:
    """The person, and the chat user with what Slack says of them (for a connect link)."""
    person = person_for(chat_user)
    if person is not None:
        return person, chat_user
    # Slack's address for the user is the one its workspace verified.
    email, name = slack.user_profile(user_id=chat_user.user_id)
    person = person_by_email(email)
    if person is not None:
        chat_identity_link(chat_user=chat_user, person=person)
    label = f"{name} <{email}>" if name and email else name or email
    return person, replace(chat_user, label=label)


def slack_action_process(*, action_id: int) -> str:
    """Carry out one Slack action received by the endpoint. Idempotent: the pending row
    is locked and moved to done or refused in the transaction of the action itself, so
    a task run twice does it once; network calls (who the user is, the private answer)
    happen outside it. Returns the row's final status."""
    action = ChatAction.objects.filter(pk=action_id).first()
    if action is None or action.status != ChatAction.Status.PENDING:
        return action.status if action else "missing"
    payload = action.payload
    if action.kind == FORM_UNAVAILABLE:
        return _send_to_the_page(action)
    person, chat_user = _slack_person(_slack_chat_user(payload))
    target = Target(**payload["target"])
    if person is None:
        outcome = Outcome(
            False,
            _(
                "Passerelle does not know your Slack account yet: connect it once, then "
                "click again. %(url)s"
            )
            % {"url": connect_url(chat_user)},
        )
    else:
        outcome = None
    with transaction.atomic():
        claimed = ChatAction.objects.filter(pk=action.pk, status=ChatAction.Status.PENDING)
        if claimed.select_for_update().first() is None:
            return ChatAction.objects.get(pk=action.pk).status  # another run did it
        if outcome is None:
            assert person is not None
            outcome = perform(
                person=person,
                kind=action.kind,
                target=target,
                text=payload.get("text", ""),
                via=Platform.SLACK,
            )
        status = ChatAction.Status.DONE if outcome.done else ChatAction.Status.REFUSED
        claimed.update(status=status, outcome=outcome.text, processed_at=timezone.now())
    slack.tell_privately(
        response_url=payload.get("response_url", ""),
        channel=payload.get("channel", ""),
        user=chat_user.user_id,
        text=outcome.text,
    )
    return status


def _send_to_the_page(action: ChatAction) -> str:
    """Tell the person privately where to answer when Slack could not open the form.
    Claimed by a conditional update first, so a task run twice tells them once."""
    claimed = ChatAction.objects.filter(pk=action.pk, status=ChatAction.Status.PENDING).update(
        status=ChatAction.Status.DONE, processed_at=timezone.now()
    )
    if not claimed:
        return ChatAction.objects.get(pk=action.pk).status
    target = Target(**action.payload["target"])
    team = Team.objects.filter(pk=target.team_id).first()
    with translation.override(team.language if team else None):
        text = _("Slack could not open the form. Answer on the campaign's page: %(url)s") % {
            "url": f"{settings.PASSERELLE_BASE_URL}/campaigns/{target.campaign_id}/"
        }
    slack.tell_privately(response_url=action.payload.get("response_url", ""), text=text)
    return ChatAction.Status.DONE
