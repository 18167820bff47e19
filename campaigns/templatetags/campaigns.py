from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field

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
