"""XLSX downloads: the same tables as the CSV exports, with typed cells (a date is a date,
a count a number), so Excel sorts and sums them in any language without guessing."""

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.worksheet._write_only import WriteOnlyWorksheet  # type: ignore[import-untyped]

from core.csv_export import csv_download, looks_like_formula
from core.text import document_safe

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOLD = Font(bold=True)


def _cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    if value is None or value == "":
        return WriteOnlyCell(sheet, value=None)
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value=str(value))
    if isinstance(value, datetime):
        # Excel has no time zones: the reader's local time, as the page shows it.
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None))
        seconds = ":ss" if local.second or local.microsecond else ""
        cell.number_format = f"yyyy-mm-dd hh:mm{seconds}"
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, int | float | Decimal):
        return WriteOnlyCell(sheet, value=value)
    # openpyxl refuses what XML cannot hold: a stray byte in a title must not break it.
    text = document_safe(str(value))
    cell = WriteOnlyCell(sheet, value=text)
    if looks_like_formula(text):
        # openpyxl stores a text starting with `=` as a formula: keep it text, and mark it
        # "quote prefix" so Excel keeps it text when someone edits the cell, as it does
        # for one typed after a `'`. The value itself is kept exactly as written.
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def xlsx_bytes(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, sheet_title: str = "Export"
) -> bytes:
    """One sheet: a bold, frozen header row, then every row with typed cells (numbers,
    dates and date-times in the current time zone, text that never runs as a formula).
    Built in memory: the exports are at most a few thousand rows."""
    return xlsx_workbook_bytes([(sheet_title, header, rows)])


def xlsx_workbook_bytes(
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]],
) -> bytes:
    """A workbook of one sheet per (title, header, rows), each as `xlsx_bytes` writes it.
    Sheet titles are cut to Excel's 31 characters, without the characters it refuses."""
    workbook = Workbook(write_only=True)
    for sheet_title, header, rows in sheets:
        sheet = workbook.create_sheet(title=_SHEET_TITLE_FORBIDDEN.sub("-", sheet_title)[:31])
        sheet.freeze_panes = "A2"
        heading = []
        for title in header:
            cell = _cell(sheet, title)
            cell.font = _BOLD
            heading.append(cell)
        sheet.append(heading)
        for row in rows:
            sheet.append([_cell(sheet, value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_download(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    sheet_title: str = "Export",
) -> HttpResponse:
    """An XLSX attachment of the table (`xlsx_bytes`)."""
    response = HttpResponse(
        xlsx_bytes(header, rows, sheet_title=sheet_title), content_type=XLSX_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def table_download(
    export_format: str,
    basename: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    sheet_title: str = "Export",
) -> HttpResponseBase:
    """The table as `<basename>.xlsx` when `export_format` is "xlsx", else as a streamed
    `<basename>.csv` in the reader's dialect."""
    if export_format == "xlsx":
        return xlsx_download(f"{basename}.xlsx", header, rows, sheet_title=sheet_title)
    return csv_download(f"{basename}.csv", header, rows)
