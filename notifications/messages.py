"""What a notification says, in the reader's language: shared by e-mail, inbox and chat."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from accounts.models import zone_named
from core.when import datetime_short
from notifications.models import Kind, Notification

ACKNOWLEDGEABLE = frozenset({Kind.ANNOUNCED, Kind.CHANGED, Kind.REMINDER})
# Kinds whose subject says it all: the inbox card leaves out their opening line, the same
# sentence on every card of that kind (e-mails keep it).
SUBJECT_SAYS_IT_ALL = frozenset(
    {Kind.ANNOUNCED, Kind.CHANGED, Kind.REMINDER, Kind.CANCELLED, Kind.DONE}
)

# What a feedback-thread message is (campaigns.models.Feedback.Tag), for the owner's notice.
FEEDBACK_TEXTS = {
    "message": (
        gettext_noop("Message from %(author)s on %(title)s"),
        gettext_noop("%(author)s posted a message about this campaign."),
    ),
    "question": (
        gettext_noop("Question from %(author)s on %(title)s"),
        gettext_noop("%(author)s asked a question about this campaign."),
    ),
    "positive": (
        gettext_noop("Customer reaction on %(title)s: positive"),
        gettext_noop("%(author)s reported a positive customer reaction."),
    ),
    "neutral": (
        gettext_noop("Customer reaction on %(title)s: neutral"),
        gettext_noop("%(author)s reported a neutral customer reaction."),
    ),
    "negative": (
        gettext_noop("Customer reaction on %(title)s: negative"),
        gettext_noop("%(author)s reported a negative customer reaction."),
    ),
    "reply": (
        gettext_noop("Reply from %(author)s on %(title)s"),
        gettext_noop("%(author)s replied in the thread of this campaign."),
    ),
    "mention": (
        gettext_noop("%(author)s mentioned you on %(title)s"),
        gettext_noop("%(author)s mentioned you in the thread of this campaign."),
    ),
}


@dataclass(frozen=True)
class Message:
    subject: str
    intro: str
    launch: str
    due: str


def format_when(value: str | None, tz_name: str) -> str:
    if not value:
        return _("not set")
    moment = parse_datetime(value)
    if moment is None:
        return value
    return datetime_short(moment, tz=zone_named(tz_name))


def channel_label(data: Mapping[str, Any]) -> str:
    """The campaign's channel in the reader's language. Snapshots carry the label's
    English source text (notifications.payload), which the catalogue translates."""
    label = data.get("channel_label") or str(data.get("channel", ""))
    return _(label) if label else ""


# The values of a message that people typed (as opposed to dates the app formats).
_USER_VALUES = ("title", "team", "owner", "author", "reason", "note")


def describe(
    notification: Notification, *, tz_name: str, escape: Callable[[str], str] | None = None
) -> Message:
    """Build the subject and opening line. Call under translation.override(reader's language).
    `escape` (a chat format's, notifications.chat_text) is applied to what people typed,
    not to the sentence around it."""
    p = notification.payload
    title = p.get("title", "")
    launch = format_when(p.get("launch_at"), tz_name)
    due = format_when(p.get("due_at"), tz_name) if p.get("due_at") else ""
    values = {
        "title": title,
        "launch": launch,
        "due": due,
        "team": p.get("team", ""),
        "version": notification.campaign_version,
        "owner": p.get("owner_name", ""),
        "author": p.get("author_name", ""),
        "reason": p.get("reason", ""),
        "note": p.get("note", ""),
    }
    texts: dict[str, tuple[str, str]] = {
        Kind.ANNOUNCED: (
            _("New campaign: %(title)s, launching %(launch)s"),
            _(
                "%(owner)s announced a campaign your team needs to know about. "
                "Please read it and acknowledge."
            ),
        ),
        Kind.CHANGED: (
            _("Changed: %(title)s (version %(version)s), please acknowledge again"),
            _(
                "What customers receive has changed. "
                "Please read version %(version)s and acknowledge it."
            ),
        ),
        Kind.REMINDER: (
            _("Reminder: acknowledge %(title)s before %(due)s"),
            _("Your team (%(team)s) has not acknowledged this campaign yet. It is due %(due)s."),
        ),
        Kind.ESCALATION: (
            _("Overdue: %(team)s has not acknowledged %(title)s"),
            _("The acknowledgement of %(team)s was due %(due)s and is still missing."),
        ),
        Kind.CANCELLED: (
            _("Cancelled: %(title)s"),
            _("This campaign has been cancelled and will not reach customers."),
        ),
        Kind.DONE: (
            _("Done: %(title)s"),
            _("Every stakeholder team has been told; the campaign is closed."),
        ),
        Kind.FEEDBACK: (
            _("Note from %(author)s on %(title)s"),
            _("%(author)s left a note while acknowledging."),
        ),
        Kind.NOT_READY: (
            _("%(team)s is not ready for %(title)s"),
            _(
                "%(author)s says %(team)s is not ready: %(reason)s. The campaign cannot be "
                "marked as done until you reply and the team acknowledges."
            ),
        ),
        Kind.NOT_READY_REPLY: (
            _("Reply about %(title)s: %(author)s answered your team"),
            _("%(author)s replied to “%(reason)s”: %(note)s"),
        ),
        Kind.WEBHOOK_BROKEN: (
            _("The chat webhook of %(team)s no longer works"),
            _(
                "The chat server said the webhook of %(team)s no longer exists, so "
                "nothing more is posted there. Give the team a working webhook address; "
                "until then its members are told by e-mail and in the app."
            ),
        ),
    }
    subject, intro = texts[Kind(notification.kind)]
    if notification.kind == Kind.FEEDBACK and p.get("tag") in FEEDBACK_TEXTS:
        # A message on the campaign's feedback thread, not a note left while acknowledging.
        subject, intro = (_(text) for text in FEEDBACK_TEXTS[p["tag"]])
    # A line break (or U+2028) pasted into a title would make the e-mail header invalid.
    values["title"] = " ".join(str(title).split())
    if escape is not None:
        values |= {key: escape(str(values[key])) for key in _USER_VALUES}
    if notification.kind == Kind.CANCELLED and values["reason"]:
        intro = f"{intro % values} " + _("Reason: %(reason)s") % values
        return Message(subject=subject % values, intro=intro, launch=launch, due=due)
    return Message(subject=subject % values, intro=intro % values, launch=launch, due=due)


def pending_people(payload: Mapping[str, Any]) -> str:
    """An escalation's "who has not acknowledged": the names it carries, then how many
    more. Empty for other notices (and escalations written before names were kept)."""
    names = [str(name) for name in payload.get("pending_people") or []]
    if not names:
        return ""
    more = int(payload.get("pending_count") or len(names)) - len(names)
    listed = ", ".join(names)
    if more > 0:
        listed = ngettext("%(names)s and %(count)s more", "%(names)s and %(count)s more", more) % {
            "names": listed,
            "count": more,
        }
    return _("Not acknowledged yet: %(names)s.") % {"names": listed}


def leads_the_team(notification: Notification, recipient_id: int | None) -> bool:
    """Whether the reader is one of the leads an escalation was sent to as such."""
    return recipient_id is not None and recipient_id in (notification.payload.get("lead_ids") or [])


def footer_reason(notification: Notification, *, leads_team: bool) -> str:
    """Why the reader receives this notice, by their role in it: a team's lead or a
    manager for an escalation, the owner for feedback, a stakeholder team otherwise."""
    kind = notification.kind
    values = {"team": notification.payload.get("team", "")}
    if kind == Kind.ESCALATION and leads_team:
        return (
            _(
                "You receive this because you lead %(team)s, whose acknowledgement is overdue. "
                "Escalations cannot be switched off."
            )
            % values
        )
    if kind == Kind.ESCALATION:
        return _(
            "You receive this because you are a manager: overdue acknowledgements are "
            "escalated to you. Escalations cannot be switched off."
        )
    if kind == Kind.FEEDBACK and notification.payload.get("tag") == "mention":
        return _("You receive this because someone mentioned you in the campaign's thread.")
    if kind == Kind.FEEDBACK and notification.payload.get("tag") == "reply":
        return _("You receive this because you wrote in this thread, or own the campaign.")
    if kind in (Kind.FEEDBACK, Kind.NOT_READY):
        return _("You receive this because you own this campaign.")
    if kind == Kind.WEBHOOK_BROKEN:
        return _("You receive this because you lead %(team)s or manage the teams.") % values
    return _("You receive this because you are in a stakeholder team of this campaign.")


def absolute_url(path: str) -> str:
    return f"{settings.PASSERELLE_BASE_URL}{path}"


def campaign_url(notification: Notification) -> str:
    return absolute_url(notification.payload.get("path", "/"))
