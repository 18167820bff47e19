"""CSV downloads: streamed, opened correctly by Excel, and safe from formula injection."""

import re
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone, translation

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Where a spreadsheet may start a cell inside our text: after a `,` (the separator we
# write), a `;` (the one French, German... Excel splits on when it opens the file by
# double-click, ignoring our quotes when the `;` is not at the start of a field) or a
# line break (a new row, for the same reader). Blanks in between do not stop the formula.
_FORMULA_AFTER_SEPARATOR = re.compile(r"([,;\r\n][ \t\r\n]*)(?=[=+\-@])")
_NEEDS_QUOTES = frozenset(',;"\r\n')


def csv_safe(value: object) -> str:
    """The cell as text that no spreadsheet runs as a formula, whichever of `,` or `;` it
    splits on: a leading `'` when the cell starts with a formula character, and a `'`
    before such a character right after a separator inside the text (`Promo;=2+5` becomes
    `Promo;'=2+5`: read with `;`, the second piece is text too), or after a line break.
    A negative number is defused like text: at the start of a line read with `;`, what
    follows it would belong to the same formula (and no export has negative figures)."""
    if value is None:
        return ""
    text = _FORMULA_AFTER_SEPARATOR.sub(r"\1'", str(value))
    return "'" + text if text.lstrip(" ").startswith(FORMULA_PREFIXES) else text


def csv_line(cells: Iterable[object]) -> str:
    """One CSV line, `,`-separated, each cell made safe by `csv_safe`. A cell holding a
    `;` is quoted as well as one holding a `,`, so a reader splitting on either keeps it
    whole when it starts the line."""
    out = []
    for cell in cells:
        text = csv_safe(cell)
        if _NEEDS_QUOTES.intersection(text) or text.startswith("'"):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ",".join(out) + "\r\n"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text, line by line: a byte-order mark (so Excel reads accents as UTF-8),
    the header, then every row with each cell made safe. For a file built in memory (a
    zip of several CSVs); a download of one CSV uses csv_download."""
    yield "\ufeff"
    yield csv_line(header)
    for row in rows:
        yield csv_line(row)


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A streamed CSV attachment: a byte-order mark (so Excel reads accents as UTF-8),
    the header, then every row with each cell made safe (`csv_line`), in the reader's language and
    time zone. `rows` may be a generator: it is consumed as the response streams."""

    # The rows are produced while the response streams, after the view and the
    # middleware that set the reader's language and time zone have returned: carry both.
    language = translation.get_language()
    tz = timezone.get_current_timezone()

    def lines() -> Iterator[str]:
        with translation.override(language), timezone.override(tz):
            yield from csv_lines(header, rows)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
