"""Telling a manager that an endpoint was disabled: a plain e-mail.

Not a `notifications.Notification`: that outbox is about a campaign (each row names one,
its payload is a campaign's snapshot), and this is not. The endpoint row carries its own
small outbox instead, as invitations do (accounts.invitation_delivery): a lease while a
worker sends, the time it went, and the sweep sends it again if its task was lost. At
least once: a worker that dies after sending and before recording sends it again.
"""

import logging
import smtplib

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from core.text import header_safe
from notifications.messages import absolute_url
from teams.roles import Actor
from teams.selectors import managers
from webhooks.models import WebhookEndpoint
from webhooks.services.delivery import NOTICE_LEASE

logger = logging.getLogger(__name__)


def notice_recipients(endpoint: WebhookEndpoint) -> list[User]:
    """The manager who registered the endpoint; every manager when that person is gone
    (deleted, deactivated, no longer a manager)."""
    creator = endpoint.created_by
    if creator is not None and Actor.of(creator).is_manager:
        return [creator]
    return list(managers().order_by("pk"))


def _message(endpoint: WebhookEndpoint, person: User) -> EmailMessage:
    with translation.override(person.language):
        context = {
            "person": person,
            "endpoint": endpoint,
            "reason": endpoint.disabled_reason_text(),
            "link": absolute_url(reverse("webhooks:detail", args=[endpoint.pk])),
        }
        subject = render_to_string("webhooks/email/endpoint_disabled_subject.txt", context)
        text = render_to_string("webhooks/email/endpoint_disabled.txt", context)
    return EmailMessage(
        subject=header_safe(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject.strip()),
        body=text,
        to=[person.email],
    )


def webhook_endpoint_disabled_notify(*, endpoint_id: int) -> int:
    """E-mail the endpoint's manager that it was disabled, once it is. Claims the notice
    with a conditional update (a lease, in autocommit), sends outside any transaction,
    then records it sent; a mail server that refuses gives the lease back for the sweep.
    Idempotent: a notice sent, or held by another worker, is skipped. Returns how many
    people were written to."""
    now = timezone.now()
    claimed = (
        WebhookEndpoint.objects.filter(
            pk=endpoint_id, active=False, disabled_notice_sent_at__isnull=True
        )
        .filter(
            Q(disabled_notice_claimed_at__isnull=True)
            | Q(disabled_notice_claimed_at__lt=now - NOTICE_LEASE)
        )
        .update(disabled_notice_claimed_at=now)
    )
    if not claimed:
        return 0
    endpoint = WebhookEndpoint.objects.select_related("created_by").get(pk=endpoint_id)
    rows = WebhookEndpoint.objects.filter(pk=endpoint_id, disabled_notice_claimed_at=now)
    people = notice_recipients(endpoint)
    try:
        for person in people:
            _message(endpoint, person).send()
    except (smtplib.SMTPException, OSError, AnymailError) as error:
        logger.warning(
            "notice of disabled webhook endpoint %s not sent: %s",
            endpoint_id,
            error,
            extra={"webhook_endpoint_id": endpoint_id},
        )
        rows.update(disabled_notice_claimed_at=None)
        return 0
    if not people:
        logger.warning("webhook endpoint %s disabled, and no manager to tell", endpoint_id)
    rows.update(disabled_notice_sent_at=timezone.now(), disabled_notice_claimed_at=None)
    return len(people)
