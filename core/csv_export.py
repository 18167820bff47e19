"""CSV downloads: streamed, opened correctly by Excel, and safe from formula injection."""

import csv
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse
from django.utils import timezone, translation

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell as text, quoted with a leading apostrophe when it would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text, line by line: a byte-order mark (so Excel reads accents as UTF-8),
    the header, then every row with each cell made safe. For a file built in memory (a
    zip of several CSVs); a download of one CSV uses csv_download."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> StreamingHttpResponse:
    """A streamed CSV attachment: a byte-order mark (so Excel reads accents as UTF-8),
    the header, then every row with each cell made safe, in the reader's language and
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
