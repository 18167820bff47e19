"""Transports: e-mail over Django's mail backend, and team chat webhooks.

Each raises or reports a `DeliveryError` that says whether trying again could help.
"""

import contextlib
import http.client
import json
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import mailers
from django.template.loader import get_template, render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import formats, translation
from django.utils.http import parse_http_date_safe

from accounts.models import zone_named
from core.changes import shown_changes
from core.markdown import render_markdown
from core.netsafety import (
    UnsafeURLError,
    resolve_public_address,
    split_http_url,
)
from core.text import header_safe
from notifications.chat_text import chat_escape
from notifications.email_headers import PasserelleEmail, list_headers, reply_to
from notifications.messages import (
    ACKNOWLEDGEABLE,
    absolute_url,
    campaign_url,
    channel_label,
    describe,
    footer_reason,
    format_when,
    leads_the_team,
    pending_people,
)
from notifications.models import MANDATORY, Channel, FailureReason, Kind, Notification
from notifications.tokens import WEEK_AHEAD, ack_token_make

if TYPE_CHECKING:
    from notifications.selectors import AckTeams
    from notifications.subjects import WaitingQuestion


class DeliveryError(Exception):
    """A message could not be delivered. `transient`: trying again later may work.
    `reason` (a FailureReason) says why in words, for a permanent failure; the message
    itself is the technical detail kept for operators."""

    def __init__(self, message: str, *, transient: bool, reason: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.reason = reason


# --- e-mail -----------------------------------------------------------------------------


def _smtp_error(exc: Exception) -> DeliveryError:
    """Only a refusal of this message or its recipient is permanent. A 5xx about the
    session (authentication, sender, connection) is a configuration or provider problem:
    failing the whole outbox for good over it would lose every message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        detail = "; ".join(
            f"{address}: {code} {message.decode(errors='replace')}"
            for address, (code, message) in exc.recipients.items()
        )
        return DeliveryError(
            f"recipient refused: {detail}",
            transient=all(400 <= c < 500 for c in codes),
            reason=FailureReason.MAILBOX_UNAVAILABLE,
        )
    if isinstance(exc, smtplib.SMTPDataError):
        text = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return DeliveryError(
            f"SMTP {exc.smtp_code}: {text}",
            transient=exc.smtp_code < 500,
            reason=FailureReason.MESSAGE_REFUSED,
        )
    # Disconnections, refused connections, timeouts, authentication and sender refusals.
    return DeliveryError(f"{type(exc).__name__}: {exc}", transient=True)


_SMTP_ERRORS = (smtplib.SMTPException, OSError)


def _anymail_error(exc: Exception) -> DeliveryError:
    """An API backend's (anymail's) error that is not a network one (those are OSErrors,
    handled as SMTP's). The provider refusing the recipient (its suppression list after
    earlier bounces, an address it deems invalid) is permanent; anything else is a
    provider or configuration problem, so transient, as a session problem is for SMTP."""
    if isinstance(exc, AnymailRecipientsRefused):
        status = getattr(getattr(exc, "email_message", None), "anymail_status", None)
        invalid = "invalid" in (getattr(status, "status", None) or ())
        return DeliveryError(
            f"recipient refused by the provider: {exc}",
            transient=False,
            reason=FailureReason.ADDRESS_INVALID if invalid else FailureReason.MAILBOX_UNAVAILABLE,
        )
    return DeliveryError(f"{type(exc).__name__}: {exc}", transient=True)


# Stands in for the per-person acknowledge link while a message is rendered once for
# everybody who reads it in the same language and time zone.
_ACK_URL_SLOT = "https://ack-url.invalid/slot"


@dataclass(frozen=True)
class _Rendered:
    subject: str
    text: str
    html: str


RenderCache = dict[tuple[Any, ...], _Rendered]


def _nudge_url(notification: Notification) -> str:
    """An escalation's "nudge them": a page with one button (a link only reads, so a
    mail scanner following it nudges nobody)."""
    slug = notification.payload.get("team_slug")
    if notification.kind != Kind.ESCALATION or not slug:
        return ""
    path = reverse("dashboards:team_nudge_all", args=[slug])
    return absolute_url(f"{path}?campaign={notification.campaign_id}")


_HEADING = re.compile(r"<(/?)h([1-6])>")


def email_brief_html(body_html: str) -> str:
    """The campaign's brief (sanitised Markdown) for an e-mail: its headings go two levels
    down and get an inline size (mail clients drop style sheets, and their default `h1`
    is 32 px), so they read as parts of the brief, smaller than the e-mail's title (22 px)
    and than the brief's own section heading (16 px)."""

    def smaller(match: re.Match[str]) -> str:
        closing, level = match.group(1), int(match.group(2))
        tag = f"h{min(level + 2, 6)}"
        if closing:
            return f"</{tag}>"
        size = 15 if level <= 2 else 14
        return f'<{tag} style="margin:16px 0 6px;font-size:{size}px;line-height:1.35;">'

    return _HEADING.sub(smaller, body_html)


