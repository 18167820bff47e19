"""Receivers of signals; each only hands plain data to a service."""

from typing import Any

from accounts.models import User
from notifications.models import SubscriptionToken
from notifications.services.bounces import notification_bounced
from notifications.subscriptions import subscription_validators_forget_on_commit


def record_tracking_event(sender: object, event: Any, esp_name: str, **kwargs: object) -> None:
    """anymail's `tracking` signal: a delivery report from the e-mail provider's webhook
    (`event` is an `anymail.signals.AnymailTrackingEvent`). The service decides which
    reports matter; an exception here would answer the provider 500, and it would send
    the same report again later, which the service ignores once recorded."""
    details = [text for text in (event.description, event.mta_response) if text]
    notification_bounced(
        provider_message_id=str(event.message_id or ""),
        event_type=str(event.event_type or ""),
        recipient=str(event.recipient or ""),
        description="; ".join(str(text) for text in details),
        reject_reason=str(event.reject_reason or ""),
        esp_name=esp_name,
    )


def forget_deleted_address(sender: type, instance: SubscriptionToken, **kwargs: object) -> None:
    """post_delete of a token (one by one, in bulk, or with its owner)."""
    subscription_validators_forget_on_commit(instance.token)


def forget_inactive_owners_address(sender: type, instance: User, **kwargs: object) -> None:
    """post_save of a person: once deactivated, their address answers nothing. Only an
    inactive person's save costs a query (sign-ins save active people all day)."""
    if instance.is_active:
        return
    subscription_validators_forget_on_commit(
        *SubscriptionToken.objects.filter(user=instance).values_list("token", flat=True)
    )
