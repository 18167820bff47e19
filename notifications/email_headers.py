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
import functools
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from core.text import header_safe
from notifications.tokens import unsubscribe_token_make

# RFC 2369 list headers hold bracketed URLs. The standard folder turns a URL longer
# than a line (the signed unsubscribe link is about 130 characters) into encoded words
# (=?utf-8?q?=3Chttp…), which no mail client reads as an address: Gmail and Outlook
# then offer no unsubscribe button. A header line may be 998 characters (RFC 5322
# §2.1.1); these are written on one.
_UNFOLDED = frozenset({"list-unsubscribe", "list-id"})


class _SubjectSafePolicy(email.policy.EmailPolicy):
    """Python's header folder (3.12 up to the fix of CPython gh-144156) drops the space
    between two encoded words when a long non-ASCII subject is folded between them:
    "clients fidèles » avant" arrives as "clients fidèles» avant". The legacy
    `email.header.Header` encoder puts every space inside an encoded word, where no fold
    can lose it, so the subject is encoded with it. Other headers fold as usual.

    It also parses and folds each distinct header once per process rather than once per
    message. A fan-out sends thousands of messages whose headers are nearly all the same
    (From, Subject, Reply-To, List-Id, the parts' Content-Type…), and the standard
    library's header parser and folder were a third of the time spent on each e-mail.
    Header objects are immutable, so one can stand in every message that has it."""

    def _folded_here(self, name: str, value: Any) -> str:
        """The folded Subject line (or an unfolded list header, see _UNFOLDED), or "" to
        leave the header to the standard folder."""
        text = str(value)
        if name.lower() in _UNFOLDED and text.isascii() and len(name) + len(text) < 990:
            return f"{name}: {text}{self.linesep}"
        if name.lower() != "subject" or text.isascii() or self.utf8:
            return ""
        maxlen = self.max_line_length or 78
        encoded = Header(text, "utf-8", maxlinelen=maxlen, header_name=name).encode(
            linesep=self.linesep
        )
        return f"{name}: {encoded}{self.linesep}"

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is str:
            return name, _parsed_header(self, name, value)
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        return self._folded_here(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if isinstance(value, BaseHeader):
            return _folded_header(self, name, value)
        return self._fold_binary(name, value)

    def _fold_binary(self, name: str, value: Any) -> bytes:
        folded = self._folded_here(name, value)
        return folded.encode("ascii") if folded else super().fold_binary(name, value)


# Bounded: a message's own headers (To, Message-ID, its unsubscribe link) are seen once
# and pushed out by the next messages; the shared ones stay, being used by each.
_HEADERS_REMEMBERED = 512


@functools.lru_cache(maxsize=_HEADERS_REMEMBERED)
def _parsed_header(policy: _SubjectSafePolicy, name: str, value: str) -> Any:
    return email.policy.EmailPolicy.header_store_parse(policy, name, value)[1]


@functools.lru_cache(maxsize=_HEADERS_REMEMBERED)
def _folded_header(policy: _SubjectSafePolicy, name: str, header: BaseHeader) -> bytes:
    # A header is a str of its decoded text, and hashes and compares as one: the key is
    # its name (which gives its class) and text, what its folding depends on.
    return policy._fold_binary(name, header)


@functools.lru_cache(maxsize=8)
def _subject_safe(policy: email.policy.Policy) -> email.policy.Policy:
    """The same policy with the subject fix, one instance per policy asked for (mail
    backends pass module-level policies), so the header caches above are shared by
    every message."""
    if not isinstance(policy, email.policy.EmailPolicy) or isinstance(policy, _SubjectSafePolicy):
        return policy
    # A policy keeps the settings it differs from the defaults by in its __dict__ (that
    # is how clone() works): the same settings, one method changed.
    settings = vars(policy)
    if type(policy.header_factory) is HeaderRegistry:
        settings = {**settings, "header_factory": _HeaderClasses()}
    return _SubjectSafePolicy(**settings)


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, with each header's class made once. The standard one
    builds a new class every time it is asked, and a message asks twice for each header
    it is given (its parser and its count limit)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


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