def _render(
    notification: Notification, *, language: str, tz_name: str, with_ack: bool, leads_team: bool
) -> _Rendered:
    payload = notification.payload
    with translation.override(language):
        message = describe(notification, tz_name=tz_name)
        # A new version's notice says what changed instead of repeating the whole brief.
        changes = shown_changes(payload.get("diff") or [], tz=zone_named(tz_name))
        context = {
            "notification": notification,
            "message": message,
            "payload": payload,
            "channel_label": channel_label(payload),
            "body_html": email_brief_html(render_markdown(payload.get("body", ""))),
            "campaign_url": campaign_url(notification),
            "ack_url": _ACK_URL_SLOT if with_ack else "",
            "preferences_url": absolute_url(reverse("notifications:preferences")),
            "language": language,
            "changes": changes,
            "pending_people": pending_people(payload),
            "team_url": absolute_url(payload["team_path"]) if payload.get("team_path") else "",
            "nudge_url": _nudge_url(notification),
            "footer_reason": footer_reason(notification, leads_team=leads_team),
        }
        return _Rendered(
            subject=message.subject,
            text=render_to_string("notifications/email/message.txt", context),
            html=render_to_string("notifications/email/message.html", context),
        )


EMAIL_TEMPLATES = [
    f"notifications/email/{name}.{extension}"
    for name in ("message", "digest", "week_ahead")
    for extension in ("txt", "html")
]


def delivery_prepare() -> None:
    """Load what every e-mail needs and a fresh process lacks: the URLconf (`reverse`
    imports every view of the site on its first call), the compiled e-mail templates and
    each language's translations. Run by the Celery worker before it forks its pool
    (hub.celery), so each child starts with them instead of spending its first e-mail of
    a fan-out, about a second, on them."""
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            reverse("notifications:preferences")
    for name in EMAIL_TEMPLATES:
        get_template(name)


def acknowledging_teams(notifications: Sequence[Notification]) -> "AckTeams":
    # Imported here: the selectors import the services, which import this module.
    from notifications.selectors import acknowledging_teams as read

    return read(notifications)


def build_email(
    notification: Notification,
    cache: RenderCache | None = None,
    ack_teams: "AckTeams | None" = None,
) -> PasserelleEmail:
    """Render one notification as a multipart e-mail in the recipient's language, with
    the list headers (notifications.email_headers) and Reply-To the campaign's owner.

    A fan-out sends the same text to thousands of people: with a shared `cache`, each
    (event, language, time zone) is rendered once and only the signed link differs. The
    link is bound to the recipient's stakeholder teams (`ack_teams`, read for the whole
    batch by notifications.selectors.acknowledging_teams; read here when not given)."""
    recipient = notification.recipient
    assert recipient is not None
    with_ack = notification.kind in ACKNOWLEDGEABLE
    leads_team = leads_the_team(notification, recipient.pk)
    key = (
        notification.campaign_id,
        notification.campaign_version,
        notification.kind,
        json.dumps(notification.payload, sort_keys=True),
        recipient.language,
        recipient.time_zone,
        leads_team,
    )
    cache = {} if cache is None else cache
    if key not in cache:
        cache[key] = _render(
            notification,
            language=recipient.language,
            tz_name=recipient.time_zone,
            with_ack=with_ack,
            leads_team=leads_team,
        )
    rendered = cache[key]
    text, html = rendered.text, rendered.html
    if with_ack:
        if ack_teams is None:
            ack_teams = acknowledging_teams([notification])
        token = ack_token_make(
            user_id=recipient.pk,
            campaign_id=notification.campaign_id,
            version=notification.campaign_version,
            team_ids=ack_teams.get((recipient.pk, notification.campaign_id), frozenset()),
        )
        ack_url = absolute_url(reverse("campaigns:acknowledge_link", args=[token]))
        text, html = text.replace(_ACK_URL_SLOT, ack_url), html.replace(_ACK_URL_SLOT, ack_url)
    kind = str(notification.kind)
    headers = list_headers(
        user_id=recipient.pk,
        topic=kind,
        one_click=(kind, Channel.EMAIL) not in MANDATORY,
        preferences_url=absolute_url(reverse("notifications:preferences")),
    )
    payload = notification.payload
    email = PasserelleEmail(
        subject=header_safe(rendered.subject),
        body=text,
        to=[recipient.email],
        reply_to=reply_to(
            name=payload.get("owner_name", ""),
            address=payload.get("owner_email", ""),
            recipient_address=recipient.email,
        ),
        headers={**headers, "X-Passerelle-Notification": str(notification.pk)},
    )
    email.attach_alternative(html, "text/html")
    return email


