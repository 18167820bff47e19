from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from anymail.signals import tracking

        from notifications.receivers import record_tracking_event

        # Bounces reported by the e-mail provider's webhook (docs/EMAIL.md).
        tracking.connect(record_tracking_event, dispatch_uid="notifications.bounces")
