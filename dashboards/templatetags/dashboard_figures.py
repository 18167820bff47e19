"""Formatting of dashboard figures: durations and shares, localised."""

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as minutes, hours or days, whichever reads best; a dash when unknown."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _("%(n)s min") % {"n": number_format(round(seconds / 60))}
    # Rounded here: number_format cuts extra decimals off, so 23.75 h would read 23.7
    # on the page and 23.8 in the CSV.
    if seconds < 2 * 86400:
        return _("%(n)s h") % {"n": number_format(round(seconds / 3600, 1), 1)}
    return _("%(n)s d") % {"n": number_format(round(seconds / 86400, 1), 1)}


@register.filter
def percent(share: float | None) -> str:
    if share is None:
        return "–"
    return _("%(n)s%%") % {"n": number_format(round(100 * share))}
