import functools
import zoneinfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.netsafety import UnsafeURLError, check_public_http_url


def validate_webhook_url(value: str) -> None:
    if not value:
        return
    try:
        check_public_http_url(value, allow_private=settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE)
    except UnsafeURLError as exc:
        raise ValidationError(
            _("This webhook URL cannot be used: %(reason)s.") % {"reason": exc}, code="unsafe_url"
        ) from exc


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(
            _("“%(value)s” is not a time zone. Use a name such as Europe/Paris.")
            % {"value": value},
            code="unknown_time_zone",
        )


def validate_working_days(value: str) -> None:
    """ISO weekday digits, Monday 1 to Sunday 7, each at most once: "12345"."""
    if not value or any(c not in "1234567" for c in value) or len(set(value)) != len(value):
        raise ValidationError(
            _("Choose at least one working day."),
            code="invalid_working_days",
        )


def validate_holiday_country(value: str) -> None:
    if value and value not in holidays.list_supported_countries():
        raise ValidationError(
            _("No public-holiday calendar is known for the country code “%(value)s”.")
            % {"value": value},
            code="unknown_holiday_country",
        )


@functools.cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
