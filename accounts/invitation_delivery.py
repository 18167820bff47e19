"""Sending invitation e-mails from the outbox (accounts.models.Invitation).

A row is claimed by one conditional UPDATE (a lease, `claimed_at`), committed at once;
the e-mail is sent outside any transaction, so a slow or hung SMTP server holds no row
lock and no connection in a transaction; then the row is marked sent, or given back
with its error for the sweep, which tries again until INVITATION_MAX_ATTEMPTS. Two
workers (or a task and the sweep) never send the same invitation while its lease runs;
a worker that dies mid-send leaves a lease the sweep takes over after LEASE (at worst
one invitation sent twice: harmless, the link is the same person's).
"""

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.invitations import invitation_token_make
from accounts.models import Invitation
from notifications.messages import absolute_url

logger = logging.getLogger(__name__)

INVITATION_MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)


def invitations_send(*, invitation_ids: Sequence[int]) -> int:
    """Send these invitations if still unsent and not claimed by another worker; the
    number sent."""
    sent = 0
    for invitation_id in invitation_ids:
        now = timezone.now()
        claimed = (
            Invitation.objects.filter(pk=invitation_id, sent_at__isnull=True)
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE))
            .update(claimed_at=now, attempts=F("attempts") + 1)
        )
        if not claimed:
            continue
        invitation = Invitation.objects.select_related("user", "invited_by").get(pk=invitation_id)
        rows = Invitation.objects.filter(pk=invitation_id)
        if not (invitation.user.is_active and invitation.user.awaits_first_sign_in):
            # Deactivated, or signed in meanwhile: nothing to send, nor to sweep again.
            rows.update(
                attempts=INVITATION_MAX_ATTEMPTS, last_error="no longer needed", claimed_at=None
            )
            continue
        try:
            _message(invitation).send()
        except Exception as error:  # SMTP down, refused: the sweep tries again
            logger.warning("invitation %s not sent: %s", invitation.pk, error)
            rows.update(last_error=f"{type(error).__name__}: {error}"[:300], claimed_at=None)
            continue
        rows.update(sent_at=timezone.now(), last_error="", claimed_at=None)
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
