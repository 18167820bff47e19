"""Receivers of other libraries' signals; each only hands plain data to a service."""

from typing import Any

from notifications.services.bounces import notification_bounced


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
