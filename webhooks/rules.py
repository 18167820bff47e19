"""Who may manage outgoing webhooks (managers only), and when a message may be sent again.
The only place either is written.

An endpoint receives every campaign's title, dates, names of the people who act on it and
the thread's messages, so registering one is a decision for someone who oversees every
team. Services call `require_manage_webhooks`; views ask `may_manage_webhooks`.

A message may be resent once it is delivered or failed, to an active endpoint: one still
pending or sending is on its way already. Services call `require_resend`; pages read
`DeliveryState` (what to show next to a message, and whether its Resend button is there).
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from core.errors import DomainError, PermissionRefused
from teams.roles import Actor
from webhooks.models import WebhookDelivery

Status = WebhookDelivery.Status
ON_ITS_WAY = frozenset({Status.PENDING, Status.SENDING})
# How each status is shown: its pill's style.
_PILLS = {
    Status.DELIVERED: "pill-ok",
    Status.FAILED: "pill-late",
    Status.SENDING: "pill-wait",
    Status.PENDING: "pill-wait",
}


def may_manage_webhooks(actor: Actor) -> bool:
    return actor.is_active and actor.is_manager


def require_manage_webhooks(actor: Actor) -> None:
    if not may_manage_webhooks(actor):
        raise PermissionRefused(_("Only managers can manage webhooks."))


def resend_refusal(*, status: str, endpoint_active: bool) -> DomainError | None:
    """Why a message cannot be sent again now, or None when it can."""
    if status in ON_ITS_WAY:
        return DomainError(_("This message is already on its way."), code="already_done")
    if not endpoint_active:
        return DomainError(_("Enable the endpoint again before resending its messages."))
    return None


def require_resend(*, status: str, endpoint_active: bool) -> None:
    if (refusal := resend_refusal(status=status, endpoint_active=endpoint_active)) is not None:
        raise refusal


@dataclass(frozen=True)
class DeliveryState:
    """What the delivery log shows of one message (templates read only this)."""

    label: str
    pill: str
    waiting: bool  # pending: a next attempt is due (or kept while the endpoint is off)
    may_resend: bool


def delivery_state(*, status: str, endpoint_active: bool) -> DeliveryState:
    return DeliveryState(
        label=str(Status(status).label),
        pill=_PILLS[Status(status)],
        waiting=status == Status.PENDING,
        may_resend=resend_refusal(status=status, endpoint_active=endpoint_active) is None,
    )
