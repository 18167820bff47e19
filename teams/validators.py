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
