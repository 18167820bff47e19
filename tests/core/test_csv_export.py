import csv
import io
from decimal import Decimal

import pytest

from core.csv_export import FORMULA_PREFIXES, csv_download, csv_line, csv_safe


def test_cells_that_would_run_as_formulas_are_quoted():
    for dangerous in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(dangerous) == "'" + dangerous
    assert csv_safe("Vœux 2027") == "Vœux 2027"
    assert csv_safe(None) == ""
    assert csv_safe(40_000) == "40000"


def test_numbers_are_written_as_text_and_negative_ones_defused():
    assert csv_safe(7) == "7"
    assert csv_safe(-5) == "'-5"
    assert csv_safe(Decimal("-1.5")) == "'-1.5"


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("Promo;=2+5", "Promo;'=2+5"),
        ("Promo,=2+5", "Promo,'=2+5"),
        ("a: 1/2; =cmd: 0/1", "a: 1/2; '=cmd: 0/1"),
        ("x;+1;-2,@3", "x;'+1;'-2,'@3"),
        ("  =1+1", "'  =1+1"),
        ("=1;=2", "'=1;'=2"),
        ("Soldes; 20 %", "Soldes; 20 %"),
        ("a;\r=1", "a;\r'=1"),
        ("line\n-2", "line\n'-2"),
    ],
)
def test_a_formula_after_either_separator_is_defused_too(cell, safe):
    assert csv_safe(cell) == safe


def test_cells_with_either_separator_a_quote_or_a_defused_start_are_quoted():
    assert csv_line(["plain", "a;b", "a,b", 'say "hi"', "=1", 3]) == (
        'plain,"a;b","a,b","say ""hi""","\'=1",3\r\n'
    )


HOSTILE_ROW = [
    "Promo;=2+5",
    "Promo,=2+5",
    "Team A: 1/2; =cmd|' /C calc'!A0: 0/1",
    "@SUM(A1)",
    "-2+3",
    "\t=1",
    "a;\r=1",
    'quote"; =1',
    -7,
]


@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("position", [0, 1, 4])
def test_no_cell_starts_a_formula_whichever_separator_the_reader_splits_on(separator, position):
    """Our file is `,`-separated; French Excel opens it splitting on `;`. Either way, no
    piece a spreadsheet sees as a cell may start with a formula character, wherever the
    hostile text sits in the row."""
    row: list[object] = ["lead"] * 5
    for cell in HOSTILE_ROW:
        row[position] = cell
        text = csv_line(row)
        for parsed in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
            for piece in parsed:
                assert not piece.lstrip(' "\t\r\n').startswith(FORMULA_PREFIXES[:4]), (cell, piece)
        if separator == ",":
            assert next(csv.reader(io.StringIO(text, newline="")))[position] == csv_safe(cell)


def test_download_streams_a_bom_the_header_and_safe_rows():
    response = csv_download("x.csv", ["Title", "Team"], [["=HYPERLINK()", "Clientèle"]])
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows == [["Title", "Team"], ["'=HYPERLINK()", "Clientèle"]]


def test_rows_are_written_in_the_language_and_time_zone_of_the_request():
    """The rows are produced while the response streams, after the view (and the
    middleware's translation.override) returned."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation
    from django.utils.translation import gettext

    launch = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

    def rows():
        yield [gettext("Event"), timezone.localtime(launch).strftime("%H:%M")]

    with translation.override("fr"), timezone.override(ZoneInfo("America/New_York")):
        response = csv_download("x.csv", ["a", "b"], rows())
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[1] == "Événement;04:00"  # and in French Excel's dialect


# --- the reader's dialect -------------------------------------------------------------------


def test_french_readers_get_semicolons_and_decimal_commas_english_ones_commas_and_points():
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation

    from core.csv_export import ENGLISH, FRENCH, csv_dialect

    row = ["Vœux", 1.5, Decimal("12.25"), 1500, datetime(2026, 12, 4, 14, tzinfo=UTC)]
    row += [date(2026, 12, 4), None]
    with timezone.override(ZoneInfo("Europe/Paris")):
        french = csv_line(row, FRENCH)
        english = csv_line(row, ENGLISH)
    assert french == "Vœux;1,5;12,25;1500;2026-12-04 15:00;2026-12-04;\r\n"
    assert english == "Vœux,1.5,12.25,1500,2026-12-04 15:00,2026-12-04,\r\n"
    [parsed] = csv.reader(io.StringIO(french, newline=""), delimiter=";")
    assert parsed[1:3] == ["1,5", "12,25"]  # one cell each, as French Excel reads them

    with translation.override("fr"):
        assert csv_dialect() == FRENCH
    with translation.override("en"):
        assert csv_dialect() == ENGLISH
    assert csv_dialect("fr-ca") == FRENCH


def test_a_download_in_french_is_split_on_semicolons_and_stays_formula_safe():
    from django.utils import translation

    with translation.override("fr"):
        response = csv_download("x.csv", ["Titre", "Taux"], [["=1+1", 0.5], ["Promo;=2", 2.0]])
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows == [["Titre", "Taux"], ["'=1+1", "0,5"], ["Promo;'=2", "2,0"]]