@dataclass(frozen=True)
class EmailOutcome:
    notification: Notification
    error: DeliveryError | None  # None: sent
    provider_message_id: str = ""  # the provider's id, when its backend gives one (anymail)


def send_emails(notifications: Sequence[Notification]) -> Iterator[EmailOutcome]:
    """Send over one SMTP connection, yielding each message's outcome as soon as it is
    known, so the caller records it before the next message goes out (a worker killed
    mid-batch then resends at most the one in flight). A connection-level failure marks
    the rest transient."""
    cache: RenderCache = {}
    ack_teams = acknowledging_teams(
        [n for n in notifications if n.kind in ACKNOWLEDGEABLE and n.recipient_id]
    )
    connection = mailers.default
    try:
        connection.open()
    except _SMTP_ERRORS as exc:
        error = _smtp_error(exc)
        for notification in notifications:
            yield EmailOutcome(notification, error)
        return
    try:
        broken: DeliveryError | None = None
        for notification in notifications:
            if broken is not None:
                yield EmailOutcome(notification, broken)
                continue
            try:
                email = build_email(notification, cache, ack_teams)
                sent = connection.send_messages([email])
            except _SMTP_ERRORS as exc:
                error = _smtp_error(exc)
                # SMTPException is an OSError too: only a lost connection or a socket
                # error dooms the rest of the batch, not the refusal of one message.
                if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(
                    exc, smtplib.SMTPException
                ):
                    broken = error
                yield EmailOutcome(notification, error)
            except ValueError as exc:
                # An address Django will not put on the wire (non-ASCII local part, line
                # break): no retry can fix it.
                yield EmailOutcome(
                    notification,
                    DeliveryError(
                        f"invalid message: {exc}",
                        transient=False,
                        reason=FailureReason.ADDRESS_INVALID,
                    ),
                )
            except AnymailError as exc:
                yield EmailOutcome(notification, _anymail_error(exc))
            else:
                if not sent:
                    failed = DeliveryError("the mail backend did not send it", transient=True)
                    yield EmailOutcome(notification, failed)
                    continue
                status = getattr(email, "anymail_status", None)
                message_id = str(getattr(status, "message_id", "") or "")
                yield EmailOutcome(notification, None, message_id[:255])
    finally:
        with contextlib.suppress(*_SMTP_ERRORS):
            connection.close()


# --- team chat webhooks -----------------------------------------------------------------


