"""User text made inert for the chat formats a team webhook posts in.

A campaign title, audience, summary or a person's name is written by one person and
read by a whole channel: it must not ping everyone (`<!channel>`, `@all`), pass itself
off as one of our links (`<https://evil|Open in Passerelle>`, `[Open](https://evil)`),
load a tracking image (`![x](https://evil/p.gif)`) or restyle the message. Only what
the app itself builds (the "Open in Passerelle" link, the field labels) stays markup,
so every user value goes through `chat_escape` for its format, and nothing else does.
"""

import re
from collections.abc import Callable

from core.text import strip_bidi

# Joins nothing visible: after `@` it stops a mention, inside a URL it stops autolinking,
# and the reader still sees the same text.
ZERO_WIDTH_JOINER = "\u200d"

_SCHEME = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*:)(//)")
_WWW = re.compile(r"(?i)\b(www)(\.)")
# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones
# that make links, images, emphasis, code, headings, quotes, tables or HTML/entities.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]()<>!|#&{}])")


def _defang(text: str) -> str:
    """Break bare URLs (`https://`, `www.`) and mentions (`@all`) without changing what
    a reader sees, and drop bidi controls (a row older than the name rules may hold
    one, and it would reverse the rest of the message)."""
    text = strip_bidi(text)
    text = _SCHEME.sub(rf"\1\2{ZERO_WIDTH_JOINER}", text)
    text = _WWW.sub(rf"\1{ZERO_WIDTH_JOINER}\2", text)
    return text.replace("@", "@" + ZERO_WIDTH_JOINER)


def slack_text(text: str) -> str:
    """Slack mrkdwn: `&`, `<` and `>` escaped as Slack asks, so `<!channel>`, `<!here>`,
    `<@U123>` and `<https://evil|label>` are shown as typed, not acted on."""
    text = _defang(str(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_text(text: str) -> str:
    """Mattermost Markdown, and the Markdown subset of Teams Adaptive Cards: special
    characters backslash-escaped (no link, image, emphasis or HTML), no mention, no bare
    link. Line breaks become spaces: a user value never starts a heading or a list."""
    text = " ".join(str(text).split())
    return _defang(_MARKDOWN_SPECIAL.sub(r"\\\1", text))


def chat_escape(webhook_format: str) -> Callable[[str], str]:
    """The escaping for a team's webhook format (`teams.models.Team.WebhookFormat`)."""
    return slack_text if webhook_format == "slack" else markdown_text
