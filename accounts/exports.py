"""A person's data (accounts.selectors.personal_data_of) as downloadable files."""

import io
import json
import zipfile
from typing import Any

from core.csv_export import csv_lines
from core.xlsx_export import xlsx_workbook_bytes


def _cell(value: object) -> object:
    # Nested values (a notice's summary) stay readable as JSON in one cell.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def personal_data_json(data: dict[str, list[dict[str, Any]]]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def personal_data_zip(data: dict[str, list[dict[str, Any]]]) -> bytes:
    """A zip of one CSV per section, each made safe by core.csv_export (formula cells
    neutralised, a byte-order mark for Excel). Exports are one person's rows: built in
    memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for section, rows in data.items():
            header = _header(rows)
            lines = csv_lines(header, ([_cell(row.get(key)) for key in header] for row in rows))
            archive.writestr(f"{section}.csv", "".join(lines).encode())
    return buffer.getvalue()


def _header(rows: list[dict[str, Any]]) -> list[str]:
    header: list[str] = []
    for row in rows:
        header.extend(key for key in row if key not in header)
    return header


def personal_data_xlsx(data: dict[str, list[dict[str, Any]]]) -> bytes:
    """A workbook of one sheet per section, the same columns as the zip's CSVs; text that
    looks like a formula stays text (core.xlsx_export)."""
    sheets = []
    for section, rows in data.items():
        header = _header(rows)
        sheets.append((section, header, [[_cell(row.get(key)) for key in header] for row in rows]))
    return xlsx_workbook_bytes(sheets)
