"""Names and titles people type: one line of visible text, safe in any header.

Bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) make `moc.evil` read as
`live.com` or reverse a file name; they are stripped silently, since nobody means to type
them. Other control characters (line breaks, tabs, NUL, invisible format characters) are
refused with a message: a line break in a name once made every e-mail mentioning that
person fail for good ("Header values may not contain linefeed"). Rows older than the
rule may still hold anything, so e-mail headers built from user text go through
`header_safe` as well.
"""

import re
import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import Combinable
from django.utils.translation import gettext_lazy as _

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # left-to-right, right-to-left and Arabic letter marks
)
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# Invisible format characters that are part of how words are written: the zero-width
# non-joiner and joiner (Persian, Indic scripts, emoji sequences). Header-safe.
_WRITING_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
# Control (Cc), format (Cf), line and paragraph separators (Zl, Zp).
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})

# What an Atom document or an XLSX cell (XML 1.0) and an iCalendar text (RFC 5545
# §3.3.11) cannot hold: control characters other than tab and line breaks.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

ONE_LINE_MESSAGE = _("A name must fit on one line, without tabs or control characters.")


def strip_bidi(text: str) -> str:
    """`text` without bidi control characters."""
    return _BIDI.sub("", text)


def _is_control(character: str) -> bool:
    return (
        unicodedata.category(character) in _CONTROL_CATEGORIES
        and character not in _WRITING_FORMAT_CHARACTERS
    )


def has_control_characters(text: str) -> bool:
    """Whether `text`, once bidi controls are stripped, holds a line break, a tab or
    another control or invisible format character."""
    return any(_is_control(character) for character in strip_bidi(text))


def validate_one_line(value: str) -> None:
    """The validator of names (NameField): one line, no control characters."""
    if has_control_characters(str(value)):
        raise ValidationError(ONE_LINE_MESSAGE, code="control_characters")


def header_safe(text: str) -> str:
    """`text` fit for an e-mail header (a subject, a display name): bidi controls removed,
    every other control character, line break or run of blanks made one space. Never
    raises: whatever an old row holds, the message still goes out."""
    text = strip_bidi(str(text))
    text = "".join(" " if _is_control(c) else c for c in text)
    return " ".join(text.split())


def document_safe(text: str) -> str:
    """`text` with each character a feed, a calendar or a workbook cannot hold made a
    visible U+FFFD, never raising: a vertical tab pasted from a word processor into one
    summary must not break the feed or export of everyone it lists."""
    return _UNWRITABLE.sub("\ufffd", text)


class NameFormField(forms.CharField):
    """A person's or a team's name in a form: bidi controls stripped, one line."""

    default_validators = [validate_one_line]

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return strip_bidi(text) if text else text


# Subscripted for the type checker: reads as str, writes as CharField's (django_stubs_ext,
# patched in at settings time, makes the subscript valid at run time).
class NameField(models.CharField[str | int | Combinable, str]):
    """A person's full name or a team's name: a CharField that strips bidi controls and
    refuses anything but one line of text, in forms, the admin and `full_clean`."""

    default_validators = [validate_one_line]

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return strip_bidi(value) if isinstance(value, str) else value

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": NameFormField, **kwargs})
