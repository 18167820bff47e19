"""campaign_list_stamp: what a page of the list shows, as ids and revisions, read with SQL
compiled once per process for the same viewer's rule, filters and position. It must say
exactly what campaign_list shows, for every kind of viewer."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from campaigns import selectors
from campaigns.models import Campaign
from campaigns.selectors import CampaignFilters, campaign_list, campaign_list_stamp
from teams.roles import Actor
from tests.factories import CampaignFactory, announced_campaign, make_marketer, team_with_members
from tests.support.compiled import assert_read_again_from_one_compiled_query

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def compiled_afresh():
    selectors._stamp_query.cache_clear()
    yield
    selectors._stamp_query.cache_clear()


def _shown(viewer: Actor, filters: CampaignFilters, cursor: str = "", size: int = 3) -> list:
    page = campaign_list(viewer=viewer, filters=filters, cursor=cursor, page_size=size)
    return [(campaign.pk, campaign.revision) for campaign in page.campaigns]


@pytest.fixture
def campaigns_of_every_kind(db):
    marketer = make_marketer()
    launch = timezone.now() + timedelta(days=1)
    draft = CampaignFactory(owner=marketer, launch_at=launch)
    announced = [
        announced_campaign(owner=marketer, launch_at=launch + timedelta(hours=h))
        for h in range(1, 5)
    ]
    return marketer, draft, announced


def test_the_stamp_lists_what_the_page_shows_for_every_kind_of_viewer(campaigns_of_every_kind):
    marketer, draft, _announced = campaigns_of_every_kind
    _team, (advisor,) = team_with_members(1)
    for viewer in (Actor.of(marketer), Actor.of(advisor)):
        filters = CampaignFilters(newest_first=False)
        stamp = campaign_list_stamp(viewer=viewer, filters=filters, page_size=3)
        # One row more than the page: it says whether there is a next page.
        assert stamp[:3] == _shown(viewer, filters)
        assert len(stamp) == 4

    # The same filters, compiled once for each viewer's rule: an advisor's stamp never
    # holds the draft a marketer's does, whichever was asked first.
    everything = CampaignFilters(newest_first=False, channel=draft.channel)
    marketer_ids = [
        pk
        for pk, _ in campaign_list_stamp(
            viewer=Actor.of(marketer), filters=everything, page_size=50
        )
    ]
    advisor_ids = [
        pk
        for pk, _ in campaign_list_stamp(viewer=Actor.of(advisor), filters=everything, page_size=50)
    ]
    assert draft.pk in marketer_ids
    assert draft.pk not in advisor_ids


def test_the_same_page_is_compiled_once_and_read_in_one_query(campaigns_of_every_kind):
    marketer, _draft, _announced = campaigns_of_every_kind
    viewer = Actor.of(marketer)
    filters = CampaignFilters(status=Campaign.Status.ANNOUNCED)
    assert_read_again_from_one_compiled_query(
        lambda: campaign_list_stamp(viewer=viewer, filters=filters, page_size=2),
        selectors._stamp_query,
    )


def test_a_revision_changed_since_shows_in_the_stamp(campaigns_of_every_kind):
    marketer, _draft, announced = campaigns_of_every_kind
    viewer = Actor.of(marketer)
    filters = CampaignFilters(status=Campaign.Status.ANNOUNCED, newest_first=False)
    before = campaign_list_stamp(viewer=viewer, filters=filters, page_size=2)
    Campaign.objects.filter(pk=announced[0].pk).update(revision=announced[0].revision + 5)
    after = campaign_list_stamp(viewer=viewer, filters=filters, page_size=2)
    assert after[0] == (announced[0].pk, announced[0].revision + 5)
    assert after[1:] == before[1:]


def test_the_next_pages_stamp_follows_the_cursor(campaigns_of_every_kind):
    marketer, _draft, _announced = campaigns_of_every_kind
    viewer = Actor.of(marketer)
    filters = CampaignFilters(newest_first=False)
    page = campaign_list(viewer=viewer, filters=filters, page_size=2)
    assert page.next_cursor
    stamp = campaign_list_stamp(
        viewer=viewer, filters=filters, cursor=page.next_cursor, page_size=2
    )
    assert stamp[:2] == _shown(viewer, filters, cursor=page.next_cursor, size=2)


def test_a_viewer_who_may_see_nothing_gets_an_empty_stamp_without_a_query(
    campaigns_of_every_kind,
):
    marketer, _draft, _announced = campaigns_of_every_kind
    User.objects.filter(pk=marketer.pk).update(is_active=False)
    gone = Actor.of(User.objects.get(pk=marketer.pk))
    with CaptureQueriesContext(connection) as queries:
        assert campaign_list_stamp(viewer=gone, filters=CampaignFilters()) == []
    assert len(queries) == 0
