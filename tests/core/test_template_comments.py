"""Django's `{# … #}` comment ends at the line's end: one spread over lines is not a comment,
and the page shows it to the reader (the campaign list did, for one run)."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
UNCLOSED_COMMENT = re.compile(r"\{#(?:(?!#\}).)*$", re.MULTILINE)


def unclosed_comments(text: str) -> list[int]:
    """Line numbers where a `{#` comment is not closed on its own line."""
    return [text.count("\n", 0, match.start()) + 1 for match in UNCLOSED_COMMENT.finditer(text)]


def test_no_template_spreads_a_short_comment_over_lines():
    found = {
        str(path.relative_to(TEMPLATES_DIR)): lines
        for path in sorted(TEMPLATES_DIR.rglob("*"))
        if path.suffix in {".html", ".txt"} and (lines := unclosed_comments(path.read_text()))
    }
    assert found == {}, "use {% comment %} for comments over several lines"


def test_the_scan_finds_a_comment_spread_over_lines_and_passes_closed_ones():
    assert unclosed_comments("<p>\n{# one\n two #}\n") == [2]
    assert unclosed_comments("{# one #} <b>{# two #}</b>\n{% comment %}a\nb{% endcomment %}") == []
