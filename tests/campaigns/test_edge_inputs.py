"""Inputs and states found in review that used to crash a page or leak a campaign."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import person_erase
from campaigns import services
from core.errors import DomainError
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    UserFactory,
    announced_campaign,
    campaign_input,
)

pytestmark = pytest.mark.django_db


def test_channel_teams_ignores_digits_that_are_not_ascii(client, marketer):
    client.force_login(marketer)
    response = client.get(
        reverse("campaigns:channel_teams"), {"channel": "email", "teams": ["²", "9" * 40]}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("year", [1, 9999])
def test_launch_dates_outside_the_supported_years_are_refused(marketer, support_team, year):
    moment = datetime(year, 1, 2, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    draft = CampaignFactory(owner=marketer)
    with pytest.raises(DomainError) as refused:
        services.campaign_update(
            actor=marketer,
            campaign_id=draft.pk,
            data=campaign_input(draft, launch_at=moment, ends_at=None),
        )
    assert "launch_at" in refused.value.field_errors


def test_the_form_says_so_instead_of_a_server_error(client, marketer, support_team):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:create"),
        {"title": "Très ancienne", "channel": "email", "launch_at": "0001-01-01T00:00"},
    )
    assert response.status_code == 200
    assert "must be between the years" in response.content.decode()


def test_a_draft_cancelled_before_announcement_never_reaches_the_feed(client, marketer):
    membership = MembershipFactory()
    draft = CampaignFactory(owner=marketer, launch_at=timezone.now())
    services.campaign_cancel(actor=marketer, campaign_id=draft.pk)
    client.force_login(membership.user)

    page = client.get(reverse("feed:this_week"), {"teams": ""}).content.decode()

    assert draft.title not in page
    assert client.get(reverse("feed:body", args=[draft.pk])).status_code == 404


def test_an_acknowledgement_by_an_erased_person_still_shows_under_a_pseudonym(client, marketer):
    # Deleting them is refused (acknowledgements PROTECT their person): they are erased.
    membership = MembershipFactory(user__full_name="Zoé Departed")
    campaign = announced_campaign(owner=marketer, teams=[membership.team])
    services.campaign_acknowledge(actor=membership.user, campaign_id=campaign.pk)
    person_erase(actor=UserFactory(is_superuser=True), person=membership.user, remove_text=False)
    client.force_login(marketer)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert f"Former member #{membership.user.pk}" in page
    assert "Zoé Departed" not in page
