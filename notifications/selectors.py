from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference


def inbox(*, user: User) -> QuerySet[Notification]:
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
    return DeliverySettings.objects.filter(user=user, daily_digest=True).exists()


def failed_for_campaign(*, campaign_id: int) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(campaign_id=campaign_id, status=Notification.Status.FAILED)
        .select_related("recipient", "team")
        .order_by("-created_at")
    )
