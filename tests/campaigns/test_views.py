"""Campaign pages: what they show, fragments for htmx, and a query count that does not
grow with the data."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, Kpi
from teams.models import Team
from tests.factories import (
    CampaignFactory,
    StakeholderFactory,
    announced_campaign,
    campaign_input,
    team_with_members,
)

pytestmark = pytest.mark.django_db

Status = Campaign.Status
LIST_MAX_QUERIES = 6  # session, user, two permission lookups, count, page
DETAIL_MAX_QUERIES = 15  # + attachments, co-editors and feedback prefetches, the tally


def _announced_half_acknowledged(owner, **kwargs) -> Campaign:
    """Announced to two teams, one of which has acknowledged: "1/2 teams"."""
    acked, (member,) = team_with_members(1)
    pending, _ = team_with_members(1)
    campaign = announced_campaign(owner=owner, teams=[acked, pending], **kwargs)
    services.campaign_acknowledge(actor=member, campaign_id=campaign.pk)
    return campaign


def _count_queries(client, url: str, **headers) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    return len(queries), response


class TestList:
    def test_shows_acknowledgement_progress(self, client, marketer):
        campaign = _announced_half_acknowledged(marketer, title="Soldes d'été")
        client.force_login(marketer)

        html = client.get(reverse("campaigns:list")).content.decode()

        row = html[html.index(f'id="campaign-{campaign.pk}"') :]
        row = row[: row.index("</tr>")]
        assert "Soldes d&#x27;été" in row
        assert "1/2 teams" in row
        assert "status-announced" in row

    def test_progress_counts_only_the_current_version(
        self, client, marketer, advisor, support_team
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        client.force_login(marketer)
        assert "1/1 team" in client.get(reverse("campaigns:list")).content.decode()

        services.campaign_update(
            actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, audience="VIP")
        )

        assert "0/1 team" in client.get(reverse("campaigns:list")).content.decode()

    def test_status_filter(self, client, marketer):
        draft = CampaignFactory(owner=marketer, title="Brouillon Noël")
        announced = announced_campaign(owner=marketer, title="Annonce Pâques")
        client.force_login(marketer)

        html = client.get(reverse("campaigns:list"), {"status": "draft"}).content.decode()

        assert f'id="campaign-{draft.pk}"' in html
        assert f'id="campaign-{announced.pk}"' not in html
        unfiltered = client.get(reverse("campaigns:list"), {"status": "bogus"}).content.decode()
        assert f'id="campaign-{announced.pk}"' in unfiltered

    def test_query_count_does_not_grow_with_campaigns(
        self, client, marketer, django_assert_max_num_queries
    ):
        client.force_login(marketer)
        url = reverse("campaigns:list")
        for _ in range(3):
            _announced_half_acknowledged(marketer)
        with django_assert_max_num_queries(LIST_MAX_QUERIES):
            few, response = _count_queries(client, url)
        assert response.content.decode().count("1/2 teams") == 3

        for _ in range(12):
            _announced_half_acknowledged(marketer)
        with django_assert_max_num_queries(LIST_MAX_QUERIES):
            many, response = _count_queries(client, url)
        assert response.content.decode().count("1/2 teams") == 15
        assert many == few

    def test_htmx_request_gets_only_the_rows(self, client, marketer, django_assert_max_num_queries):
        campaigns = [CampaignFactory(owner=marketer) for _ in range(3)]
        client.force_login(marketer)

        with django_assert_max_num_queries(LIST_MAX_QUERIES):
            response = client.get(reverse("campaigns:list"), HTTP_HX_REQUEST="true")

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert "<body" not in html
        assert 'class="campaign-table' in html
        for campaign in campaigns:
            assert f'id="campaign-{campaign.pk}"' in html
        assert "HX-Request" in response.get("Vary", "")

    def test_boosted_htmx_request_gets_the_whole_page(self, client, marketer):
        client.force_login(marketer)

        response = client.get(
            reverse("campaigns:list"), HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true"
        )

        assert "<html" in response.content.decode()

    def test_plain_request_gets_the_whole_page(self, client, marketer):
        CampaignFactory(owner=marketer)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:list")).content.decode()

        assert "<html" in html
        assert 'id="campaign-rows"' in html

    def test_pagination_links_keep_a_real_href(self, client, marketer):
        CampaignFactory.create_batch(26, owner=marketer)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:list")).content.decode()

        # Keyset pages: the link carries an opaque cursor (see test_list_page.py).
        next_url = re.search(r'<a href="(\?cursor=[^"]+)" hx-get="\1"', html)[1]
        second = client.get(
            reverse("campaigns:list") + next_url.replace("&amp;", "&"), HTTP_HX_REQUEST="true"
        )
        assert second.content.decode().count('<tr id="campaign-') == 1


class TestDetail:
    def _campaign_with(self, owner, team_count: int) -> Campaign:
        teams = []
        members = []
        for _ in range(team_count):
            team, people = team_with_members(3, ack_policy=Team.AckPolicy.EVERY_MEMBER)
            teams.append(team)
            members.extend(people)
        campaign = announced_campaign(owner=owner, teams=teams)
        for index, person in enumerate(members):
            services.campaign_acknowledge(
                actor=person, campaign_id=campaign.pk, note=f"Remarque {index}"
            )
        for position in range(team_count):
            Kpi.objects.create(campaign=campaign, name=f"KPI {position}", position=position)
        return campaign

    def test_query_count_constant_in_teams_and_acknowledgements(
        self, client, marketer, django_assert_max_num_queries
    ):
        client.force_login(marketer)
        small = announced_campaign(owner=marketer)
        big = self._campaign_with(marketer, 4)

        with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
            few, _ = _count_queries(client, reverse("campaigns:detail", args=[small.pk]))
        with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
            many, response = _count_queries(client, reverse("campaigns:detail", args=[big.pk]))

        assert many == few
        html = response.content.decode()
        assert html.count("pill-ok") == 4
        assert "Remarque 11" in html

    def test_stakeholder_sees_own_acknowledgement_panel(
        self, client, marketer, advisor, support_team, django_assert_max_num_queries
    ):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(advisor)
        url = reverse("campaigns:detail", args=[campaign.pk])

        html = client.get(url).content.decode()
        assert 'id="my-acknowledgement"' in html
        assert "waiting for you." in html

        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        with django_assert_max_num_queries(DETAIL_MAX_QUERIES):
            html = client.get(url).content.decode()
        assert "you acknowledged this version." in html
        assert (
            reverse("campaigns:acknowledgement_revoke", args=[campaign.pk, support_team.pk]) in html
        )

    def test_unknown_campaign_is_404(self, client, marketer):
        client.force_login(marketer)
        assert client.get(reverse("campaigns:detail", args=[999_999])).status_code == 404

    def test_draft_shows_why_announce_is_disabled(self, client, marketer):
        campaign = CampaignFactory(owner=marketer)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        assert "Add at least one stakeholder team before announcing." in html

    def test_timeline_lists_events(self, client, marketer, draft_campaign):
        services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[draft_campaign.pk])).content.decode()

        assert "Announced" in html
        assert marketer.display_name in html


class TestActions:
    def test_marketer_announces_through_the_page(self, client, marketer, advisor, draft_campaign):
        client.force_login(marketer)

        response = client.post(reverse("campaigns:announce", args=[draft_campaign.pk]), follow=True)

        assert response.status_code == 200
        assert "Announced. The stakeholder teams are being notified." in response.content.decode()
        assert Campaign.objects.get(pk=draft_campaign.pk).status == Status.ANNOUNCED

    def test_whole_journey_through_the_pages(self, client, marketer, advisor, support_team):
        campaign = CampaignFactory(owner=marketer)
        StakeholderFactory(campaign=campaign, team=support_team)
        client.force_login(marketer)
        client.post(reverse("campaigns:announce", args=[campaign.pk]))

        client.force_login(advisor)
        client.post(reverse("campaigns:acknowledge", args=[campaign.pk]), {"version": 1})
        again = client.post(
            reverse("campaigns:acknowledge", args=[campaign.pk]), {"version": 1}, follow=True
        )
        assert "Already acknowledged by" in again.content.decode()

        client.force_login(marketer)
        client.post(reverse("campaigns:mark_done", args=[campaign.pk]))

        assert Campaign.objects.get(pk=campaign.pk).status == Status.DONE

    def test_stale_acknowledgement_is_explained(self, client, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_update(
            actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, audience="VIP")
        )
        client.force_login(advisor)

        response = client.post(
            reverse("campaigns:acknowledge", args=[campaign.pk]), {"version": 1}, follow=True
        )

        assert "This campaign changed since (now version 2)." in response.content.decode()

    def test_actions_need_post(self, client, marketer, draft_campaign):
        client.force_login(marketer)
        for name in ("announce", "mark_done", "override_done", "cancel", "acknowledge"):
            response = client.get(reverse(f"campaigns:{name}", args=[draft_campaign.pk]))
            assert response.status_code == 405
        assert Campaign.objects.get(pk=draft_campaign.pk).status == Status.DRAFT

    def test_next_parameter_cannot_leave_the_site(self, client, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(advisor)

        response = client.post(
            reverse("campaigns:acknowledge", args=[campaign.pk]),
            {"version": 1, "next": "https://evil.test/phish"},
        )

        assert response.status_code == 302
        assert response.url == reverse("campaigns:detail", args=[campaign.pk])
