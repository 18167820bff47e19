"""What could not be delivered about a campaign, sent again by hand."""

from django.db import transaction

from accounts.models import User
from campaigns.rules import Action
from campaigns.services.common import lock_campaign, require
from notifications import services as notifications


def campaign_deliveries_retry(
    *, actor: User, campaign_id: int, notification_id: int | None = None
) -> int:
    """Send the campaign's failed messages again (or the one named), each with a new
    retry window: its owner, co-editors or a manager. One transaction, the campaign
    locked; delivery queued on commit. Idempotent: what is no longer failed is left alone,
    so a second click sends nothing more. Returns how many were queued."""
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)
        require(Action.RETRY_DELIVERIES, actor, campaign)
        return notifications.notifications_retry(
            campaign_id=campaign.pk,
            notification_ids=None if notification_id is None else [notification_id],
        )