def webhook_payload(
    notification: Notification, *, webhook_format: str, language: str | None = None
) -> dict[str, Any]:
    """The JSON body for Slack, Mattermost or a Microsoft Teams workflow, in the team's
    language (`language`, else the notification's team's, else the installation's):
    labels, punctuation ("Canal :"), dates and numbers ("1 500"). Every value a person
    typed is escaped for the format (notifications.chat_text); the markup around it and
    the "Open in Passerelle" link are the app's own."""
    payload = notification.payload
    escape = chat_escape(webhook_format)
    if language is None:
        language = notification.team.language if notification.team else settings.LANGUAGE_CODE
    with translation.override(language):
        message = describe(notification, tz_name=settings.TIME_ZONE, escape=escape)
        url = campaign_url(notification)
        recipients = formats.number_format(
            payload.get("estimated_recipients", 0), use_l10n=True, force_grouping=True
        )
        facts = [
            (_label(translation.gettext("Channel")), channel_label(payload)),
            (
                _label(translation.gettext("Audience")),
                escape(payload.get("audience") or "") or "–",
            ),
            (_label(translation.gettext("Recipients")), recipients),
            (_label(translation.gettext("Launch")), message.launch),
            (_label(translation.gettext("Contact")), escape(payload.get("owner_name", ""))),
        ]
        open_label = translation.gettext("Open in Passerelle")
        ack_label = translation.gettext("Acknowledge")
        # A header block is plain text: Slack shows it as typed, so it needs no escaping.
        plain_subject = describe(notification, tz_name=settings.TIME_ZONE).subject
        if changes := shown_changes(payload.get("diff") or [], tz=zone_named(settings.TIME_ZONE)):
            # A new version: the changed fields, not the whole brief again.
            facts = [
                (
                    _label(change.label),
                    translation.gettext("changed, see the campaign")
                    if change.long
                    else f"{escape(change.before)} → {escape(change.after)}",
                )
                for change in changes
            ]
    summary = "" if changes else escape(payload.get("summary", ""))
    asks_for_acknowledgement = notification.kind in (Kind.ANNOUNCED, Kind.CHANGED)
    ack_url = (
        absolute_url(reverse("campaigns:acknowledge_open", args=[notification.campaign_id]))
        if asks_for_acknowledgement
        else ""
    )
    if webhook_format == "msteams":
        card_actions = [{"type": "Action.OpenUrl", "title": open_label, "url": url}]
        if ack_url:
            card_actions.insert(0, {"type": "Action.OpenUrl", "title": ack_label, "url": ack_url})
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {
                                "type": "TextBlock",
                                "text": message.subject,
                                "weight": "Bolder",
                                "wrap": True,
                            },
                            {"type": "TextBlock", "text": message.intro, "wrap": True},
                            {"type": "TextBlock", "text": summary, "wrap": True, "isSubtle": True},
                            {
                                "type": "FactSet",
                                "facts": [{"title": k, "value": v} for k, v in facts],
                            },
                        ],
                        # Teams' incoming webhooks cannot receive clicks: its button
                        # opens the one-tap page, after sign-in (README "Two-way chat").
                        "actions": card_actions,
                    },
                }
            ],
        }
    fact_lines = "\n".join(f"*{k}* {v}" for k, v in facts)
    if webhook_format == "mattermost":
        body: dict[str, Any] = {
            "username": "Passerelle",
            "text": f"#### {message.subject}\n{message.intro}\n\n{summary}\n\n"
            + "\n".join(f"**{k}** {v}" for k, v in facts)
            + f"\n\n[{open_label}]({url})",
        }
        if asks_for_acknowledgement and notification.team_id is not None:
            # Buttons whose context carries a token we signed (chat.mattermost);
            # imported here: the chat app builds on this module.
            from chat.mattermost import buttons_attachment
            from chat.state import Target

            with translation.override(language):
                body["attachments"] = [
                    buttons_attachment(
                        target=Target(
                            notification.campaign_id,
                            notification.campaign_version,
                            notification.team_id,
                        )
                    )
                ]
        return body
    return {
        "text": message.subject,
        # No preview cards: a title's URL must not make Slack fetch (and show) that page.
        "unfurl_links": False,
        "unfurl_media": False,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": plain_subject[:150]}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{message.intro}\n{summary}".strip()},
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": fact_lines}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": open_label},
                        "url": url,
                    }
                ],
            },
        ],
    }


def _label(text: str) -> str:
    """A field label followed by a colon, spaced as the active language writes it (French
    puts a no-break space before it: "Canal :")."""
    return translation.gettext("%(label)s:") % {"label": text}


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever DNS answers now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address; the certificate is still verified against the host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def send_webhook(notification: Notification) -> None:
    """POST the team's chat message. Redirects are not followed: one could lead a checked
    public URL to an internal address."""
    team = notification.team
    assert team is not None
    if team.slack_channel_id and settings.SLACK_BOT_TOKEN:
        # The Slack app posts it, with buttons (imported here: chat builds on this module).
        from chat import slack

        slack.post_notification(notification)
        return
    if team.mattermost_channel_id and settings.MATTERMOST_BOT_TOKEN:
        from chat import mattermost

        mattermost.post_notification(notification)
        return
    if not team.webhook_url:
        raise DeliveryError(
            "the team no longer has a webhook URL",
            transient=False,
            reason=FailureReason.WEBHOOK_REMOVED,
        )
    body = json.dumps(webhook_payload(notification, webhook_format=team.webhook_format)).encode()
    # Which outbox row this post is, as on e-mails: lets an operator (and the fault
    # drills) tell a repeated post from a new one.
    status = post_json(
        team.webhook_url, body, headers={"X-Passerelle-Notification": str(notification.pk)}
    )
    if status >= 300:
        transient = status >= 500 or status in {408, 429}
        gone = status in {404, 410}
        raise DeliveryError(
            f"webhook answered HTTP {status}",
            transient=transient,
            reason=FailureReason.WEBHOOK_GONE if gone else FailureReason.WEBHOOK_REFUSED,
        )


