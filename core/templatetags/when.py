"""`{% load when %}`: the template side of core.when, so every page writes dates one way.

An empty value renders as nothing: the templates already say "not set" in their words.
"""

from datetime import date, datetime

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core import when

register = template.Library()


@register.filter
def date_short(value: datetime | date | None) -> str:
    return when.date_short(value) if value else ""


@register.filter
def datetime_short(value: datetime | None) -> str:
    return when.datetime_short(value) if value else ""


@register.filter
def datetime_seconds(value: datetime | None) -> str:
    return when.datetime_seconds(value) if value else ""


@register.filter
def time_short(value: datetime | None) -> str:
    return when.time_short(value) if value else ""


@register.filter
def day_long(value: datetime | date | None) -> str:
    return when.day_long(value) if value else ""


@register.filter
def iso(value: datetime | date | None) -> str:
    return when.iso(value) if value else ""


@register.filter
def deadline(value: datetime | None) -> SafeString | str:
    """A due date: `<time>` with the absolute date, then how far it is ("in 3 days",
    "2 h late"), so nobody does date arithmetic in their head."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}">{}</time> <span class="when-relative">({})</span>',
        when.iso(value),
        when.datetime_short(value),
        when.relative(value, late=True),
    )
