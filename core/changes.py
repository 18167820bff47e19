"""What changed between two versions of a text, and between two versions of a brief, as
plain data that travels in the outbox and as readable HTML or text.

A brief's changes are computed once, by campaigns (campaigns.changes), as a list of
`FieldChange` dicts: plain JSON, so the "changed" notification carries them in its
payload and notifications needs no campaign model to show them. Dates travel as ISO 8601
and the channel as its English label; each reader sees them in their own time zone and
language (`shown_changes`).

Long texts (the body, the summary) are stored as hunks: only the passages that changed,
with a line of context around them, each a list of `[op, text]` pairs where `op` is
"equal", "delete" or "insert". Within a changed line the diff is word by word, so a
corrected price reads "valid until <del>15</del><ins>31</ins> December" rather than two
whole paragraphs. Everything is escaped when rendered: the text is what a person typed.
"""

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import NotRequired, TypedDict

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

EQUAL, DELETE, INSERT = "equal", "delete", "insert"
Hunk = list[list[str]]  # [[op, text], …]

# Words, runs of spaces and single punctuation marks: a word diff that keeps the spacing.
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Beyond this many tokens in one changed passage, the word diff (quadratic at worst)
# gives way to whole lines deleted and inserted.
_MAX_WORD_DIFF_TOKENS = 4000


class FieldChange(TypedDict):
    """One field of a brief, before → after. `kind` says how to show the values:
    "text" and "number" as they are, "moment" an ISO 8601 date shown in the reader's
    time zone, "choice" an English label translated for the reader, "long" a text shown
    as `hunks` (before and after are then None)."""

    field: str
    label: str  # English source text, translated when shown
    kind: str
    before: str | None
    after: str | None
    hunks: NotRequired[list[Hunk]]


def _merge(pieces: Iterable[tuple[str, str]]) -> Hunk:
    merged: Hunk = []
    for op, text in pieces:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1][1] += text
        else:
            merged.append([op, text])
    return merged


def _words(before: str, after: str) -> list[tuple[str, str]]:
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    if len(a) + len(b) > _MAX_WORD_DIFF_TOKENS:
        return [(DELETE, before), (INSERT, after)]
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append((EQUAL, "".join(a[i1:i2])))
        else:
            pieces.append((DELETE, "".join(a[i1:i2])))
            pieces.append((INSERT, "".join(b[j1:j2])))
    return pieces


def _lines_normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def text_hunks(before: str, after: str, *, context: int = 1) -> list[Hunk]:
    """The passages that differ between two texts, each with `context` unchanged lines
    around it; empty when the texts are equal. Line endings are compared as "\n": a
    browser posts a textarea with "\r\n", text typed elsewhere (the admin, an import)
    may have "\n", and that is no change a reader could see."""
    before, after = _lines_normalised(before), _lines_normalised(after)
    if before == after:
        return []
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        pieces: list[tuple[str, str]] = []
        for tag, i1, i2, j1, j2 in group:
            old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
            if tag == "equal":
                pieces.append((EQUAL, old))
            elif tag == "replace":
                pieces.extend(_words(old, new))
            else:
                pieces.append((DELETE, old))
                pieces.append((INSERT, new))
        hunk = _merge(pieces)
        # Blank context lines at a passage's edges only push the change away.
        if hunk[0][0] == EQUAL:
            hunk[0][1] = hunk[0][1].lstrip("\n")
        if hunk[-1][0] == EQUAL:
            hunk[-1][1] = hunk[-1][1].rstrip("\n")
        hunks.append([piece for piece in hunk if piece[1]])
    return hunks


def hunks_html(hunks: Sequence[Hunk]) -> SafeString:
    """The hunks as HTML, every piece of text escaped: `<del>` for what went, `<ins>` for
    what came, one `<div class="text-diff-hunk">` per passage."""
    tags = {DELETE: "del", INSERT: "ins"}
    parts = []
    for hunk in hunks:
        body = "".join(
            f"<{tags[op]}>{escape(text)}</{tags[op]}>" if op in tags else str(escape(text))
            for op, text in hunk
        )
        parts.append(f'<div class="text-diff-hunk">{body}</div>')
    return mark_safe("".join(parts))  # noqa: S308 - every text above went through escape()


def hunks_text(hunks: Sequence[Hunk]) -> str:
    """The hunks as plain text, for a text e-mail: [-what went-]{+what came+}, passages
    separated by a line with "…"."""
    marks = {DELETE: ("[-", "-]"), INSERT: ("{+", "+}")}
    passages = []
    for hunk in hunks:
        text = "".join(
            f"{marks[op][0]}{piece}{marks[op][1]}" if op in marks else piece for op, piece in hunk
        )
        passages.append(text.strip("\n"))
    return "\n…\n".join(passages)


@dataclass(frozen=True)
class ShownChange:
    """One changed field as a reader sees it, in their language and time zone."""

    field: str
    label: str
    long: bool
    before: str = ""
    after: str = ""
    html: str = ""  # a SafeString: escaped by hunks_html
    text: str = ""


def _shown_value(kind: str, value: str | None, tz: tzinfo) -> str:
    if value is None or value == "":
        return "–"
    if kind == "moment":
        moment = parse_datetime(value)
        if moment is None:
            return value
        return formats.date_format(timezone.localtime(moment, tz), "DATETIME_FORMAT")
    if kind == "choice":
        return _(value)
    if kind == "number":
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    return value


def shown_changes(changes: Iterable[FieldChange], *, tz: tzinfo | None = None) -> list[ShownChange]:
    """The changes for a reader: call under translation.override(their language)."""
    tz = tz or timezone.get_current_timezone()
    shown = []
    for change in changes:
        label = _(change["label"])
        if change["kind"] == "long":
            hunks = change.get("hunks", [])
            shown.append(
                ShownChange(
                    field=change["field"],
                    label=label,
                    long=True,
                    html=hunks_html(hunks),
                    text=hunks_text(hunks),
                )
            )
        else:
            shown.append(
                ShownChange(
                    field=change["field"],
                    label=label,
                    long=False,
                    before=_shown_value(change["kind"], change["before"], tz),
                    after=_shown_value(change["kind"], change["after"], tz),
                )
            )
    return shown
