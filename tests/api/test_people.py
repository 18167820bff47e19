"""Teams and members (read for members and managers; write for managers), the weekly feed,
the inbox; and query counts that do not grow with the data."""

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from teams.models import Membership
from tests.factories import CampaignFactory, StakeholderFactory, TeamFactory, announced_campaign

pytestmark = pytest.mark.django_db


def test_teams_are_listed_and_members_shown_to_members_and_managers(
    api_as, advisor, manager, marketer, support_team
):
    assert [t["slug"] for t in api_as(marketer).get("/teams").json()] == ["conseillers"]
    team = api_as(advisor).get(f"/teams/{support_team.pk}").json()
    assert [m["email"] for m in team["members"]] == ["advisor@example.test"]
    assert api_as(manager).get(f"/teams/{support_team.pk}").status_code == 200
    assert api_as(marketer).get(f"/teams/{support_team.pk}").status_code == 403
    assert api_as(marketer).get("/teams/999999").status_code == 404


def test_managers_add_change_and_remove_members(api_as, manager, advisor, support_team):
    api = api_as(manager)
    added = api.post(
        f"/teams/{support_team.pk}/members",
        {"email": "new.advisor@example.test", "full_name": "Nina Nouvelle"},
    )
    assert added.status_code == 201, added.content
    newcomer = Membership.objects.get(team=support_team, user__email="new.advisor@example.test")
    lead = api.put(f"/teams/{support_team.pk}/members/{newcomer.user_id}", {"role": "lead"})
    assert lead.status_code == 200
    newcomer.refresh_from_db()
    assert newcomer.role == "lead"
    assert api.delete(f"/teams/{support_team.pk}/members/{newcomer.user_id}").status_code == 204
    assert not Membership.objects.filter(pk=newcomer.pk).exists()
    refused = api_as(advisor).post(f"/teams/{support_team.pk}/members", {"email": "x@example.test"})
    assert refused.status_code == 403


def test_the_feed_lists_the_weeks_campaigns_with_what_my_team_owes(api_as, advisor, support_team):
    campaign = announced_campaign(
        teams=[support_team], launch_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    feed = api_as(advisor).get("/feed").json()
    [item] = feed["items"]
    assert item["campaign"]["id"] == campaign.pk
    assert item["my_teams_pending"] == [
        {"id": support_team.pk, "name": support_team.name, "slug": "conseillers"}
    ]
    assert item["i_acknowledged"] is False
    assert api_as(advisor).get("/feed", week="2026-W99").status_code == 400


def test_the_inbox_lists_my_notices(api_as, advisor, support_team):
    from notifications import tasks
    from notifications.models import Dispatch

    campaign = announced_campaign(teams=[support_team], title="Soldes d'hiver")
    for dispatch in Dispatch.objects.filter(campaign=campaign):
        tasks.expand_dispatch(dispatch.pk)
    inbox = api_as(advisor).get("/inbox").json()
    [item] = inbox["items"]
    assert item["campaign_title"] == "Soldes d'hiver"
    assert item["campaign_id"] == campaign.pk
    assert item["unread"] is True
    assert inbox["unread"] == 1


def _campaigns(count: int, team) -> None:
    for _ in range(count):
        StakeholderFactory(campaign=CampaignFactory(status=Campaign.Status.DRAFT), team=team)


def test_the_list_costs_the_same_queries_for_2_or_40_campaigns(
    api_as, manager, support_team, django_assert_num_queries
):
    api = api_as(manager, scope="read")
    _campaigns(2, support_team)
    api.get("/campaigns")  # warm the role caches the way a long-lived worker has them
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert len(api.get("/campaigns").json()["items"]) == 2
    _campaigns(38, TeamFactory())
    with CaptureQueriesContext(connection) as large:
        assert len(api.get("/campaigns").json()["items"]) == 40
    assert len(large.captured_queries) == len(small.captured_queries) <= 8


def test_a_campaign_costs_the_same_queries_with_1_or_6_teams(api_as, manager, support_team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = api_as(manager, scope="read")
    campaign = announced_campaign(teams=[support_team])
    api.get(f"/campaigns/{campaign.pk}")
    with CaptureQueriesContext(connection) as small:
        api.get(f"/campaigns/{campaign.pk}")
    bigger = announced_campaign(teams=[TeamFactory() for _ in range(6)])
    with CaptureQueriesContext(connection) as large:
        assert len(api.get(f"/campaigns/{bigger.pk}").json()["stakeholders"]) == 6
    assert len(large.captured_queries) == len(small.captured_queries)


def test_a_kept_list_is_each_callers_own_and_follows_changes(api_as, marketer, advisor, settings):
    """The list is kept between requests (core.pages): never across callers, and never
    once a campaign on it changed."""
    settings.PAGE_CACHE_SECONDS = 60
    team = TeamFactory()
    Membership.objects.create(team=team, user=advisor)
    draft = CampaignFactory(owner=marketer, title="Brouillon privé")
    StakeholderFactory(campaign=draft, team=team)
    owner, reader = api_as(marketer, scope="read"), api_as(advisor, scope="read")
    assert [c["title"] for c in owner.get("/campaigns").json()["items"]] == ["Brouillon privé"]
    assert reader.get("/campaigns").json()["items"] == []  # a draft: not the advisor's
    Campaign.objects.filter(pk=draft.pk).update(title="Brouillon renommé")
    assert [c["title"] for c in owner.get("/campaigns").json()["items"]] == ["Brouillon renommé"]
