"""CSV downloads: streamed, opened correctly by Excel in the reader's language, and safe
from formula injection."""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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
    return "'" + text if looks_like_formula(text) else text


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet would run `text` as a formula (its first character past any
    spaces is one of FORMULA_PREFIXES): the CSV and XLSX exports both defuse those."""
    return text.lstrip(" ").startswith(FORMULA_PREFIXES)


@dataclass(frozen=True)
class CsvDialect:
    """What Excel expects when it opens a CSV by double-click, which follows the
    computer's regional settings: French Excel splits on `;` and reads `1,5` as a number,
    English Excel splits on `,` and reads `1.5`."""

    delimiter: str
    decimal: str


ENGLISH = CsvDialect(delimiter=",", decimal=".")
FRENCH = CsvDialect(delimiter=";", decimal=",")


def csv_dialect(language: str | None = None) -> CsvDialect:
    """The dialect of the reader's language (the active one by default)."""
    language = language or translation.get_language() or ""
    return FRENCH if language.split("-")[0].lower() == "fr" else ENGLISH


def csv_text(value: object, dialect: CsvDialect = ENGLISH) -> object:
    """A typed cell as the text a spreadsheet in that dialect reads back as the same type:
    numbers with the dialect's decimal mark, dates and times in ISO 8601 (`2026-12-04
    15:00`, in the current time zone; seconds only when there are some), which Excel reads
    as dates in every language. Text is left to `csv_safe`."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | Decimal):
        return str(value).replace(".", dialect.decimal)
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        precision = "%H:%M:%S" if value.second or value.microsecond else "%H:%M"
        return value.strftime(f"%Y-%m-%d {precision}")
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_line(cells: Iterable[object], dialect: CsvDialect = ENGLISH) -> str:
    """One CSV line, split by the dialect's separator, each cell made safe by `csv_safe`.
    A cell holding a `;` is quoted as well as one holding a `,`, so a reader splitting on
    either keeps it whole when it starts the line."""
    out = []
    for cell in cells:
        text = csv_safe(csv_text(cell, dialect))
        if isinstance(cell, float | Decimal) and text[0].isdigit():
            # A decimal comma is no separator in the French dialect; unquoted, it is what
            # Excel reads as a number whatever the regional settings' quoting habits.
            out.append(text)
            continue
        if _NEEDS_QUOTES.intersection(text) or text.startswith("'"):
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return dialect.delimiter.join(out) + "\r\n"


def csv_lines(
    header: Sequence[str], rows: Iterable[Sequence[object]], dialect: CsvDialect | None = None
) -> Iterator[str]:
    """The CSV text, line by line, in the dialect of the active language unless given: a
    byte-order mark (so Excel reads accents as UTF-8), the header, then every row with
    each cell made safe. For a file built in memory (a zip of several CSVs); a download
    of one CSV uses csv_download."""
    dialect = dialect or csv_dialect()
    yield "\ufeff"
    yield csv_line(header, dialect)
    for row in rows:
        yield csv_line(row, dialect)


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A streamed CSV attachment: a byte-order mark (so Excel reads accents as UTF-8),
    the header, then every row with each cell made safe (`csv_line`), in the reader's
    language (its words and its dialect: `;` and `1,5` in French) and time zone. `rows`
    may be a generator: it is consumed as the response streams."""

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
