"""After announcement, a material change is a new version that every team must
acknowledge again; other edits are recorded but keep the version."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignEvent, Stakeholder
from notifications.models import Kind as NotificationKind
from notifications.models import Notification
from tests.factories import (
    CampaignFactory,
    StakeholderFactory,
    announced_campaign,
    campaign_input,
    team_with_members,
)

pytestmark = pytest.mark.django_db

EventKind = CampaignEvent.Kind

MATERIAL_CHANGES = {
    "launch_at": lambda c: c.launch_at + timedelta(days=1),
    "audience": lambda c: "Clients inactifs depuis 6 mois",
    "body": lambda c: c.body + "\n\n- Nouveau : livraison offerte",
    "channel": lambda c: Campaign.Channel.SMS,
}
MINOR_CHANGES = {
    "title": lambda c: c.title + " (corrigé)",
    "summary": lambda c: "Résumé sans faute de frappe.",
    "objective": lambda c: "Réactiver 5 % des clients.",
    "estimated_recipients": lambda c: c.estimated_recipients + 10,
}


@pytest.fixture
def acknowledged(marketer, advisor, support_team) -> Campaign:
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1
    return Campaign.objects.get(pk=campaign.pk)


def _update(actor, campaign: Campaign, **changes) -> Campaign:
    return services.campaign_update(
        actor=actor, campaign_id=campaign.pk, data=campaign_input(campaign, **changes)
    )


def test_material_fields_are_the_documented_ones():
    assert set(Campaign.MATERIAL_FIELDS) == set(MATERIAL_CHANGES)


@pytest.mark.parametrize("field", sorted(MATERIAL_CHANGES))
def test_material_change_bumps_version_and_asks_again(marketer, advisor, acknowledged, field):
    new_value = MATERIAL_CHANGES[field](acknowledged)

    _update(marketer, acknowledged, **{field: new_value})

    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.version == 2
    assert getattr(campaign, field) == new_value
    stakeholder = Stakeholder.objects.select_related("campaign").get(campaign=campaign)
    assert stakeholder.acknowledged_version == 1
    assert not stakeholder.is_acknowledged
    bumped = campaign.events.get(kind=EventKind.VERSION_BUMPED)
    assert bumped.version == 2
    assert bumped.details["fields"] == [field]
    assert [change["field"] for change in bumped.details["changes"]] == [field]
    changed = Notification.objects.filter(
        campaign=campaign, kind=NotificationKind.CHANGED, campaign_version=2, recipient=advisor
    )
    assert changed.exists()
    assert changed.first().payload["changes"] == [field]
    # The advisor can, and must, acknowledge the new version.
    result = services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, version=2)
    assert result.was_new


def test_several_material_changes_make_one_new_version(marketer, acknowledged):
    _update(marketer, acknowledged, audience="Tous les clients", channel=Campaign.Channel.WEB)

    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.version == 2
    details = campaign.events.get(kind=EventKind.VERSION_BUMPED).details
    assert details["fields"] == ["channel", "audience"]
    assert [change["field"] for change in details["changes"]] == ["channel", "audience"]


def test_material_change_restarts_due_dates(marketer, acknowledged, support_team):
    old_due = Stakeholder.objects.get(campaign=acknowledged).due_at
    assert old_due == acknowledged.announced_at + timedelta(hours=support_team.ack_deadline_hours)

    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        _update(marketer, acknowledged, launch_at=timezone.now() + timedelta(days=30))
        changed_at = timezone.now()

    new_due = Stakeholder.objects.get(campaign=acknowledged).due_at
    assert new_due == changed_at + timedelta(hours=support_team.ack_deadline_hours)
    assert new_due > old_due + timedelta(hours=23)


@pytest.mark.parametrize("field", sorted(MINOR_CHANGES))
def test_minor_change_keeps_version_and_acknowledgements(marketer, acknowledged, field):
    notifications_before = Notification.objects.filter(campaign=acknowledged).count()
    new_value = MINOR_CHANGES[field](acknowledged)

    _update(marketer, acknowledged, **{field: new_value})

    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.version == 1
    assert getattr(campaign, field) == new_value
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1
    assert not campaign.events.filter(kind=EventKind.VERSION_BUMPED).exists()
    assert campaign.events.get(kind=EventKind.EDITED).details["fields"] == [field]
    assert Notification.objects.filter(campaign=campaign).count() == notifications_before


def test_saving_without_any_change_records_nothing(marketer, acknowledged):
    events_before = acknowledged.events.count()

    _update(marketer, acknowledged)

    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.version == 1
    assert campaign.events.count() == events_before


@pytest.mark.parametrize("field", sorted(MATERIAL_CHANGES))
def test_draft_edits_never_bump(marketer, draft_campaign, field):
    _update(marketer, draft_campaign, **{field: MATERIAL_CHANGES[field](draft_campaign)})

    campaign = Campaign.objects.get(pk=draft_campaign.pk)
    assert campaign.version == 1
    assert not campaign.events.filter(kind=EventKind.VERSION_BUMPED).exists()
    assert not Notification.objects.filter(campaign=campaign).exists()


def test_team_added_after_announcement_gets_the_announcement_not_a_change(
    marketer, acknowledged, support_team
):
    new_team, (newcomer,) = team_with_members(1, name="Boutiques")

    _update(
        marketer,
        acknowledged,
        body=acknowledged.body + "\n\nNouveau paragraphe.",
        team_ids=[support_team.pk, new_team.pk],
    )

    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.version == 2
    kinds = set(
        Notification.objects.filter(campaign=campaign, recipient=newcomer).values_list(
            "kind", flat=True
        )
    )
    assert kinds == {NotificationKind.ANNOUNCED}
    assert Stakeholder.objects.get(campaign=campaign, team=new_team).due_at is not None


def _save_edit_page_with_title(client, campaign: Campaign, team, title: str):
    """Post the edit form back as the browser shows it, with only the title retyped."""
    page = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    shown_launch = re.search(r'name="launch_at" value="([^"]+)"', page).group(1)
    data = {
        "title": title,
        "channel": campaign.channel,
        "audience": campaign.audience,
        "estimated_recipients": campaign.estimated_recipients,
        "launch_at": shown_launch,
        "summary": campaign.summary,
        "body": campaign.body,
        "teams": [team.pk],
    }
    return client.post(reverse("campaigns:edit", args=[campaign.pk]), data)


def test_edit_page_typo_fix_keeps_version(client, marketer, acknowledged, support_team):
    """The edit form shows the launch date to the minute; saving it back unchanged must
    not count as moving the launch (a new version for every team)."""
    acknowledged.refresh_from_db()
    assert acknowledged.launch_at.second or acknowledged.launch_at.microsecond
    client.force_login(marketer)

    response = _save_edit_page_with_title(
        client, acknowledged, support_team, acknowledged.title + " (typo)"
    )

    assert response.status_code == 302
    campaign = Campaign.objects.get(pk=acknowledged.pk)
    assert campaign.title.endswith("(typo)")
    assert campaign.launch_at == acknowledged.launch_at
    assert campaign.version == 1
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1


def test_edit_page_typo_fix_after_launch(client, marketer, advisor, support_team):
    """A campaign announced after it went out keeps its (past) launch date on a typo fix."""
    campaign = CampaignFactory(
        owner=marketer, launch_at=timezone.now() - timedelta(days=2, seconds=17)
    )
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(
        actor=marketer, campaign_id=campaign.pk, already_sent_reason="Sent by the agency."
    )
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    client.force_login(marketer)

    response = _save_edit_page_with_title(client, campaign, support_team, "Relance (corrigé)")

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.title == "Relance (corrigé)"
    assert campaign.version == 1
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version == 1


def test_edit_page_material_change_warns_and_bumps(client, marketer, acknowledged, support_team):
    client.force_login(marketer)
    launch = timezone.localtime(acknowledged.launch_at + timedelta(days=2))
    data = {
        "title": acknowledged.title,
        "channel": acknowledged.channel,
        "audience": acknowledged.audience,
        "estimated_recipients": acknowledged.estimated_recipients,
        "launch_at": launch.strftime("%Y-%m-%dT%H:%M"),
        "summary": acknowledged.summary,
        "body": acknowledged.body,
        "teams": [support_team.pk],
    }

    response = client.post(reverse("campaigns:edit", args=[acknowledged.pk]), data, follow=True)

    assert Campaign.objects.get(pk=acknowledged.pk).version == 2
    assert "Material change: now version 2." in response.content.decode()
