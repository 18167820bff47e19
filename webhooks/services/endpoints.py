"""Managing endpoints (managers only): register, change, enable again, rotate the secret,
send a test message, delete; and resend one message."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import AuditAction
from audit.services import record_audit_event, redact_url
from core.errors import DomainError, NotFound
from core.netsafety import UnsafeURLError, check_public_http_url, split_http_url
from teams.roles import Actor
from webhooks import signing
from webhooks.models import TEST_EVENT_TYPE, EventType, WebhookDelivery, WebhookEndpoint
from webhooks.rules import require_manage_webhooks, require_resend
from webhooks.services.delivery import ROTATION_OVERLAP
from webhooks.services.outbox import deliveries_queue

URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length or 500
DESCRIPTION_MAX_LENGTH = WebhookEndpoint._meta.get_field("description").max_length or 200
Status = WebhookDelivery.Status


def endpoint_missing() -> NotFound:
    return NotFound(_("This webhook endpoint does not exist."))


def delivery_missing() -> NotFound:
    return NotFound(_("This message does not exist."))


@dataclass(frozen=True)
class EndpointInput:
    url: str
    event_types: list[str]
    description: str


def _has_control_characters(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def endpoint_validate(*, url: str, event_types: Iterable[str], description: str) -> EndpointInput:
    """The endpoint's fields, cleaned, or a DomainError naming each field that is wrong.

    The address must be http(s) and, unless NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE, resolve
    only to public addresses (SSRF: a manager's form must not make the server post to its
    own network). Resolving is network I/O: called before any transaction is opened. The
    address is checked again at every attempt (DNS may change)."""
    errors: dict[str, list[str]] = {}
    url = url.strip()
    if not url:
        errors["url"] = [_("Enter the address of the receiver.")]
    elif len(url) > URL_MAX_LENGTH:
        errors["url"] = [
            _("The address must be at most %(max)s characters.") % {"max": URL_MAX_LENGTH}
        ]
    elif any(c.isspace() for c in url) or _has_control_characters(url):
        errors["url"] = [_("The address cannot contain spaces or control characters.")]
    else:
        try:
            split_http_url(url)
        except UnsafeURLError:
            errors["url"] = [
                _("Enter an address that starts with http:// or https:// and names a host.")
            ]
        else:
            try:
                check_public_http_url(
                    url, allow_private=settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE
                )
            except UnsafeURLError as error:
                errors["url"] = [
                    _("This host name could not be found: check the address.")
                    if error.transient
                    else _(
                        "This address is on a private network: webhooks are only sent to "
                        "public addresses."
                    )
                ]
    wanted = set(event_types)
    if unknown := sorted(wanted - set(EventType.values)):
        errors["event_types"] = [
            _("Unknown event type: %(types)s.") % {"types": ", ".join(unknown)}
        ]
    description = description.strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = [
            _("The description must be at most %(max)s characters.")
            % {"max": DESCRIPTION_MAX_LENGTH}
        ]
    elif _has_control_characters(description):
        errors["description"] = [_("The description cannot contain control characters.")]
    if errors:
        raise DomainError.for_fields(errors)
    # In the order of EventType, so the same choice always reads the same.
    types = [value for value in EventType.values if value in wanted]
    return EndpointInput(url=url, event_types=types, description=description)


def _audit(actor: User, action: AuditAction, endpoint: WebhookEndpoint) -> None:
    """The audit log's entry, in the change's transaction (never the secret: the audit
    service keeps URLs as scheme and host)."""
    record_audit_event(
        actor=actor,
        action=action,
        target=endpoint,
        target_label=redact_url(endpoint.url),
        details={"url": endpoint.url, "events": list(endpoint.event_types)},
    )


def _lock(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise endpoint_missing()
    return endpoint


def webhook_endpoint_create(
    *, actor: User, url: str, event_types: Iterable[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (managers only), active at once, with a new secret. Returns
    the endpoint and its secret, which the caller shows once. One insert; not
    idempotent (each call registers another endpoint)."""
    require_manage_webhooks(Actor.of(actor))
    data = endpoint_validate(url=url, event_types=event_types, description=description)
    secret = signing.secret_make()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=data.url,
            event_types=data.event_types,
            description=data.description,
            secret=secret,
            created_by=actor,
        )
        _audit(actor, AuditAction.WEBHOOK_ENDPOINT_ADDED, endpoint)
    return endpoint, secret


def webhook_endpoint_update(
    *,
    actor: User,
    endpoint_id: int,
    url: str,
    event_types: Iterable[str],
    description: str = "",
) -> WebhookEndpoint:
    """Change an endpoint's address, events or description (managers only). Messages
    already written keep going to the endpoint, at its new address. One transaction,
    the row locked; saving the same values again changes nothing."""
    require_manage_webhooks(Actor.of(actor))
    data = endpoint_validate(url=url, event_types=event_types, description=description)
    with transaction.atomic():
        endpoint = _lock(endpoint_id)
        before = (endpoint.url, endpoint.event_types, endpoint.description)
        endpoint.url = data.url
        endpoint.event_types = data.event_types
        endpoint.description = data.description
        if before != (endpoint.url, endpoint.event_types, endpoint.description):
            endpoint.save(update_fields=["url", "event_types", "description"])
            _audit(actor, AuditAction.WEBHOOK_ENDPOINT_CHANGED, endpoint)
    return endpoint


