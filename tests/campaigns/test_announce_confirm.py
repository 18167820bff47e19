"""The announce confirmation: who will be told on which channel and by when, counted by
the outbox's own rules, and a second "Announce now" that changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors
from campaigns.models import Campaign, CampaignEvent
from notifications.models import Channel, DeliverySettings, Kind, Notification, Preference
from teams.roles import Actor
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_teams_campaign(marketer):
    """Two teams: one person in both, one without e-mails for announcements, one reading a
    daily digest, one inactive; only the second team has a chat webhook."""
    shop = TeamFactory(name="Boutiques", slug="boutiques")
    phone = TeamFactory(
        name="Téléconseil", slug="teleconseil", webhook_url="https://chat.example.com/hook"
    )
    both = UserFactory(full_name="Bea Both")
    no_mail = UserFactory(full_name="Noé Nomail")
    digest = UserFactory(full_name="Dina Digest")
    gone = UserFactory(full_name="Gaston Gone", is_active=False)
    for team, people in ((shop, [both, no_mail, gone]), (phone, [both, digest])):
        for person in people:
            MembershipFactory(team=team, user=person)
    Preference.objects.create(
        user=no_mail, kind=Kind.ANNOUNCED, channel=Channel.EMAIL, enabled=False
    )
    DeliverySettings.objects.create(user=digest, daily_digest=True)
    campaign = CampaignFactory(owner=marketer, audience="Clients actifs")
    for team in (shop, phone):
        StakeholderFactory(campaign=campaign, team=team)
    return campaign, shop, phone


def test_the_preview_counts_what_the_announcement_writes(marketer, two_teams_campaign):
    campaign, shop, phone = two_teams_campaign

    preview = selectors.announce_preview(viewer=Actor.of(marketer), campaign_id=campaign.pk)

    per_team = {row.team.pk: row.reach for row in preview.teams}
    assert (per_team[shop.pk].people, per_team[shop.pk].email, per_team[shop.pk].in_app) == (
        2,
        1,
        2,
    )
    assert per_team[shop.pk].webhooks == 0
    assert (per_team[phone.pk].people, per_team[phone.pk].email) == (2, 2)
    assert (per_team[phone.pk].email_in_digest, per_team[phone.pk].webhooks) == (1, 1)
    # Bea is in both teams and told once.
    total = preview.total
    assert (total.people, total.email, total.in_app, total.webhooks) == (3, 2, 3, 1)
    assert total.email_in_digest == 1

    client_post_announce(marketer, campaign)

    rows = Notification.objects.filter(campaign=campaign, kind=Kind.ANNOUNCED)
    assert rows.filter(channel=Channel.EMAIL).count() == total.email
    assert rows.filter(channel=Channel.EMAIL, status=Notification.Status.HELD).count() == 1
    assert rows.filter(channel=Channel.IN_APP).count() == total.in_app
    assert rows.filter(channel=Channel.WEBHOOK).count() == total.webhooks
    assert rows.values("recipient").exclude(recipient=None).distinct().count() == total.people


def test_each_team_is_shown_the_due_date_the_service_sets(marketer, two_teams_campaign):
    campaign, shop, phone = two_teams_campaign
    shop.ack_deadline_hours = 4
    shop.save()

    preview = selectors.announce_preview(viewer=Actor.of(marketer), campaign_id=campaign.pk)
    shown = {row.team.pk: row.due_at for row in preview.teams}
    client_post_announce(marketer, campaign)

    for stakeholder in Campaign.objects.get(pk=campaign.pk).stakeholders.all():
        assert stakeholder.due_at is not None
        assert abs(stakeholder.due_at - shown[stakeholder.team_id]) < timedelta(minutes=1)
    assert shown[shop.pk] < shown[phone.pk]  # 4 hours against the launch, 3 days away


def client_post_announce(user, campaign, **data):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.post(
        reverse("campaigns:announce", args=[campaign.pk]), {"confirmed": "1", **data}
    )


class TestConfirmationPage:
    def url(self, campaign):
        return reverse("campaigns:announce_confirm", args=[campaign.pk])

    def test_page_names_teams_channels_due_dates(
        self, client, marketer, two_teams_campaign, django_assert_max_num_queries
    ):
        campaign, _shop, _phone = two_teams_campaign
        client.force_login(marketer)

        with django_assert_max_num_queries(25):
            response = client.get(self.url(campaign))

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" in html
        assert "<strong>3 people</strong> will be told in 2 teams" in html
        assert "Boutiques" in html
        assert "Téléconseil" in html
        assert "(1 in a daily digest)" in html
        assert "1 team chat message" in html
        assert html.count("Acknowledgement due") == 2
        assert 'name="confirmed"' in html

    def test_htmx_gets_the_panel_alone(self, client, marketer, two_teams_campaign):
        campaign, _shop, _phone = two_teams_campaign
        client.force_login(marketer)

        response = client.get(self.url(campaign), HTTP_HX_REQUEST="true")

        html = response.content.decode()
        assert html.lstrip().startswith('<section id="announce-confirm"') or (
            'id="announce-confirm"' in html and "<html" not in html
        )
        assert "<html" not in html

    def test_contact_pressure_is_warned_about(self, client, marketer, two_teams_campaign):
        campaign, _shop, _phone = two_teams_campaign
        CampaignFactory(
            title="Soldes d'hiver",
            owner=marketer,
            audience="Clients actifs fidèles",
            status=Campaign.Status.ANNOUNCED,
            announced_at=timezone.now(),
            launch_at=campaign.launch_at + timedelta(days=1),
        )
        client.force_login(marketer)

        html = client.get(self.url(campaign)).content.decode()

        assert "Contact pressure: 1 other campaign" in html
        assert "Soldes d&#x27;hiver" in html
        assert "You can still announce" in html

    def test_someone_who_may_not_announce_sees_why_and_no_button(
        self, client, advisor, two_teams_campaign
    ):
        campaign, _shop, _phone = two_teams_campaign
        campaign.status = Campaign.Status.ANNOUNCED
        campaign.announced_at = timezone.now()
        campaign.save()
        client.force_login(advisor)

        html = client.get(self.url(campaign)).content.decode()

        assert 'name="confirmed"' not in html
        assert "Announce now" not in html

    def test_the_detail_page_button_leads_to_the_confirmation(
        self, client, marketer, two_teams_campaign
    ):
        campaign, _shop, _phone = two_teams_campaign
        client.force_login(marketer)

        html = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

        assert f'action="{self.url(campaign)}"' in html
        assert f'hx-get="{self.url(campaign)}"' in html


def test_announcing_twice_announces_once(client, marketer, two_teams_campaign):
    campaign, _shop, _phone = two_teams_campaign
    client.force_login(marketer)
    url = reverse("campaigns:announce", args=[campaign.pk])

    first = client.post(url, {"confirmed": "1"}, follow=True)
    written = Notification.objects.filter(campaign=campaign).count()
    second = client.post(url, {"confirmed": "1"}, follow=True)

    assert "Announced. The stakeholder teams are being notified." in first.content.decode()
    assert "already announced" in second.content.decode().lower()
    assert written > 0
    assert Notification.objects.filter(campaign=campaign).count() == written
    assert campaign.events.filter(kind=CampaignEvent.Kind.ANNOUNCED).count() == 1


def test_a_missing_reason_comes_back_on_the_confirmation_as_typed(
    client, marketer, two_teams_campaign
):
    campaign, _shop, _phone = two_teams_campaign
    Campaign.objects.filter(pk=campaign.pk).update(launch_at=timezone.now() - timedelta(hours=2))
    client.force_login(marketer)
    url = reverse("campaigns:announce", args=[campaign.pk])

    response = client.post(
        url, {"confirmed": "1", "already_sent": "on", "already_sent_reason": " "}
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "Give the reason for announcing after launch." in html
    assert 'name="already_sent" id="id_already_sent" checked' in html
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT

    response = client.post(url, {"confirmed": "1"})
    assert response.status_code == 400
    assert "Launch date is in the past." in response.content.decode()
    assert Notification.objects.filter(campaign=campaign).count() == 0
