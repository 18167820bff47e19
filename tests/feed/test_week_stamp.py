"""feed_week_stamp: what a page of the feed shows, as ids and revisions, read with SQL
compiled once per process for the same hidden rows, teams, week, filters and position. It
must say exactly what feed_week shows, whoever reads and however the week is filtered."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from campaigns.models import Campaign
from feed import selectors
from feed.selectors import FeedFilters, Week, feed_week, feed_week_stamp
from teams.roles import Actor
from tests.factories import CampaignFactory, StakeholderFactory, team_with_members
from tests.support.compiled import assert_read_again_from_one_compiled_query

pytestmark = pytest.mark.django_db

WEEK = Week.parse("2026-W50")
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def compiled_afresh():
    selectors._week_stamp_query.cache_clear()
    yield
    selectors._week_stamp_query.cache_clear()


@pytest.fixture
def week_of_campaigns(db):
    """Two readers in two teams; six announced launches this week (three for each team,
    two of them about "voeux"), a draft and one launch the week after."""
    ours, (reader,) = team_with_members(1)
    theirs, (other,) = team_with_members(1)
    announced = []
    for hours in range(6):
        campaign = CampaignFactory(
            title="Carte de voeux" if hours in (1, 4) else f"Relance {hours}",
            status=Campaign.Status.ANNOUNCED,
            launch_at=MONDAY + timedelta(hours=hours * 7),
        )
        StakeholderFactory(campaign=campaign, team=ours if hours % 2 else theirs)
        announced.append(campaign)
    CampaignFactory(title="Carte de voeux (draft)", launch_at=MONDAY + timedelta(hours=3))
    CampaignFactory(status=Campaign.Status.ANNOUNCED, launch_at=MONDAY + timedelta(days=7))
    return Actor.of(reader), Actor.of(other), announced


def _stamp(viewer: Actor, filters: FeedFilters, cursor: str = "", size: int = 2) -> list:
    return feed_week_stamp(
        viewer=viewer, week=WEEK, filters=filters, tz=UTC, cursor=cursor, page_size=size
    )


def _shown(viewer: Actor, filters: FeedFilters, cursor: str = "", size: int = 2) -> list:
    page = feed_week(
        viewer=viewer, week=WEEK, filters=filters, tz=UTC, cursor=cursor, page_size=size
    )
    return [(item.campaign.pk, item.campaign.revision) for day in page.days for item in day.items]


@pytest.mark.parametrize(
    "filters",
    [FeedFilters(), FeedFilters(query="voeux"), FeedFilters(my_teams=True)],
    ids=["the week", "a search", "my teams"],
)
def test_the_stamp_lists_what_the_page_shows(week_of_campaigns, filters):
    reader, other, _announced = week_of_campaigns
    for viewer in (reader, other):
        stamp = _stamp(viewer, filters, size=50)
        assert stamp == _shown(viewer, filters, size=50)
        assert stamp  # something to compare


def test_my_teams_is_compiled_for_each_readers_teams(week_of_campaigns):
    """The SQL names the teams: one reader's compiled query never answers another's."""
    reader, other, announced = week_of_campaigns
    mine = FeedFilters(my_teams=True)
    reader_ids = {pk for pk, _ in _stamp(reader, mine, size=50)}
    other_ids = {pk for pk, _ in _stamp(other, mine, size=50)}
    assert reader_ids == {c.pk for c in announced[1::2]}
    assert other_ids == {c.pk for c in announced[0::2]}


def test_a_page_asked_again_is_compiled_once_and_read_in_one_query(week_of_campaigns):
    reader, _other, _announced = week_of_campaigns
    search = FeedFilters(query="voeux")
    assert_read_again_from_one_compiled_query(
        lambda: _stamp(reader, search), selectors._week_stamp_query
    )


def test_a_revision_changed_since_shows_in_the_stamp(week_of_campaigns):
    reader, _other, announced = week_of_campaigns
    before = _stamp(reader, FeedFilters())
    newest = announced[-1]
    Campaign.objects.filter(pk=newest.pk).update(revision=newest.revision + 3)
    after = _stamp(reader, FeedFilters())
    assert after[0] == (newest.pk, newest.revision + 3)
    assert after[1:] == before[1:]


def test_the_next_pages_stamp_follows_the_cursor(week_of_campaigns):
    reader, _other, _announced = week_of_campaigns
    page = feed_week(viewer=reader, week=WEEK, filters=FeedFilters(), tz=UTC, page_size=2)
    assert page.next_cursor
    assert _stamp(reader, FeedFilters(), cursor=page.next_cursor)[:2] == _shown(
        reader, FeedFilters(), cursor=page.next_cursor
    )


def test_a_deactivated_reader_gets_an_empty_stamp_without_a_query(week_of_campaigns):
    reader, _other, _announced = week_of_campaigns
    User.objects.filter(pk=reader.user_id).update(is_active=False)
    gone = Actor.of(User.objects.get(pk=reader.user_id))
    with CaptureQueriesContext(connection) as queries:
        assert _stamp(gone, FeedFilters()) == []
    assert len(queries) == 0


def test_a_search_for_punctuation_only_finds_nothing_in_the_stamp_as_on_the_page(
    week_of_campaigns,
):
    """Nothing to look for: the page is empty (on SQLite the query cannot match anything
    and is not compiled at all), and so is its stamp."""
    reader, _other, _announced = week_of_campaigns
    nothing = FeedFilters(query="!!! ?")
    assert _stamp(reader, nothing) == _shown(reader, nothing) == []