def webhook_endpoint_enable(*, actor: User, endpoint_id: int) -> WebhookEndpoint:
    """Send to a disabled endpoint again (managers only), starting with the messages kept
    while it was disabled, queued after commit. One transaction; enabling an active
    endpoint is refused as already done and changes nothing."""
    require_manage_webhooks(Actor.of(actor))
    with transaction.atomic():
        endpoint = _lock(endpoint_id)
        if endpoint.active:
            raise DomainError(_("This endpoint is already active."), code="already_done")
        now = timezone.now()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            active=True,
            disabled_at=None,
            disabled_reason="",
            failing_since=None,
            last_failure_at=None,
            disabled_notice_claimed_at=None,
            disabled_notice_sent_at=None,
        )
        waiting = endpoint.deliveries.filter(status=Status.PENDING)
        ids = list(waiting.order_by("created_at", "pk").values_list("pk", flat=True))
        waiting.update(next_attempt_at=now, queued_at=now)
        transaction.on_commit(partial(deliveries_queue, ids))
        endpoint.refresh_from_db()
        _audit(actor, AuditAction.WEBHOOK_ENDPOINT_ENABLED, endpoint)
    return endpoint


def webhook_endpoint_rotate_secret(
    *, actor: User, endpoint_id: int, now: datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """Give an endpoint a new secret (managers only). For ROTATION_OVERLAP, messages carry
    a signature made with the old secret too, so the receiver can switch without losing
    any. One transaction, the row locked. Returns the endpoint and the new secret, which
    the caller shows once."""
    require_manage_webhooks(Actor.of(actor))
    now = now or timezone.now()
    secret = signing.secret_make()
    with transaction.atomic():
        endpoint = _lock(endpoint_id)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + ROTATION_OVERLAP
        endpoint.secret = secret
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        _audit(actor, AuditAction.WEBHOOK_SECRET_ROTATED, endpoint)
    return endpoint, secret


def webhook_endpoint_delete(*, actor: User, endpoint_id: int) -> None:
    """Delete an endpoint and its delivery log (managers only); nothing more is sent to
    it. Deleting one that is gone already is refused as not found."""
    require_manage_webhooks(Actor.of(actor))
    with transaction.atomic():
        endpoint = _lock(endpoint_id)
        _audit(actor, AuditAction.WEBHOOK_ENDPOINT_DELETED, endpoint)
        endpoint.delete()


# The test message's text: part of the JSON contract, so never translated.
TEST_MESSAGE = (
    "A test message from Passerelle, sent on request. If its signature verifies, this "
    "address and its signing secret are ready for real events."
)


def webhook_endpoint_send_test(*, actor: User, endpoint_id: int) -> WebhookDelivery:
    """Queue a signed test message (`webhook.test`) to an endpoint, whatever events it
    subscribed to (managers only), so whoever runs the receiver can check the address,
    the secret and their verification before real events arrive. It is an outbox row like
    any message: signed the same way, retried, shown in the delivery log, resendable.
    Refused for a disabled endpoint (enable it first: its kept messages go out then)."""
    require_manage_webhooks(Actor.of(actor))
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise endpoint_missing()
        if not endpoint.active:
            raise DomainError(
                _("This endpoint is disabled: enable it again before sending a test message.")
            )
        now = timezone.now()
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            message_id=signing.message_id_make(),
            event_type=TEST_EVENT_TYPE,
            payload={
                "message": TEST_MESSAGE,
                "endpoint": {"id": endpoint.pk, "url": endpoint.url},
                "actor": {"id": actor.pk, "name": actor.display_name},
            },
            occurred_at=now,
            next_attempt_at=now,
            queued_at=now,
        )
        transaction.on_commit(partial(deliveries_queue, [delivery.pk]))
    return delivery


def webhook_delivery_resend(*, actor: User, delivery_id: int) -> WebhookDelivery:
    """Send a delivered or failed message again (managers only), from now, with a new
    round of retries.

    The same row, so the same `webhook-id`: the standard makes that id the receiver's
    idempotency key ("the same no matter how many times a webhook is retried"), and a
    resend is a retry asked for by a person. A receiver that already processed it drops
    it; one that lost it gets it. (A new id would make every receiver process the event
    twice.) The attempt is signed with the endpoint's current secret and a new timestamp.
    One transaction, the row locked; queued after commit. A message still on its way is
    refused as already done; so is one for a disabled endpoint (enable it first)."""
    require_manage_webhooks(Actor.of(actor))
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise delivery_missing()
        require_resend(status=delivery.status, endpoint_active=delivery.endpoint.active)
        now = timezone.now()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            queued_at=now,
            delivered_at=None,
        )
        transaction.on_commit(partial(deliveries_queue, [delivery.pk]))
        delivery.refresh_from_db()
    return delivery
