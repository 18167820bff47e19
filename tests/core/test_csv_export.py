import csv
import io

from core.csv_export import csv_download, csv_safe


def test_cells_that_would_run_as_formulas_are_quoted():
    for dangerous in ("=1+1", "+33 6", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(dangerous) == "'" + dangerous
    assert csv_safe("Vœux 2027") == "Vœux 2027"
    assert csv_safe(None) == ""
    assert csv_safe(40_000) == "40000"


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
    assert text.splitlines()[1] == "Événement,04:00"
