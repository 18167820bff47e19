"""A campaign closed by a manager's override still takes the acknowledgement of the teams
that never gave it (late), and the campaign page says "Closed — launches in 3 days" while
its launch is ahead."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignEvent, Stakeholder
from campaigns.views.page import closed_before_launch
from core.errors import DomainError
from teams.models import Team
from teams.roles import Actor
from tests.factories import announced_campaign, campaign_state, team_with_members

pytestmark = pytest.mark.django_db

Status = Campaign.Status
EventKind = CampaignEvent.Kind


@pytest.fixture
def overridden(marketer, manager):
    """Ventes acknowledged, Accueil did not; a manager closed the campaign anyway."""
    sales, (seller,) = team_with_members(1, name="Ventes")
    desk, (clerk, colleague) = team_with_members(
        2, name="Accueil", ack_policy=Team.AckPolicy.ANY_MEMBER
    )
    campaign = announced_campaign(owner=marketer, teams=[sales, desk])
    services.campaign_acknowledge(actor=seller, campaign_id=campaign.pk)
    services.campaign_override_done(actor=manager, campaign_id=campaign.pk, reason="Dit en réunion")
    return campaign, seller, clerk, colleague, desk


def test_a_team_pending_at_the_override_acknowledges_late(overridden):
    campaign, _seller, clerk, _colleague, desk = overridden

    result = services.campaign_acknowledge(actor=clerk, campaign_id=campaign.pk)

    assert result.was_new
    campaign.refresh_from_db()
    assert campaign.status == Status.DONE  # still closed: acknowledging does not reopen it
    row = Stakeholder.objects.get(campaign=campaign, team=desk)
    assert row.acknowledged_version == campaign.version
    assert row.acknowledged_by == clerk
    late = campaign.events.filter(details__late=True).order_by("id")
    assert [(e.kind, e.details["team"]) for e in late] == [
        (EventKind.ACKNOWLEDGED, "Accueil"),
        (EventKind.TEAM_ACKNOWLEDGED, "Accueil"),
    ]


def test_the_timeline_says_it_came_after_the_override(client, overridden):
    campaign, _seller, clerk, _colleague, _desk = overridden
    client.force_login(clerk)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "You can still acknowledge it (late)." in page

    response = client.post(
        reverse("campaigns:acknowledge", args=[campaign.pk]), {"version": campaign.version}
    )

    assert response.status_code == 302
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "acknowledged late, after the override" in page
    assert "You can still acknowledge it (late)." not in page


def test_a_team_that_had_acknowledged_cannot_acknowledge_again(overridden):
    campaign, seller, _clerk, _colleague, _desk = overridden
    before = campaign_state(campaign.pk)

    with pytest.raises(DomainError) as refused:
        services.campaign_acknowledge(actor=seller, campaign_id=campaign.pk)

    assert refused.value.code == "not_announced"
    assert campaign_state(campaign.pk) == before


def test_once_the_late_team_acknowledged_its_colleagues_are_told_who_did(overridden):
    campaign, _seller, clerk, colleague, _desk = overridden
    services.campaign_acknowledge(actor=clerk, campaign_id=campaign.pk)
    before = campaign_state(campaign.pk)

    with pytest.raises(DomainError):
        services.campaign_acknowledge(actor=colleague, campaign_id=campaign.pk)

    assert campaign_state(campaign.pk) == before


def test_a_campaign_done_the_normal_way_takes_no_more_acknowledgements(marketer):
    team, (first, second) = team_with_members(2, ack_policy=Team.AckPolicy.EVERY_MEMBER)
    campaign = announced_campaign(owner=marketer, teams=[team])
    services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
    services.campaign_acknowledge(actor=second, campaign_id=campaign.pk)
    services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
    before = campaign_state(campaign.pk)

    with pytest.raises(DomainError) as refused:
        services.campaign_acknowledge(actor=first, campaign_id=campaign.pk)

    assert refused.value.code == "not_announced"
    assert campaign_state(campaign.pk) == before


def test_the_e_mail_link_page_offers_the_late_acknowledgement(overridden):
    campaign, seller, clerk, _colleague, _desk = overridden
    fresh = Campaign.objects.prefetch_related(
        "stakeholders__team", "stakeholders__acknowledgements", "editors"
    ).get(pk=campaign.pk)
    assert selectors.acknowledge_state(campaign=fresh, viewer=Actor.of(clerk)).allowed
    assert not selectors.acknowledge_state(campaign=fresh, viewer=Actor.of(seller)).allowed


# Mid-morning: three days and an hour later is still three calendar days later (late in
# the evening it is four, which the countdown rightly says).
@time_machine.travel(datetime(2026, 12, 2, 9, 30, tzinfo=UTC), tick=False)
def test_a_done_campaign_launching_later_reads_closed_with_the_countdown(client, overridden):
    campaign, _seller, clerk, _colleague, _desk = overridden
    now = timezone.now()
    Campaign.objects.filter(pk=campaign.pk).update(launch_at=now + timedelta(days=3, hours=1))
    campaign.refresh_from_db()

    assert closed_before_launch(campaign, now=now) == "Closed — launches in 3 days"
    client.force_login(clerk)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Closed — launches in 3 days" in page

    Campaign.objects.filter(pk=campaign.pk).update(launch_at=now - timedelta(days=1))
    campaign.refresh_from_db()
    assert closed_before_launch(campaign, now=now) == ""


def test_an_announced_campaign_is_not_called_closed(marketer):
    campaign = announced_campaign(owner=marketer)
    assert closed_before_launch(campaign, now=timezone.now()) == ""
