from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference
from notifications.services import PERSON_CHANNELS, dedupe_key, digest_user_ids


def inbox(*, user: User) -> QuerySet[Notification]:
    """The person's in-app notices, newest first, with what they say (the dispatch).
    What each campaign is now comes from notifications.subjects."""
    return (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP)
        .select_related("dispatch")
        .order_by("-created_at", "-id")
    )


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, read_at__isnull=True
    ).count()


def preferences_matrix(*, user: User) -> dict[tuple[str, str], bool]:
    """(kind, channel) → enabled, with defaults (on) filled in."""
    stored = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    return {
        (kind, channel): stored.get((kind, channel), True)
        for kind in Kind.values
        for channel in (Channel.EMAIL, Channel.IN_APP)
    }


def wants_daily_digest(*, user: User) -> bool:
    """Whether the digest is on for the person, the default included (see services)."""
    return user.pk in digest_user_ids(user_ids=[user.pk])


def wants_weekly_preview(*, user: User) -> bool:
    return not DeliverySettings.objects.filter(user=user, weekly_preview=False).exists()


def failed_for_campaign(*, campaign_id: int) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(campaign_id=campaign_id, status=Notification.Status.FAILED)
        .select_related("recipient", "team")
        .order_by("-created_at")
    )


def first_notified_at(
    *,
    kind: str,
    occurrence: str,
    campaign_versions: Mapping[int, int],
    user_ids: Sequence[int],
) -> dict[tuple[int, int], datetime]:
    """When each person was first told of this event (`kind` + `occurrence`) about each
    campaign's given version, on any channel, keyed (campaign id, user id). One query on
    the outbox's unique key, with the keys `notifications_enqueue` would have written."""
    keys = [
        dedupe_key(campaign_id, version, kind, f"u{user_id}", channel, occurrence)
        for campaign_id, version in campaign_versions.items()
        for user_id in user_ids
        for channel in PERSON_CHANNELS
    ]
    found: dict[tuple[int, int], datetime] = {}
    rows = Notification.objects.filter(dedupe_key__in=keys).values_list(
        "campaign_id", "recipient_id", "created_at"
    )
    for campaign_id, user_id, created_at in rows:
        key = (campaign_id, user_id)
        found[key] = min(created_at, found.get(key, created_at))
    return found
