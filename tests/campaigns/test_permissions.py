"""Who may do what: stakeholders read and acknowledge, marketers write, managers close."""

import pytest
from django.urls import reverse

from campaigns import services
from campaigns.models import Acknowledgement, Campaign, CampaignEvent
from campaigns.services import CampaignInput
from core.errors import NotFound, PermissionRefused
from tests.factories import (
    UserFactory,
    announced_campaign,
    campaign_input,
    campaign_state,
    team_with_members,
)

pytestmark = pytest.mark.django_db

Status = Campaign.Status


def _new_campaign(**changes) -> CampaignInput:
    values = {"title": "Soldes d'hiver", "channel": Campaign.Channel.EMAIL}
    values.update(changes)
    return CampaignInput(**values)


class TestStakeholderRole:
    """An advisor: member of a team, in no role group."""

    def test_advisor_has_no_role_permission(self, advisor):
        assert not advisor.groups.exists()
        assert not advisor.has_perm("campaigns.add_campaign")

    def test_cannot_create(self, advisor, support_team):
        with pytest.raises(PermissionRefused) as refused:
            services.campaign_create(actor=advisor, data=_new_campaign(team_ids=[support_team.pk]))
        assert refused.value.message == "Only marketers can create campaigns."
        assert not Campaign.objects.exists()

    def test_cannot_edit(self, advisor, marketer, draft_campaign):
        announced = announced_campaign(owner=marketer)
        for campaign, refusal in ((draft_campaign, NotFound), (announced, PermissionRefused)):
            before = campaign_state(campaign.pk)
            with pytest.raises(refusal):
                services.campaign_update(
                    actor=advisor,
                    campaign_id=campaign.pk,
                    data=campaign_input(campaign, title="Hijacked"),
                )
            assert campaign_state(campaign.pk) == before
            assert Campaign.objects.get(pk=campaign.pk).title == campaign.title

    def test_cannot_announce_a_draft_it_cannot_even_see(self, advisor, draft_campaign):
        before = campaign_state(draft_campaign.pk)
        with pytest.raises(NotFound) as refused:
            services.campaign_announce(actor=advisor, campaign_id=draft_campaign.pk)
        assert refused.value.message == "This campaign does not exist."
        assert campaign_state(draft_campaign.pk) == before

    def test_create_page_is_forbidden(self, client, advisor, support_team):
        client.force_login(advisor)
        assert client.get(reverse("campaigns:create")).status_code == 403
        response = client.post(
            reverse("campaigns:create"),
            {"title": "Soldes", "channel": "email", "teams": [support_team.pk]},
        )
        assert response.status_code == 403
        assert not Campaign.objects.exists()

    def test_edit_page_is_forbidden(self, client, advisor, marketer, draft_campaign):
        announced = announced_campaign(owner=marketer)
        client.force_login(advisor)
        for campaign, status in ((draft_campaign, 404), (announced, 403)):
            url = reverse("campaigns:edit", args=[campaign.pk])
            assert client.get(url).status_code == status
            response = client.post(url, {"title": "Hijacked", "channel": "sms"})
            assert response.status_code == status
            assert Campaign.objects.get(pk=campaign.pk).title == campaign.title

    def test_announce_is_not_found(self, client, advisor, draft_campaign):
        client.force_login(advisor)
        before = campaign_state(draft_campaign.pk)
        response = client.post(reverse("campaigns:announce", args=[draft_campaign.pk]))
        assert response.status_code == 404
        assert campaign_state(draft_campaign.pk) == before

    @pytest.mark.parametrize("name", ["mark_done", "override_done", "cancel"])
    def test_closing_is_forbidden(self, client, advisor, marketer, support_team, name):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        before = campaign_state(campaign.pk)
        client.force_login(advisor)
        response = client.post(reverse(f"campaigns:{name}", args=[campaign.pk]), {"reason": "x"})
        assert response.status_code == 403
        assert campaign_state(campaign.pk) == before

    def test_pages_hide_what_the_role_cannot_do(self, client, advisor, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(advisor)
        listing = client.get(reverse("campaigns:list")).content.decode()
        assert reverse("campaigns:create") not in listing
        detail = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
        assert reverse("campaigns:edit", args=[campaign.pk]) not in detail
        assert reverse("campaigns:cancel", args=[campaign.pk]) not in detail
        assert "Your role does not allow this." not in detail

    def test_manager_cannot_create_either(self, client, manager):
        with pytest.raises(PermissionRefused):
            services.campaign_create(actor=manager, data=_new_campaign())
        client.force_login(manager)
        assert client.get(reverse("campaigns:create")).status_code == 403


class TestTeams:
    def test_member_of_team_a_cannot_acknowledge_for_team_b(self, marketer):
        team_a, (alice,) = team_with_members(1, name="Équipe A")
        team_b, _ = team_with_members(1, name="Équipe B")
        campaign = announced_campaign(owner=marketer, teams=[team_a, team_b])
        before = campaign_state(campaign.pk)

        with pytest.raises(PermissionRefused) as refused:
            services.campaign_acknowledge(actor=alice, campaign_id=campaign.pk, team_id=team_b.pk)

        assert refused.value.message == "You can only acknowledge for your own teams."
        assert campaign_state(campaign.pk) == before

    def test_acknowledging_without_team_covers_only_own_teams(self, marketer):
        team_a, (alice,) = team_with_members(1, name="Équipe A")
        team_b, _ = team_with_members(1, name="Équipe B")
        campaign = announced_campaign(owner=marketer, teams=[team_a, team_b])

        result = services.campaign_acknowledge(actor=alice, campaign_id=campaign.pk)

        assert [t.team for t in result.teams] == [team_a]
        assert set(
            campaign.stakeholders.filter(acknowledged_version=1).values_list("team", flat=True)
        ) == {team_a.pk}

    def test_outsider_cannot_acknowledge(self, marketer, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        outsider = UserFactory()
        before = campaign_state(campaign.pk)

        with pytest.raises(PermissionRefused) as refused:
            services.campaign_acknowledge(actor=outsider, campaign_id=campaign.pk)

        assert "not in any stakeholder team" in refused.value.message
        assert campaign_state(campaign.pk) == before

    def test_member_of_team_a_cannot_withdraw_for_team_b(self, marketer):
        team_a, (alice,) = team_with_members(1)
        team_b, (bob,) = team_with_members(1)
        campaign = announced_campaign(owner=marketer, teams=[team_a, team_b])
        services.campaign_acknowledge(actor=bob, campaign_id=campaign.pk)
        before = campaign_state(campaign.pk)

        with pytest.raises(PermissionRefused):
            services.campaign_acknowledgement_revoke(
                actor=alice, campaign_id=campaign.pk, team_id=team_b.pk
            )

        assert campaign_state(campaign.pk) == before

    def test_acknowledge_view_for_another_team_is_forbidden(self, client, marketer):
        team_a, (alice,) = team_with_members(1)
        team_b, _ = team_with_members(1)
        campaign = announced_campaign(owner=marketer, teams=[team_a, team_b])
        client.force_login(alice)

        response = client.post(
            reverse("campaigns:acknowledge", args=[campaign.pk]),
            {"version": 1, "team": team_b.pk},
        )

        assert response.status_code == 403
        assert not Acknowledgement.objects.exists()
        assert not CampaignEvent.objects.filter(
            campaign=campaign, kind=CampaignEvent.Kind.ACKNOWLEDGED
        ).exists()

    def test_acknowledge_view_for_own_team(self, client, marketer, advisor, support_team):
        campaign = announced_campaign(owner=marketer, teams=[support_team])
        client.force_login(advisor)

        response = client.post(
            reverse("campaigns:acknowledge", args=[campaign.pk]),
            {"version": 1, "team": support_team.pk, "note": "Les clients demanderont le code."},
            follow=True,
        )

        assert response.status_code == 200
        assert f"Acknowledged for {support_team.name}." in response.content.decode()
        ack = Acknowledgement.objects.get()
        assert (ack.user, ack.version, ack.note) == (advisor, 1, "Les clients demanderont le code.")

    def test_inactive_member_cannot_acknowledge_through_pages(self, client, marketer, support_team):
        team, (member,) = team_with_members(1)
        campaign = announced_campaign(owner=marketer, teams=[team])
        member.is_active = False
        member.save()
        client.force_login(member)

        response = client.post(reverse("campaigns:acknowledge", args=[campaign.pk]), {"version": 1})

        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
        assert not Acknowledgement.objects.exists()