def post_json(url: str, body: bytes, *, headers: dict[str, str] | None = None) -> int:
    """POST JSON to a chat server and return the HTTP status (see send_json)."""
    return send_json(url, body, headers=headers)[0]


_SECONDS = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True)
class JSONAnswer:
    """What a server answered: its HTTP status, the first bytes of its body, and how many
    seconds its `Retry-After` asked to wait (None when it asked nothing readable)."""

    status: int
    body: bytes
    retry_after: int | None = None


# Longer waits are read as this: a receiver's header must not overflow a timedelta (the
# callers cap it far lower anyway).
RETRY_AFTER_MAX_SECONDS = 7 * 24 * 3600


def retry_after_seconds(value: str | None, *, now: float | None = None) -> int | None:
    """A `Retry-After` header in seconds (RFC 9110: a number of seconds in ASCII digits, or
    an HTTP date), at most RETRY_AFTER_MAX_SECONDS; None when it is absent or
    unreadable. A date in the past is 0."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        # Long digit strings are not even parsed (Python refuses over 4,300 digits).
        return (
            RETRY_AFTER_MAX_SECONDS if len(value) > 9 else min(int(value), RETRY_AFTER_MAX_SECONDS)
        )
    moment = parse_http_date_safe(value)
    if moment is None:
        return None
    seconds = int(moment - (time.time() if now is None else now))
    return min(max(0, seconds), RETRY_AFTER_MAX_SECONDS)


def send_json(
    url: str,
    body: bytes,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    read: int = 1024,
    trusted: bool = False,
) -> tuple[int, bytes]:
    """Send JSON to a chat server; its HTTP status and the first `read` bytes of its
    answer (see exchange_json)."""
    answer = exchange_json(url, body, method=method, headers=headers, read=read, trusted=trusted)
    return answer.status, answer.body


def exchange_json(
    url: str,
    body: bytes,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    read: int = 1024,
    trusted: bool = False,
) -> JSONAnswer:
    """Send JSON to a server; what it answered (status, the first `read` bytes, its
    `Retry-After`). The address is checked (public, unless NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE)
    and the connection pinned to it; redirects are not followed: one could lead a
    checked public URL to an internal address. `trusted`: an address the operator
    configured (a chat server's API), which may be on the private network."""
    try:
        parts, port = split_http_url(url)
        address = resolve_public_address(
            parts.hostname or "",
            port,
            allow_private=trusted or settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE,
        )
    except UnsafeURLError as exc:
        raise DeliveryError(
            f"webhook refused: {exc}",
            transient=exc.transient,
            reason=FailureReason.WEBHOOK_NOT_ALLOWED,
        ) from exc
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        parts.hostname or "",
        port,
        address=address,
        timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS,
    )
    path = quote(parts.path or "/", safe="/%:@&=+$,;~!*'()") + (
        f"?{parts.query}" if parts.query else ""
    )
    try:
        connection.request(
            method,
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Passerelle/1.0",
                **(headers or {}),
            },
        )
        response = connection.getresponse()
        return JSONAnswer(
            status=response.status,
            body=response.read(read),
            retry_after=retry_after_seconds(response.getheader("Retry-After")),
        )
    except (ValueError, UnicodeError) as exc:
        raise DeliveryError(
            f"webhook URL cannot be used: {exc}",
            transient=False,
            reason=FailureReason.WEBHOOK_NOT_ALLOWED,
        ) from exc
    except (http.client.HTTPException, TimeoutError, OSError) as exc:
        raise DeliveryError(
            f"webhook unreachable: {type(exc).__name__}: {exc}", transient=True
        ) from exc
    finally:
        connection.close()


