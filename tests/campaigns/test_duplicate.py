"""Duplicate: next year's greeting card starts as a copy of this year's, as a new draft,
without dates, results or history."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import services
from campaigns.models import Campaign, CampaignEvent, Kpi
from core.errors import NotFound, PermissionRefused
from tests.factories import (
    CampaignFactory,
    StakeholderFactory,
    TeamFactory,
    announced_campaign,
    campaign_state,
    make_marketer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # Messages are compared word for word; a request earlier in the run may have left
    # another language active in this thread.
    with translation.override("en"):
        yield


Status = Campaign.Status


@pytest.fixture
def greeting_card(marketer, manager, advisor, support_team):
    """Last year's card: done, acknowledged, with results recorded."""
    sales = TeamFactory(name="Ventes")
    campaign = CampaignFactory(
        owner=marketer,
        title="Carte de vœux 2026",
        channel=Campaign.Channel.EMAIL,
        audience="Clients et prospects actifs",
        estimated_recipients=38500,
        launch_at=timezone.now() + timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=10),
        summary="Les vœux de la direction.",
        body="## Points clés\n\n- Aucune offre",
        objective="Entretenir la relation.",
    )
    StakeholderFactory(campaign=campaign, team=support_team)
    StakeholderFactory(campaign=campaign, team=sales)
    Kpi.objects.create(campaign=campaign, name="Taux d'ouverture (%)", target=35, position=0)
    Kpi.objects.create(campaign=campaign, name="Clics", target=2500, actual=2710, position=1)
    services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    services.campaign_override_done(actor=manager, campaign_id=campaign.pk, reason="Ventes absents")
    return Campaign.objects.get(pk=campaign.pk)


class TestService:
    def test_copies_the_content_kpi_targets_and_teams_as_a_new_draft(self, greeting_card):
        colleague = make_marketer(full_name="Julien Moreau")

        copy = services.campaign_duplicate(actor=colleague, campaign_id=greeting_card.pk)

        copy = Campaign.objects.get(pk=copy.pk)
        assert copy.pk != greeting_card.pk
        assert copy.title == "Carte de vœux 2026 (copy)"
        for name in ("channel", "audience", "estimated_recipients", "summary", "body", "objective"):
            assert getattr(copy, name) == getattr(greeting_card, name), name
        assert copy.status == Status.DRAFT
        assert copy.version == 1
        assert copy.owner == colleague
        assert copy.launch_at is None
        assert copy.ends_at is None
        assert copy.announced_at is None
        assert copy.done_at is None
        assert copy.done_override_reason == ""
        assert list(copy.kpis.values_list("name", "target", "actual", "position")) == [
            ("Taux d'ouverture (%)", 35, None, 0),
            ("Clics", 2500, None, 1),
        ]
        assert set(copy.teams.values_list("name", flat=True)) == {
            "Conseillers clientèle",
            "Ventes",
        }
        # The teams start afresh: no due date, nobody has acknowledged anything.
        assert list(copy.stakeholders.values_list("due_at", "acknowledged_version")) == [
            (None, None),
            (None, None),
        ]

    def test_the_copy_starts_its_own_timeline_naming_the_source(self, greeting_card, marketer):
        copy = services.campaign_duplicate(actor=marketer, campaign_id=greeting_card.pk)

        (event,) = copy.events.all()
        assert event.kind == CampaignEvent.Kind.DUPLICATED
        assert event.actor == marketer
        assert event.version == 1
        assert event.details == {
            "source_id": greeting_card.pk,
            "source_title": "Carte de vœux 2026",
        }

    def test_the_source_is_left_as_it_was(self, greeting_card, marketer):
        before = campaign_state(greeting_card.pk)
        kpis = list(greeting_card.kpis.values())

        services.campaign_duplicate(actor=marketer, campaign_id=greeting_card.pk)

        assert campaign_state(greeting_card.pk) == before
        assert list(greeting_card.kpis.values()) == kpis

    def test_each_call_makes_a_new_copy(self, marketer, draft_campaign):
        first = services.campaign_duplicate(actor=marketer, campaign_id=draft_campaign.pk)
        second = services.campaign_duplicate(actor=marketer, campaign_id=draft_campaign.pk)
        assert first.pk != second.pk
        assert Campaign.objects.count() == 3

    def test_a_long_title_still_fits(self, marketer):
        source = CampaignFactory(owner=marketer, title="É" * 200)

        copy = services.campaign_duplicate(actor=marketer, campaign_id=source.pk)

        assert len(copy.title) == 200
        assert copy.title.endswith(" (copy)")

    def test_a_copy_of_a_copy(self, marketer, draft_campaign):
        copy = services.campaign_duplicate(actor=marketer, campaign_id=draft_campaign.pk)
        again = services.campaign_duplicate(actor=marketer, campaign_id=copy.pk)
        assert again.title == f"{draft_campaign.title} (copy) (copy)"

    def test_only_marketers(self, marketer, advisor, manager, draft_campaign):
        announced = announced_campaign(owner=marketer)
        for actor in (advisor, manager):
            with pytest.raises(PermissionRefused) as refused:
                services.campaign_duplicate(actor=actor, campaign_id=announced.pk)
            assert refused.value.message == "Only marketers can duplicate campaigns."
        with pytest.raises(NotFound):  # a draft is not even seen by an advisor
            services.campaign_duplicate(actor=advisor, campaign_id=draft_campaign.pk)
        assert Campaign.objects.count() == 2

    def test_a_missing_campaign(self, marketer):
        with pytest.raises(NotFound):
            services.campaign_duplicate(actor=marketer, campaign_id=424242)


class TestPage:
    def test_duplicate_opens_the_new_drafts_form(self, client, marketer, greeting_card):
        client.force_login(marketer)

        response = client.post(reverse("campaigns:duplicate", args=[greeting_card.pk]), follow=True)

        copy = Campaign.objects.exclude(pk=greeting_card.pk).get()
        assert response.redirect_chain == [(reverse("campaigns:edit", args=[copy.pk]), 302)]
        html = response.content.decode()
        assert "Copied as a new draft" in html
        assert 'value="Carte de vœux 2026 (copy)"' in html
        assert re.search(r'<input type="datetime-local" name="launch_at"(?![^>]*value=)', html)
        assert 'name="kpis-1-target" value="2500"' in html

    def test_the_campaign_page_offers_duplicate_to_marketers_only(
        self, client, marketer, advisor, draft_campaign
    ):
        url = reverse("campaigns:detail", args=[draft_campaign.pk])
        button = reverse("campaigns:duplicate", args=[draft_campaign.pk])

        client.force_login(marketer)
        assert f'action="{button}"' in client.get(url).content.decode()
        client.force_login(advisor)
        assert f'action="{button}"' not in client.get(url).content.decode()

    def test_an_advisor_gets_403_and_nothing_is_copied(self, client, advisor, marketer):
        announced = announced_campaign(owner=marketer)
        client.force_login(advisor)

        response = client.post(reverse("campaigns:duplicate", args=[announced.pk]))

        assert response.status_code == 403
        assert Campaign.objects.count() == 1

    def test_only_post(self, client, marketer, draft_campaign):
        client.force_login(marketer)
        assert client.get(reverse("campaigns:duplicate", args=[draft_campaign.pk])).status_code == (
            405
        )
        assert Campaign.objects.count() == 1

    def test_a_missing_campaign_is_a_404(self, client, marketer):
        client.force_login(marketer)
        assert client.post(reverse("campaigns:duplicate", args=[424242])).status_code == 404
