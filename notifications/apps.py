from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from anymail.signals import tracking
        from django.db.models.signals import post_delete, post_save

        from accounts.models import User
        from notifications.models import SubscriptionToken
        from notifications.receivers import (
            forget_deleted_address,
            forget_inactive_owners_address,
            record_tracking_event,
        )

        # Bounces reported by the e-mail provider's webhook (docs/EMAIL.md).
        tracking.connect(record_tracking_event, dispatch_uid="notifications.bounces")
        # Signals, not calls from services: an address must stop answering however its
        # token goes or its owner is deactivated, the admin and cascades included.
        post_delete.connect(
            forget_deleted_address,
            sender=SubscriptionToken,
            dispatch_uid="notifications.subscription_deleted",
        )
        post_save.connect(
            forget_inactive_owners_address, sender=User, dispatch_uid="notifications.owner_saved"
        )
