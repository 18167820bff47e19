"""What the e-mail provider reports after it accepted a message: a bounce, a refusal.

An API backend (anymail) gives each sent e-mail the provider's message id, kept on its
outbox row (`Notification.provider_message_id`). When the provider later reports that
the message bounced, its tracking webhook (anymail's `tracking` signal, received in
`notifications.receivers`) names that id, and the row turns from "sent" to "failed" so
that the campaign page and the dashboards show who was never told.
"""

import logging

from notifications.models import Channel, FailureReason, Notification

logger = logging.getLogger(__name__)
Status = Notification.Status

# anymail's normalised event types that mean the message never reached its reader.
# "deferred" is not one (the provider keeps trying), nor "complained": the message was
# delivered, the reader marked it as spam.
UNDELIVERED_EVENTS = frozenset({"bounced", "rejected", "failed"})


def _reason(event_type: str, reject_reason: str) -> FailureReason:
    """The words the campaign's owner reads for this report."""
    if reject_reason == "invalid":
        return FailureReason.ADDRESS_INVALID
    if event_type == "failed" or reject_reason in {"blocked", "spam"}:
        return FailureReason.MESSAGE_REFUSED
    return FailureReason.BOUNCED


def notification_bounced(
    *,
    provider_message_id: str,
    event_type: str,
    recipient: str = "",
    description: str = "",
    reject_reason: str = "",
    esp_name: str = "",
) -> int:
    """Record that the provider could not deliver the e-mail it knows as
    `provider_message_id`: its outbox row becomes failed, with the reason in words and
    the report in `last_error`. Returns how many rows changed: 0, or 1 (each e-mail has
    one recipient, so one row per message id).

    Only "sent" e-mail rows change, in one conditional UPDATE (autocommit, no lock held):
    - idempotent: a repeated report finds the row failed already and changes nothing;
    - no race with a retry: a row sent again by hand is pending or sending, and once
      re-sent it carries the new message's id, so a late report about the old message
      matches nothing.
    Events other than UNDELIVERED_EVENTS, and reports about messages that have no outbox
    row (the daily digest, the Monday e-mail, another application on the same account),
    are logged and change nothing."""
    if event_type not in UNDELIVERED_EVENTS:
        if event_type == "complained":
            logger.info(
                "%s: %s marked message %s as spam", esp_name, recipient, provider_message_id
            )
        return 0
    if not provider_message_id:
        logger.info("%s: %s report for %s without a message id", esp_name, event_type, recipient)
        return 0
    detail = f"{esp_name or 'the provider'} reported {event_type}"
    if reject_reason:
        detail += f" ({reject_reason})"
    if description:
        detail += f": {description}"
    changed = Notification.objects.filter(
        provider_message_id=provider_message_id,
        channel=Channel.EMAIL,
        status=Status.SENT,
    ).update(
        status=Status.FAILED,
        failure_reason=_reason(event_type, reject_reason),
        last_error=detail[:2000],
    )
    if changed:
        logger.warning(
            "%s: message %s %s for %s", esp_name, provider_message_id, event_type, recipient
        )
    else:
        logger.info(
            "%s: %s report for message %s (%s) matches no sent notification "
            "(a digest, a report already recorded, or a message sent again since)",
            esp_name,
            event_type,
            provider_message_id,
            recipient,
        )
    return changed
