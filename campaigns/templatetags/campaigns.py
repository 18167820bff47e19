from decimal import Decimal

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field

from campaigns.kpis import kpi_number_parse, kpi_value_format
from campaigns.models import Campaign
from core.changes import FieldChange, ShownChange
from core.changes import shown_changes as shown

register = template.Library()


@register.filter
def field_labels(names: list[str]) -> str:
    """Timeline details store field names; show their translated labels."""
    labels = []
    for name in names or []:
        try:
            field = Campaign._meta.get_field(name)
        except FieldDoesNotExist:
            labels.append(name)
        else:
            # A reverse relation has no label of its own: shown by name, like unknown ones.
            labels.append(str(field.verbose_name) if isinstance(field, Field) else name)
    return ", ".join(labels)


@register.filter
def shown_changes(changes: list[FieldChange] | None) -> list[ShownChange]:
    """A version's changes (core.changes) in the reader's language and time zone."""
    return shown(changes or [])


@register.filter
def kpi_value(value: object, unit: str = "") -> str:
    """A KPI figure with its unit in the reader's language ("2.74%", "1 500 €"). The
    timeline keeps figures as text: those are read back first."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            number = kpi_number_parse(value, language="en")
        except ValueError:
            return value
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    else:
        return str(value)
    return kpi_value_format(number, unit or "count")


@register.filter
def kpi_change(change: dict[str, object], side: str) -> str:
    """One side ("before" or "after") of a results change on the timeline, with the
    KPI's unit (events written before units existed have none: a count)."""
    return kpi_value(change.get(side), str(change.get("unit") or "count"))
