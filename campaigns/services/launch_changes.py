"""Keeping the launch changes (campaigns.models.LaunchChange) to a few minutes' worth, so
a kept calendar's stamp stays one read of a few rows."""

from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from campaigns.models import LaunchChange

# Longer than any page is kept (a minute): purging moves every calendar's stamp, which
# only has each calendar rendered again once.
LAUNCH_CHANGES_KEPT = timedelta(minutes=5)


def launch_changes_purge(*, now: datetime | None = None) -> int:
    """Delete the launch changes older than LAUNCH_CHANGES_KEPT; returns how many.

    Only the oldest ids go (every id up to the newest old one): the stamp, the count and
    sum of the ids, can then never come back to a value it had with other rows, since
    what is added after a purge has larger ids than what it removed."""
    cutoff = (now or timezone.now()) - LAUNCH_CHANGES_KEPT
    newest_old = LaunchChange.objects.filter(created_at__lt=cutoff).aggregate(Max("id"))
    if newest_old["id__max"] is None:
        return 0
    deleted, _by_model = LaunchChange.objects.filter(id__lte=newest_old["id__max"]).delete()
    return deleted
