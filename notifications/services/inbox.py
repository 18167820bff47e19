"""A person's inbox (read or not) and notification preferences."""

from collections.abc import Collection
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import DomainError
from notifications.models import (
    MANDATORY,
    Channel,
    DeliverySettings,
    Kind,
    Notification,
    Preference,
)
from notifications.services.delivery import publish_deliveries
from notifications.services.digests import DIGEST_DEFAULT_KINDS, digest_wanted
from notifications.services.outbox import PERSON_CHANNELS
from notifications.tokens import WEEK_AHEAD

Status = Notification.Status


def inbox_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one in-app notification (or all of them) read. Idempotent.

    One notice stands for the earlier ones about the same campaign folded under it in the
    inbox (notifications.selectors.inbox), so they are marked read with it: the unread
    badge never counts notices the inbox no longer shows. One UPDATE."""
    unread = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    )
    if notification_id is not None:
        shown = (
            Notification.objects.filter(recipient=user, channel=Channel.IN_APP, pk=notification_id)
            .values("campaign_id", "created_at")
            .first()
        )
        if shown is None:
            return 0
        unread = unread.filter(
            Q(pk=notification_id)
            | Q(campaign_id=shown["campaign_id"], created_at__lte=shown["created_at"])
        )
    return unread.update(read_at=timezone.now())


# What asks a person to acknowledge (or tells a lead nobody did): settled by acknowledging.
_ASKS_TO_ACKNOWLEDGE = (Kind.ANNOUNCED, Kind.CHANGED)
_NAMES_A_TEAM = (Kind.REMINDER, Kind.ESCALATION)


def inbox_settle_acknowledged(
    *,
    user_id: int,
    campaign_id: int,
    acknowledged_teams: Collection[str],
    completed_teams: Collection[str],
) -> int:
    """Mark read the person's in-app notices about a campaign they just acknowledged:
    "announced" and "changed" (they read it), reminders for a team they acknowledged for,
    escalations about a team that is now complete. Called by the acknowledge service
    inside its transaction; one UPDATE; idempotent (read notices stay as they are)."""
    asked = Q(kind__in=_ASKS_TO_ACKNOWLEDGE)
    if acknowledged_teams:
        asked |= Q(kind=Kind.REMINDER, dispatch__payload__team__in=list(acknowledged_teams))
    if completed_teams:
        asked |= Q(kind=Kind.ESCALATION, dispatch__payload__team__in=list(completed_teams))
    settled = Notification.objects.filter(
        asked,
        recipient_id=user_id,
        campaign_id=campaign_id,
        channel=Channel.IN_APP,
        read_at__isnull=True,
    )
    # An UPDATE cannot join the dispatch on every database: select the ids first.
    ids = list(settled.values_list("pk", flat=True))
    if not ids:
        return 0
    return Notification.objects.filter(pk__in=ids).update(read_at=timezone.now())


def preferences_save(
    *,
    user: User,
    enabled: Collection[tuple[str, str]],
    daily_digest: bool | None,
    weekly_preview: bool | None = None,
) -> None:
    """Store which (kind, channel) pairs are on; mandatory ones stay on whatever is sent.

    `daily_digest=None` means the person did not touch the digest choice: a stored choice
    stays, and without one the default applies (on when e-mails for announced or changed
    campaigns are off). `weekly_preview=None` leaves it as it is. One transaction; held
    e-mails are released (queued after commit) when the digest ends up off."""
    with transaction.atomic():
        for kind in Kind.values:
            for channel in PERSON_CHANNELS:
                on = (kind, channel) in enabled or (kind, channel) in MANDATORY
                Preference.objects.update_or_create(
                    user=user, kind=kind, channel=channel, defaults={"enabled": on}
                )
        delivery, _created = DeliverySettings.objects.get_or_create(user=user)
        if daily_digest is not None:
            delivery.daily_digest = daily_digest
        if weekly_preview is not None:
            delivery.weekly_preview = weekly_preview
        delivery.save(update_fields=["daily_digest", "weekly_preview"])
        email_off = any((kind, Channel.EMAIL) not in enabled for kind in DIGEST_DEFAULT_KINDS)
        if not digest_wanted(choice=delivery.daily_digest, email_off_for_notices=email_off):
            # Whatever was waiting for a digest goes out now, as ordinary e-mails.
            released = list(
                Notification.objects.filter(
                    recipient=user, channel=Channel.EMAIL, status=Status.HELD
                ).values_list("pk", flat=True)
            )
            Notification.objects.filter(pk__in=released).update(
                status=Status.PENDING, next_attempt_at=timezone.now()
            )
            transaction.on_commit(partial(publish_deliveries, {Channel.EMAIL: released}))


# What a one-click unsubscribe can switch off: each kind of notice whose e-mail is not
# mandatory, and the Monday e-mail.
UNSUBSCRIBE_TOPICS = frozenset(
    {kind for kind in Kind.values if (kind, Channel.EMAIL) not in MANDATORY} | {WEEK_AHEAD}
)


def email_unsubscribe_possible(*, topic: str) -> bool:
    return topic in UNSUBSCRIBE_TOPICS


def email_unsubscribe(*, user_id: int, topic: str) -> bool:
    """Switch off one kind of e-mail (`topic`: a notification kind, or "week_ahead") for
    one person: what the mail client's one-click "Unsubscribe" does (RFC 8058). The other
    channels (in-app) and kinds stay as they are.

    One short transaction. Idempotent: returns whether anything changed, False when it
    was already off. DomainError for a topic that cannot be switched off (escalations
    e-mailed to leads) or a person who no longer exists or is deactivated; nothing is
    changed then."""
    if topic not in UNSUBSCRIBE_TOPICS:
        raise DomainError(_("These e-mails cannot be switched off."), code="mandatory")
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        raise DomainError(_("This unsubscribe link no longer works."), code="gone")
    with transaction.atomic():
        if topic == WEEK_AHEAD:
            delivery, created = DeliverySettings.objects.get_or_create(
                user_id=user_id, defaults={"weekly_preview": False}
            )
            changed = DeliverySettings.objects.filter(pk=delivery.pk, weekly_preview=True)
            return created or bool(changed.update(weekly_preview=False))
        preference, created = Preference.objects.get_or_create(
            user_id=user_id, kind=topic, channel=Channel.EMAIL, defaults={"enabled": False}
        )
        if created:
            return True
        return bool(Preference.objects.filter(pk=preference.pk, enabled=True).update(enabled=False))
