"""Sending invitation e-mails from the outbox (accounts.models.Invitation).

Each row is claimed with `FOR UPDATE SKIP LOCKED` and marked sent in the transaction that
sent it, so two workers (or a task and the sweep) never send the same invitation twice
while both are alive. A failure leaves the row unsent with its error; the sweep tries
again until INVITATION_MAX_ATTEMPTS. A worker that dies between the SMTP answer and the
commit may send one invitation twice: harmless, the link is the same person's.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.invitations import invitation_token_make
from accounts.models import Invitation
from notifications.messages import absolute_url

logger = logging.getLogger(__name__)

INVITATION_MAX_ATTEMPTS = 10


def invitations_send(*, invitation_ids: Sequence[int]) -> int:
    """Send these invitations if still unsent; the number sent."""
    sent = 0
    for invitation_id in invitation_ids:
        with transaction.atomic():
            invitation = (
                Invitation.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "invited_by")
                .filter(pk=invitation_id, sent_at__isnull=True)
                .first()
            )
            if invitation is None:
                continue
            if not (invitation.user.is_active and invitation.user.awaits_first_sign_in):
                # Deactivated, or signed in meanwhile: nothing to send, nor to sweep again.
                invitation.attempts = INVITATION_MAX_ATTEMPTS
                invitation.last_error = "no longer needed"
                invitation.save(update_fields=["attempts", "last_error"])
                continue
            invitation.attempts += 1
            try:
                _message(invitation).send()
            except Exception as error:  # SMTP down, refused: the sweep tries again
                logger.warning("invitation %s not sent: %s", invitation.pk, error)
                invitation.last_error = f"{type(error).__name__}: {error}"[:300]
                invitation.save(update_fields=["attempts", "last_error"])
                continue
            invitation.sent_at = timezone.now()
            invitation.last_error = ""
            invitation.save(update_fields=["attempts", "sent_at", "last_error"])
            sent += 1
    return sent


def invitations_unsent(*, older_than_seconds: int = 60) -> list[int]:
    """Invitations whose task never ran or failed: for the sweep."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        Invitation.objects.filter(
            sent_at__isnull=True, created_at__lt=cutoff, attempts__lt=INVITATION_MAX_ATTEMPTS
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:500]
    )


def _message(invitation: Invitation) -> EmailMultiAlternatives:
    person = invitation.user
    link = absolute_url(reverse("accounts:invitation", args=[invitation_token_make(person)]))
    teams = list(person.teams.order_by("name").values_list("name", flat=True))
    with translation.override(person.language):
        context = {
            "person": person,
            "invited_by": invitation.invited_by.display_name if invitation.invited_by else "",
            "teams": teams,
            "link": link,
            "days": settings.ACCOUNT_INVITATION_MAX_AGE_DAYS,
            "sso_name": settings.SSO_PROVIDER_NAME if settings.SSO_PROVIDERS else "",
        }
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        text = render_to_string("accounts/email/invitation.txt", context)
        html = render_to_string("accounts/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body=text, to=[person.email]
    )
    message.attach_alternative(html, "text/html")
    return message