def send_digest(
    recipient: Any,
    notifications: Sequence[Notification],
    questions: Sequence["WaitingQuestion"] = (),
) -> None:
    """One e-mail listing several held notices, then the questions on the recipient's
    campaigns still waiting for an answer; raises DeliveryError on failure."""
    with translation.override(recipient.language):
        items = [
            {
                "message": describe(n, tz_name=recipient.time_zone),
                "payload": n.payload,
                "channel_label": channel_label(n.payload),
                "campaign_url": campaign_url(n),
            }
            for n in notifications
        ]
        preferences_url = absolute_url(reverse("notifications:preferences"))
        context = {
            "items": items,
            "questions": [
                {**question.__dict__, "url": absolute_url(question.path)} for question in questions
            ],
            "recipient": recipient,
            "preferences_url": preferences_url,
        }
        count = len(items) + len(questions)
        subject = translation.ngettext(
            "Passerelle digest: %(count)s update",
            "Passerelle digest: %(count)s updates",
            count,
        ) % {"count": count}
        text = render_to_string("notifications/email/digest.txt", context)
        html = render_to_string("notifications/email/digest.html", context)
    # The digest is set on the preferences page (what it gathers depends on other
    # choices there): its List-Unsubscribe leads there, not to a one-click switch.
    _send_summary(
        recipient,
        subject=subject,
        text=text,
        html=html,
        headers=list_headers(
            user_id=recipient.pk, topic="digest", one_click=False, preferences_url=preferences_url
        ),
    )


def _send_summary(
    recipient: Any, *, subject: str, text: str, html: str, headers: dict[str, str]
) -> None:
    """Send one of the summary e-mails (digest, week ahead): automatic, with the list
    headers that turn it off. Raises DeliveryError, transient or not."""
    email = PasserelleEmail(
        subject=header_safe(subject), body=text, to=[recipient.email], headers=headers
    )
    email.attach_alternative(html, "text/html")
    try:
        email.send()
    except _SMTP_ERRORS as exc:
        raise _smtp_error(exc) from exc
    except ValueError as exc:  # a header Django refuses (a newline in the address, say)
        raise DeliveryError(
            f"invalid message: {exc}", transient=False, reason=FailureReason.ADDRESS_INVALID
        ) from exc
    except AnymailError as exc:
        raise _anymail_error(exc) from exc


def _feed_url() -> str:
    """The weekly feed page, when this installation has one."""
    try:
        resolve("/feed/")
    except Resolver404:
        return ""
    return absolute_url("/feed/")


def send_week_ahead(recipient: Any, sections: Sequence[dict[str, Any]]) -> None:
    """The Monday e-mail: what launches this week for each of the person's teams.

    `sections` is plain data, one dict per team: {"team": name, "campaigns": [{"title",
    "launch_at" (ISO 8601), "channel", "audience", "status", "path"}]}. Rendered in the
    reader's language, dates in their time zone. Raises DeliveryError on failure."""
    with translation.override(recipient.language):
        rendered_sections = [
            {
                "team": section["team"],
                "campaigns": [
                    {
                        "title": " ".join(str(c.get("title", "")).split()),
                        "launch": format_when(c.get("launch_at"), recipient.time_zone),
                        "channel_label": channel_label(c),
                        "audience": c.get("audience", ""),
                        "url": absolute_url(c.get("path", "/")),
                    }
                    for c in section["campaigns"]
                ],
            }
            for section in sections
        ]
        count = len({c.get("path") for section in sections for c in section["campaigns"]})
        preferences_url = absolute_url(reverse("notifications:preferences"))
        context = {
            "sections": rendered_sections,
            "recipient": recipient,
            "language": recipient.language,
            "feed_url": _feed_url(),
            "preferences_url": preferences_url,
        }
        subject = translation.ngettext(
            "The week ahead: %(count)s campaign launching",
            "The week ahead: %(count)s campaigns launching",
            count,
        ) % {"count": count}
        text = render_to_string("notifications/email/week_ahead.txt", context)
        html = render_to_string("notifications/email/week_ahead.html", context)
    _send_summary(
        recipient,
        subject=subject,
        text=text,
        html=html,
        headers=list_headers(
            user_id=recipient.pk,
            topic=WEEK_AHEAD,
            one_click=True,
            preferences_url=preferences_url,
        ),
    )
