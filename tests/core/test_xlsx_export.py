import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
from django.utils import timezone

from core.xlsx_export import XLSX_CONTENT_TYPE, table_download, xlsx_bytes, xlsx_download


def read_sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def test_cells_keep_their_types_in_the_readers_time_zone():
    launch = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    with timezone.override(ZoneInfo("Europe/Paris")):
        content = xlsx_bytes(
            ["Title", "Launch", "Day", "Recipients", "Rate", "Hours", "Empty"],
            [["Vœux", launch, date(2026, 12, 4), 1500, Decimal("12.5"), 1.5, None]],
            sheet_title="Semaine 2026-W49",
        )
    sheet = read_sheet(content)
    assert sheet.title == "Semaine 2026-W49"
    header, row = sheet.iter_rows()
    assert [cell.value for cell in header][:2] == ["Title", "Launch"]
    assert header[0].font.bold
    assert sheet.freeze_panes == "A2"
    title, when, day, recipients, rate, hours, empty = row
    assert (title.value, title.data_type) == ("Vœux", "s")
    assert when.value == datetime(2026, 12, 4, 15, 0)  # Paris, as the page shows it
    assert when.is_date
    assert when.number_format == "yyyy-mm-dd hh:mm"
    assert day.is_date
    assert day.number_format == "yyyy-mm-dd"
    assert (recipients.value, recipients.data_type) == (1500, "n")
    assert (rate.value, rate.data_type) == (12.5, "n")
    assert (hours.value, hours.data_type) == (1.5, "n")
    assert empty.value is None


def test_seconds_are_shown_only_when_there_are_some():
    sheet = read_sheet(xlsx_bytes(["When"], [[datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)]]))
    cell = sheet["A2"]
    assert cell.number_format == "yyyy-mm-dd hh:mm:ss"
    assert cell.value.second == 5


def test_text_that_looks_like_a_formula_stays_text_exactly_as_written():
    hostile = ['=HYPERLINK("http://evil")', "+33 6", "-2+3", "@SUM(A1)", "  =1"]
    sheet = read_sheet(xlsx_bytes(["Cell"], [[value] for value in hostile]))
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == hostile  # nothing prefixed, nothing lost
    assert all(cell.data_type == "s" for cell in cells)  # never "f" (a formula)
    assert all(cell.quotePrefix for cell in cells)  # and kept text when edited in Excel
    plain = read_sheet(xlsx_bytes(["Cell"], [["Promo"]]))["A2"]
    assert not plain.quotePrefix


def test_control_characters_a_workbook_cannot_hold_are_replaced_not_fatal():
    sheet = read_sheet(xlsx_bytes(["Cell"], [["Soldes\x00 d'hiver\x1b"]]))
    assert sheet["A2"].value == "Soldes\ufffd d'hiver\ufffd"


def test_downloads_are_attachments_of_the_right_type():
    response = xlsx_download("x.xlsx", ["a"], [[1]])
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="x.xlsx"'
    assert read_sheet(response.content)["A2"].value == 1
    assert table_download("xlsx", "y", ["a"], [])["Content-Type"] == XLSX_CONTENT_TYPE
    as_csv = table_download("csv", "y", ["a"], [])
    assert as_csv["Content-Type"].startswith("text/csv")
    assert 'filename="y.csv"' in as_csv["Content-Disposition"]
