import re
from xml.etree import ElementTree

from dashboards.charts import Series, bar_chart, line_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def svg_of(html: str) -> ElementTree.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ElementTree.fromstring(html[start:end])  # noqa: S314 (our own output)


def table_of(html: str) -> ElementTree.Element:
    start, end = html.index("<table>"), html.index("</table>") + len("</table>")
    return ElementTree.fromstring(html[start:end])  # noqa: S314 (our own output)


def test_bar_chart_is_well_formed_and_escapes_labels():
    html = bar_chart(title="Teams & <rates>", bars=[("<script>", 40), ("Ventes", 100)])
    svg = svg_of(html)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Teams & <rates>"
    assert svg.find(f"{SVG}title").text == "Teams & <rates>"
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert texts == ["<script>", "40%", "Ventes", "100%"]


def test_bar_chart_table_has_the_chart_numbers():
    bars = [("A", 12.5), ("B", 0), ("C", None)]
    html = bar_chart(title="Rates", bars=bars)
    svg_values = [t.text for t in svg_of(html).iter(f"{SVG}text")][1::2]
    cells = [row.findall("td")[0].text for row in table_of(html).iter("tr") if row.findall("td")]
    assert svg_values == cells == ["12.5%", "0%", "—"]
    widths = [float(r.get("width")) for r in svg_of(html).iter(f"{SVG}rect")]
    assert widths == [12.5 / 100 * 404, 0, 0]


def test_line_chart_is_well_formed_with_labels_values_and_gaps():
    labels = ["2026-W45", "2026-W46", "<W47>", "2026-W48"]
    html = line_chart(
        title="Trend",
        labels=labels,
        series=[Series(name="On time", values=[25, None, 100, 0])],
    )
    svg = svg_of(html)
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Trend"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "<W47>" in texts
    assert "&lt;W47&gt;" in html
    assert list(texts[-3:]) == ["25%", "100%", "0%"]
    # The gap in W46 splits the line: one lone point, then a segment of two.
    lines = list(svg.iter(f"{SVG}polyline"))
    assert len(lines) == 1
    assert len(lines[0].get("points").split()) == 2
    assert len(list(svg.iter(f"{SVG}circle"))) == 3
    rows = [
        [row.find("th").text, *(td.text for td in row.findall("td"))]
        for row in table_of(html).find("tbody")
    ]
    assert rows == [
        ["2026-W45", "25%"],
        ["2026-W46", "—"],
        ["<W47>", "100%"],
        ["2026-W48", "0%"],
    ]


def test_several_series_differ_by_marker_and_dash_pattern():
    html = line_chart(
        title="Two",
        labels=["a", "b"],
        series=[Series(name="One", values=[10, 20]), Series(name="<Two>", values=[30, 40])],
    )
    svg = svg_of(html)
    dashes = [line.get("stroke-dasharray") for line in svg.iter(f"{SVG}polyline")]
    assert dashes == [None, "6 4"]
    assert list(svg.iter(f"{SVG}circle"))
    assert list(svg.iter(f"{SVG}rect"))
    assert "<Two>" in [t.text for t in svg.iter(f"{SVG}text")]
    assert not re.search(r"<Two>", html)


def test_line_chart_axis_may_use_short_labels_while_the_table_keeps_full_ones():
    html = line_chart(
        title="T",
        labels=["2026-W47", "2026-W48"],
        tick_labels=["W47", "W48"],
        series=[Series(name="On time", values=[50, 75])],
    )
    texts = [t.text for t in svg_of(html).iter(f"{SVG}text")]
    assert "W47" in texts
    assert "2026-W47" not in texts
    assert [row.find("th").text for row in table_of(html).find("tbody")] == ["2026-W47", "2026-W48"]


def test_sparkline_names_every_value_and_breaks_at_gaps():
    html = str(
        sparkline(
            title="<b>Ventes</b>",
            points=[("W01", 50), ("W02", None), ("W03", 80), ("W04", 100)],
        )
    )
    assert "<b>" not in html
    named = "&lt;b&gt;Ventes&lt;/b&gt; – W01: 50%, W02: no data, W03: 80%, W04: 100%"
    assert f'aria-label="{named}"' in html
    # W01 stands alone (a dot, no line); W03 to W04 is one line.
    assert html.count("<polyline") == 1
    assert html.count("<circle") == 3
    assert html.endswith('font-size="11">100%</text></svg>')
    svg_of(html)  # well-formed XML


def test_durations_round_like_the_csv():
    from dashboards.templatetags.dashboard_figures import duration

    assert duration(23.75 * 3600) == "23.8 h"  # not cut to 23.7
    assert duration(2.26 * 86400) == "2.3 d"
    assert duration(90) == "2 min"
    assert duration(None) == "–"


def test_bar_chart_has_a_phone_drawing_with_labels_above_the_bars():
    html = bar_chart(title="Rates", bars=[("Service après-vente et réclamations", 50), ("B", None)])
    wide, narrow = html.split("</svg>")[:2]
    assert 'class="chart chart-bar chart-wide"' in wide
    svg = svg_of(narrow[narrow.index("<svg") :] + "</svg>")
    assert svg.get("class") == "chart chart-bar chart-narrow"
    assert svg.get("viewBox") == "0 0 340 85"
    assert svg.get("aria-label") == "Rates"
    label, value, *_rest = svg.iter(f"{SVG}text")
    bar = next(svg.iter(f"{SVG}rect"))
    assert label.text == "Service après-vente et réclamations"
    assert float(label.get("y")) < float(bar.get("y"))  # the label sits above its bar
    assert float(bar.get("width")) == 0.5 * (340 - 52)
    assert value.text == "50%"
    assert html.count("<table>") == 1  # the numbers once, for both drawings
