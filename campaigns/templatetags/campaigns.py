from django import template
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field

from campaigns.models import Campaign

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
