"""Launch changes (migration 0024): the database writes one whenever which campaigns
launch when, for whom, changes, by any code path, and none for other writes; a kept
calendar's stamp reads them, and the purge keeps a few minutes of them."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import rules, selectors, services
from campaigns.models import Campaign, CampaignStatus, LaunchChange
from campaigns.services.launch_changes import LAUNCH_CHANGES_KEPT
from tests.factories import CampaignFactory, TeamFactory, announced_campaign

pytestmark = pytest.mark.django_db


def stamp(viewer: rules.Actor) -> tuple[object, ...]:
    query = selectors.campaign_launches_stamp_query(viewer=viewer)
    assert query is not None
    _alias, sql, params = query
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return tuple(cursor.fetchone())


@pytest.fixture
def campaign() -> Campaign:
    return announced_campaign(teams=[TeamFactory()])


def _moved(c: Campaign) -> None:
    Campaign.objects.filter(pk=c.pk).update(launch_at=F("launch_at") + timedelta(days=2))


def _cancelled(c: Campaign) -> None:
    Campaign.objects.filter(pk=c.pk).update(status=CampaignStatus.CANCELLED)


def _announcement_cleared(c: Campaign) -> None:
    Campaign.objects.filter(pk=c.pk).update(announced_at=None)


def _deleted(c: Campaign) -> None:
    Campaign.objects.filter(pk=c.pk).delete()


def _added(c: Campaign) -> None:
    CampaignFactory(owner=c.owner)


def _saved_whole(c: Campaign) -> None:
    c.refresh_from_db()
    c.launch_at = c.launch_at + timedelta(hours=1)
    c.save()


CHANGES: dict[str, Callable[[Campaign], None]] = {
    "launch moved": _moved,
    "status changed": _cancelled,
    "announcement cleared": _announcement_cleared,
    "campaign deleted": _deleted,
    "campaign added": _added,
    "saved whole with a new launch": _saved_whole,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_to_what_calendars_show_moves_the_stamp(campaign, marketer, change):
    viewer = rules.Actor.of(marketer)
    before = stamp(viewer)
    change(campaign)
    assert stamp(viewer) != before


def _renamed(c: Campaign) -> None:
    Campaign.objects.filter(pk=c.pk).update(title="Autre titre")


def _acknowledged(c: Campaign) -> None:
    stakeholder = c.stakeholders.get()
    stakeholder.acknowledged_at = timezone.now()
    stakeholder.save()


def _saved_unchanged(c: Campaign) -> None:
    c.refresh_from_db()
    c.save()


OTHER_WRITES: dict[str, Callable[[Campaign], None]] = {
    "renamed": _renamed,
    "a team acknowledges": _acknowledged,
    "saved with the same launch": _saved_unchanged,
}


@pytest.mark.parametrize("write", OTHER_WRITES.values(), ids=OTHER_WRITES.keys())
def test_other_writes_record_no_launch_change(campaign, write):
    """What a calendar shows of a campaign follows its revision; the stamp moves only
    for what decides which campaigns a calendar lists, so an acknowledgement (the most
    frequent write) costs no row."""
    before = LaunchChange.objects.count()
    write(campaign)
    assert LaunchChange.objects.count() == before


def test_the_stamp_reads_the_launch_changes_alone(marketer):
    """One small table whatever the month shown (the stamp it replaced summed every
    launch of the month)."""
    with CaptureQueriesContext(connection) as queries:
        stamp(rules.Actor.of(marketer))
    (sql,) = [query["sql"] for query in queries.captured_queries]
    assert LaunchChange._meta.db_table in sql
    assert Campaign._meta.db_table not in sql.replace(LaunchChange._meta.db_table, "")


def test_the_purge_keeps_the_last_minutes_and_never_brings_a_stamp_back(campaign, marketer):
    LaunchChange.objects.all().delete()
    now = timezone.now()
    old = [LaunchChange.objects.create() for _ in range(3)]
    recent = [LaunchChange.objects.create() for _ in range(2)]
    LaunchChange.objects.filter(pk__in=[c.pk for c in old]).update(
        created_at=now - LAUNCH_CHANGES_KEPT - timedelta(seconds=1)
    )
    viewer = rules.Actor.of(marketer)
    before = stamp(viewer)
    assert services.launch_changes_purge(now=now) == 3
    assert sorted(LaunchChange.objects.values_list("pk", flat=True)) == [c.pk for c in recent]
    assert stamp(viewer) != before
    assert services.launch_changes_purge(now=now) == 0


def test_the_beat_purges_every_minute(settings):
    entry = next(
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "campaigns.tasks.launch_changes_purge"
    )
    assert entry["schedule"] == 60.0
