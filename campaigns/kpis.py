"""KPI figures as marketers type and read them: decimals, a unit (count, %, €), and
whether higher or lower is better.

Parsing accepts what people paste from a report in either language ("2,74 %", "1 500",
"€1,500.50"); formatting follows the reader's language ("2.74%" / "2,74 %",
"€1,500" / "1 500 €"). The bounds are the service's (campaigns.services.editing).
"""

import re
from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from campaigns.models import Kpi

Unit = Kpi.Unit
Direction = Kpi.Direction

# Spaces of any width (French groups thousands with a narrow no-break space), and the
# unit signs people paste along with the number.
_NOISE = re.compile(r"[\s\u00a0\u202f%€]")
_ENGLISH_GROUPS = re.compile(r"\d{1,3}(,\d{3})+")


def kpi_number_parse(raw: str, *, language: str | None = None) -> Decimal | None:
    """The figure typed in `raw`, or None when nothing was typed. ValueError when it is
    not a number. With both "," and "." the last one is the decimal mark; a lone "," is
    the decimal mark in French, and in English too unless it groups thousands
    ("1,500")."""
    text = _NOISE.sub("", raw)
    if not text:
        return None
    language = (language or get_language() or "en")[:2]
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "")
        text = text.replace(",", ".")
    elif "," in text:
        if language != "fr" and _ENGLISH_GROUPS.fullmatch(text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", text):
        raise ValueError(f"not a number: {raw!r}")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {raw!r}") from None


def kpi_value_format(value: Decimal | int | None, unit: str) -> str:
    """A figure with its unit in the reader's language; a dash for none. Decimals only
    when there are some (12 → "12", 2.5 → "2.50")."""
    if value is None:
        return "–"
    value = Decimal(value)
    places = 0 if value == value.to_integral_value() else 2
    number = formats.number_format(value, places, use_l10n=True, force_grouping=True)
    french = (get_language() or "en").startswith("fr")
    if unit == Unit.PERCENT:
        return f"{number}\u00a0%" if french else f"{number}%"
    if unit == Unit.EUR:
        return f"{number}\u00a0€" if french else f"€{number}"
    return number


def kpi_number_text(value: Decimal | int | None) -> str | None:
    """A figure as plain text for JSON (the timeline): "900", "2.74"; None for none."""
    if value is None:
        return None
    value = Decimal(value)
    if value == value.to_integral_value():
        return str(int(value))
    return str(value.quantize(Decimal("0.01")))


def kpi_number_input(value: Decimal | int | None) -> str:
    """A figure as a form field shows it back: no grouping, decimals only when there
    are some, the reader's decimal mark (kpi_number_parse reads either)."""
    if value is None:
        return ""
    text = kpi_number_text(value) or ""
    return text.replace(".", ",") if (get_language() or "en").startswith("fr") else text


def direction_label(direction: str) -> str:
    return str(Direction(direction).label) if direction in Direction.values else ""


def unit_errors(unit: str, direction: str) -> list[str]:
    errors = []
    if unit not in Unit.values:
        errors.append(_("Choose a unit: count, percentage or euros."))
    if direction not in Direction.values:
        errors.append(_("Choose whether higher or lower is better."))
    return errors
