"""The headers mail clients and providers expect on Passerelle's e-mails, and a message
class whose subject survives Python's header folding.

- `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058):
  the mail client's "Unsubscribe" button POSTs to a signed address that switches that
  kind of e-mail off for that person, with no login.
- `List-Id` (RFC 2919), one list per kind, so people can filter on it.
- `X-Auto-Response-Suppress: OOF, AutoReply`: Exchange sends no out-of-office replies
  to a message nobody reads; `Auto-Submitted: auto-generated` (RFC 3834) says the same to
  every other server.
"""

import email.policy
from email.header import Header
from email.headerregistry import Address
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.text import header_safe
from notifications.tokens import unsubscribe_token_make


class _SubjectSafePolicy(email.policy.EmailPolicy):
    """Python's header folder (3.12 up to the fix of CPython gh-144156) drops the space
    between two encoded words when a long non-ASCII subject is folded between them:
    "clients fidèles » avant" arrives as "clients fidèles» avant". The legacy
    `email.header.Header` encoder puts every space inside an encoded word, where no fold
    can lose it, so the subject is encoded with it. Other headers fold as usual."""

    def _subject(self, name: str, value: Any) -> str:
        """The folded Subject line, or "" to leave the header to the standard folder."""
        text = str(value)
        if name.lower() != "subject" or text.isascii() or self.utf8:
            return ""
        maxlen = self.max_line_length or 78
        encoded = Header(text, "utf-8", maxlinelen=maxlen, header_name=name).encode(
            linesep=self.linesep
        )
        return f"{name}: {encoded}{self.linesep}"

    def fold(self, name: str, value: Any) -> str:
        return self._subject(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = self._subject(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


def _subject_safe(policy: email.policy.Policy) -> email.policy.Policy:
    if not isinstance(policy, email.policy.EmailPolicy) or isinstance(policy, _SubjectSafePolicy):
        return policy
    # A policy keeps the settings it differs from the defaults by in its __dict__ (that
    # is how clone() works): the same settings, one method changed.
    return _SubjectSafePolicy(**vars(policy))


class PasserelleEmail(EmailMultiAlternatives):
    """An e-mail whose subject reaches the reader with every space (see
    `_SubjectSafePolicy`), whichever policy the mail backend asks for."""

    def message(self, *, policy: Any = email.policy.default) -> Any:
        return super().message(policy=_subject_safe(policy))


def _host() -> str:
    return urlsplit(settings.PASSERELLE_BASE_URL).hostname or "localhost"


def unsubscribe_url(*, user_id: int, topic: str) -> str:
    token = unsubscribe_token_make(user_id=user_id, topic=topic)
    path = reverse("notifications:unsubscribe", args=[token])
    return f"{settings.PASSERELLE_BASE_URL}{path}"


def list_headers(
    *,
    user_id: int,
    topic: str,
    one_click: bool,
    preferences_url: str,
) -> dict[str, str]:
    """The list and auto-reply headers of one e-mail about `topic` (a notification kind,
    or "week_ahead", "digest"). `one_click`: whether that topic can be switched off by
    the mail client's button; otherwise List-Unsubscribe leads to the preferences page
    (escalations to leads cannot be switched off, a digest is set there)."""
    target = unsubscribe_url(user_id=user_id, topic=topic) if one_click else preferences_url
    headers = {
        "List-Id": f"Passerelle {topic.replace('_', ' ')} <{topic.replace('_', '-')}.{_host()}>",
        "List-Unsubscribe": f"<{target}>",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "OOF, AutoReply",
    }
    if one_click:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def reply_to(*, name: str, address: str, recipient_address: str) -> list[str]:
    """Reply-To the campaign's owner, so "Reply" reaches a person rather than the no-reply
    sender; none when the owner is the reader or has no address."""
    if not address or "@" not in address or address.lower() == recipient_address.lower():
        return []
    username, _at, domain = address.rpartition("@")
    try:
        return [str(Address(display_name=header_safe(name), username=username, domain=domain))]
    except (ValueError, IndexError):
        return []
