from django import template
from django.core.exceptions import FieldDoesNotExist

from campaigns.models import Campaign

register = template.Library()


@register.filter
def field_labels(names: list[str]) -> str:
    """Timeline details store field names; show their translated labels."""
    labels = []
    for name in names or []:
        try:
            labels.append(str(Campaign._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            labels.append(name)
    return ", ".join(labels)
