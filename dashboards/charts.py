"""Server-side SVG charts: no JavaScript, no CDN, readable without colour.

Each function returns safe HTML: a `<figure>` holding the SVG (role="img", a `<title>`
and an aria-label, direct value labels, a distinct marker and dash pattern per series)
and the same numbers as a `<table>` inside a `<details>`. Every label goes through
`escape`; only numbers are interpolated raw.

Using them from another page (the overview, for instance): compute the figures in a
selector, build the chart in the view and render the variable as is:

    from dashboards.charts import bar_chart
    context["teams_chart"] = bar_chart(
        title=_("On-time acknowledgements per team"),
        bars=[(team.name, team.rate) for team in rows],
    )

    {{ teams_chart }}        {# already safe; nothing else to load #}
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

SVG_NS = "http://www.w3.org/2000/svg"
# Marker shapes and dash patterns tell series apart without colour.
_DASHES = ("", "6 4", "2 3", "10 3 2 3")
_COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        # The same pattern as the page's figures: "72%" in English, "72 %" in French.
        return _("%(n)s%%") % {"n": _number(value)}
    return f"{_number(value)}{unit}"


def _marker(index: int, x: float, y: float, colour: str) -> str:
    shape = index % 3
    if shape == 0:
        return f'<circle cx="{_number(x)}" cy="{_number(y)}" r="4" fill="{colour}"/>'
    if shape == 1:
        return (
            f'<rect x="{_number(x - 4)}" y="{_number(y - 4)}" width="8" height="8" '
            f'fill="{colour}"/>'
        )
    points = f"{_number(x)},{_number(y - 5)} {_number(x - 5)},{_number(y + 4)} " + (
        f"{_number(x + 5)},{_number(y + 4)}"
    )
    return f'<polygon points="{points}" fill="{colour}"/>'


def _svg_open(
    name: str, width: float, height: float, kind: str, *, fixed_size: bool = False
) -> str:
    """The opening `<svg>` of every chart: an image whose accessible name (aria-label and
    `<title>`) is `name`; scaled by its container unless `fixed_size`."""
    size = f' width="{width}" height="{height}"' if fixed_size else ""
    return (
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {width} {height}"{size} role="img" '
        f'aria-label="{escape(name)}" class="chart {kind}"><title>{escape(name)}</title>'
    )


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    header = "".join(f'<th scope="col">{escape(cell)}</th>' for cell in head)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(row[0])}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in rows
    )
    # Outside the f-string: xgettext does not look inside f-strings.
    summary = escape(_("Figures as a table"))
    return (
        f'<details class="chart-data"><summary>{summary}</summary>'
        f"<table><caption>{escape(caption)}</caption><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table></details>"
    )


def _segments(
    values: Sequence[float | None],
    x_at: Callable[[int], float],
    y_at: Callable[[float], float],
) -> list[list[str]]:
    """The "x,y" points of each unbroken run of values: a None leaves a gap."""
    segments: list[list[str]] = []
    segment: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_number(x_at(i))},{_number(y_at(value))}")
    if segment:
        segments.append(segment)
    return segments


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    y_max: float = 100,
    unit: str = "%",
    tick_labels: Sequence[str] | None = None,
) -> SafeString:
    """A line chart over `labels` (weeks, say); a None value leaves a gap. `tick_labels`,
    when given, are shorter labels for the axis; the table keeps the full ones."""
    width, height = 640, 260
    left, right, top, bottom = 44, 28, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x_at(i: int) -> float:
        return left + i * step

    def y_at(v: float) -> float:
        return top + plot_h - (min(max(v, 0), y_max) / y_max) * plot_h

    parts = [
        _svg_open(title, width, height, "chart-line"),
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        level = y_max * tick
        y = y_at(level)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_number(y)}" y2="{_number(y)}" '
            'stroke="#d1d5db" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{_number(y + 4)}" text-anchor="end" font-size="11">'
            f"{escape(_value_text(level, unit))}</text>"
        )
    for i, label in enumerate(tick_labels or labels):
        parts.append(
            f'<text x="{_number(x_at(i))}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="10">{escape(label)}</text>'
        )
    for index, one in enumerate(series):
        colour = _COLOURS[index % len(_COLOURS)]
        dash = _DASHES[index % len(_DASHES)]
        segments = _segments(one.values, x_at, y_at)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g aria-hidden="true"><desc>{escape(one.name)}</desc>')
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash_attr}/>'
                )
        for i, value in enumerate(one.values):
            if value is None:
                continue
            x, y = x_at(i), y_at(value)
            parts.append(_marker(index, x, y, colour))
            parts.append(
                f'<text x="{_number(x)}" y="{_number(y - 8)}" text-anchor="middle" '
                f'font-size="11">{escape(_value_text(value, unit))}</text>'
            )
        parts.append("</g>")
    if len(series) > 1:
        for index, one in enumerate(series):
            x = left + index * 160
            y = height - 12
            colour = _COLOURS[index % len(_COLOURS)]
            parts.append(
                _marker(index, x + 4, y - 4, colour)
                + f'<text x="{x + 14}" y="{y}" font-size="11">{escape(one.name)}</text>'
            )
    parts.append("</svg>")
    rows = [
        [label, *(_value_text(one.values[i], unit) for one in series)]
        for i, label in enumerate(labels)
    ]
    table = _table(title, ["", *(one.name for one in series)], rows)
    # On a phone the line keeps its size and scrolls sideways (the stylesheet): say so,
    # rather than leave the later weeks to be found by chance. Screen readers have the
    # whole chart in its name and table.
    cue = escape(_("← Swipe sideways to see the earlier weeks"))
    cue_html = f'<p class="chart-scroll-cue" aria-hidden="true">{cue}</p>'
    return mark_safe(  # noqa: S308
        f'<figure class="chart-figure">{cue_html}{"".join(parts)}{table}</figure>'
    )


def _short(label: str, length: int) -> str:
    return label if len(label) <= length else label[: length - 1].rstrip() + "…"


def bar_chart(
    *,
    title: str,
    bars: Sequence[tuple[str, float | None]],
    x_max: float = 100,
    unit: str = "%",
) -> SafeString:
    """A horizontal bar chart, one labelled bar per row, its value written beside it.

    Drawn twice: labels beside the bars for a wide screen, and labels above the bars,
    340 units wide, for a phone (the stylesheet shows one), so that on a 390 px screen the
    chart fits without sideways scrolling and its text stays at its size."""
    parts = [_bars_wide(title, bars, x_max, unit), _bars_narrow(title, bars, x_max, unit)]
    table = _table(title, ["", _("Value")], [[label, _value_text(v, unit)] for label, v in bars])
    return mark_safe(f'<figure class="chart-figure">{"".join(parts)}{table}</figure>')  # noqa: S308


def _bars_wide(
    title: str, bars: Sequence[tuple[str, float | None]], x_max: float, unit: str
) -> str:
    bar_h, gap, label_w, value_w = 20, 10, 180, 56
    width = 640
    plot_w = width - label_w - value_w
    height = max(len(bars), 1) * (bar_h + gap) + gap
    parts = [_svg_open(title, width, height, "chart-bar chart-wide")]
    for i, (label, value) in enumerate(bars):
        y = gap + i * (bar_h + gap)
        length = 0 if value is None else (min(max(value, 0), x_max) / x_max) * plot_w
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(_short(label, 28))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{_number(length)}" height="{bar_h}" '
            f'fill="{_COLOURS[0]}"/>'
            f'<text x="{_number(label_w + length + 6)}" y="{y + 14}" font-size="12">'
            f"{escape(_value_text(value, unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars_narrow(
    title: str, bars: Sequence[tuple[str, float | None]], x_max: float, unit: str
) -> str:
    label_h, bar_h, gap, value_w = 16, 14, 10, 52
    width = 340
    plot_w = width - value_w
    row_h = label_h + bar_h + gap
    height = max(len(bars), 1) * row_h + gap // 2
    parts = [_svg_open(title, width, height, "chart-bar chart-narrow")]
    for i, (label, value) in enumerate(bars):
        y = gap // 2 + i * row_h
        length = 0 if value is None else (min(max(value, 0), x_max) / x_max) * plot_w
        parts.append(
            f'<text x="0" y="{y + 12}" font-size="13">{escape(_short(label, 44))}</text>'
            f'<rect x="0" y="{y + label_h}" width="{_number(length)}" height="{bar_h}" '
            f'fill="{_COLOURS[0]}"/>'
            f'<text x="{_number(length + 5)}" y="{y + label_h + 11}" font-size="13">'
            f"{escape(_value_text(value, unit))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def sparkline(
    *,
    title: str,
    points: Sequence[tuple[str, float | None]],
    y_max: float = 100,
    unit: str = "%",
) -> SafeString:
    """A word-sized line for a table cell: its accessible name carries every value
    ("W38: 80%, W39: —, …"), and the last known value is written beside it, so the line
    is a shape to glance at, never the only way to read the numbers."""
    width, height, pad, text_w = 96, 24, 3, 38
    plot_w, plot_h = width - 2 * pad, height - 2 * pad
    step = plot_w / max(len(points) - 1, 1)

    def x_at(i: int) -> float:
        return pad + i * step

    def y_at(v: float) -> float:
        return pad + plot_h - (min(max(v, 0), y_max) / y_max) * plot_h

    values = [value for _, value in points]
    no_data = _("no data")  # read aloud where the line shows a gap
    described = ", ".join(
        f"{label}: {no_data if value is None else _value_text(value, unit)}"
        for label, value in points
    )
    name = f"{title} – {described}"
    parts = [
        _svg_open(name, width + text_w, height, "chart-spark", fixed_size=True),
        f'<line x1="{pad}" x2="{width - pad}" y1="{_number(y_at(0))}" y2="{_number(y_at(0))}" '
        'stroke="#d1d5db" stroke-width="1"/>',
    ]
    for segment in _segments(values, x_at, y_at):
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{_COLOURS[0]}" '
                'stroke-width="1.5"/>'
            )
    for i, value in enumerate(values):
        if value is not None:
            parts.append(
                f'<circle cx="{_number(x_at(i))}" cy="{_number(y_at(value))}" r="2.6" '
                f'fill="{_COLOURS[0]}"/>'
            )
    last = next((value for value in reversed(values) if value is not None), None)
    parts.append(
        f'<text x="{width + 4}" y="{height / 2 + 4:.0f}" font-size="11">'
        f"{escape(_value_text(last, unit))}</text></svg>"
    )
    return mark_safe("".join(parts))  # noqa: S308 - labels escaped, numbers formatted
