"""A person's inbox (read or not) and notification preferences."""

from collections.abc import Collection
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference
from notifications.services.delivery import publish_deliveries
from notifications.services.digests import DIGEST_DEFAULT_KINDS, digest_wanted
from notifications.services.outbox import MANDATORY, PERSON_CHANNELS

Status = Notification.Status


def inbox_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one in-app notification (or all of them) read. Idempotent."""
    unread = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    )
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


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
