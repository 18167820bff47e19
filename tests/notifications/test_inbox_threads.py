"""The inbox as advisors live with it: acknowledging empties it, a campaign's superseded
notices fold under the latest one, cards say only what is new, and paging and query
counts stay what they were."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from campaigns import services as campaign_services
from campaigns.models import Campaign
from notifications import selectors, services
from notifications.models import Channel, Kind, Notification
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    campaign_input,
    make_marketer,
)

pytestmark = pytest.mark.django_db

URL = reverse("notifications:inbox")


def unread(user: User, campaign: Campaign | None = None) -> set[str]:
    rows = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at=None)
    if campaign is not None:
        rows = rows.filter(campaign=campaign)
    return set(rows.values_list("kind", flat=True))


def notice(user: User, campaign: Campaign, kind: str, *, team: str = "", n: int = 0) -> None:
    services.notifications_enqueue(
        campaign_id=campaign.pk,
        campaign_version=campaign.version,
        kind=kind,
        user_ids=[user.pk],
        payload={"title": campaign.title, "path": "/", "team": team, "due_at": None},
        occurrence=f"{kind}-{n}",
    )


def card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="notification-(\d+)"', html)]


# --- acknowledging empties the inbox ------------------------------------------------


class TestAcknowledgingMarksRead:
    def test_the_announcement_change_and_reminders_of_that_campaign(self):
        membership = MembershipFactory()
        reader, team = membership.user, membership.team
        campaign = announced_campaign(teams=[team], title="Soldes")
        notice(reader, campaign, Kind.REMINDER, team=team.name)
        other = announced_campaign(teams=[team], title="Autre")
        assert unread(reader, campaign) == {Kind.ANNOUNCED, Kind.REMINDER}

        campaign_services.campaign_acknowledge(actor=reader, campaign_id=campaign.pk)

        assert unread(reader, campaign) == set()
        assert unread(reader, other) == {Kind.ANNOUNCED}  # another campaign stays unread

    def test_not_a_colleagues_nor_a_reminder_for_a_team_still_owing(self):
        team, second = TeamFactory(name="Agences"), TeamFactory(name="Siège")
        reader = MembershipFactory(team=team).user
        MembershipFactory(team=second, user=reader)
        colleague = MembershipFactory(team=team).user
        campaign = announced_campaign(teams=[team, second])
        notice(reader, campaign, Kind.REMINDER, team="Siège")

        campaign_services.campaign_acknowledge(
            actor=reader, campaign_id=campaign.pk, team_id=team.pk
        )

        assert unread(reader, campaign) == {Kind.REMINDER}  # Siège still owes it
        assert unread(colleague, campaign) == {Kind.ANNOUNCED}  # read is personal

    def test_a_leads_escalation_once_the_team_is_complete(self):
        membership = MembershipFactory()
        lead, team = membership.user, membership.team
        campaign = announced_campaign(teams=[team])
        notice(lead, campaign, Kind.ESCALATION, team=team.name)

        campaign_services.campaign_acknowledge(actor=lead, campaign_id=campaign.pk)

        assert unread(lead, campaign) == set()

    def test_a_refused_acknowledgement_marks_nothing(self):
        membership = MembershipFactory()
        campaign = announced_campaign(teams=[membership.team])
        outsider = UserFactory()
        notice(outsider, campaign, Kind.ANNOUNCED)

        with pytest.raises(Exception):  # noqa: B017, PT011 - the rule book's refusal
            campaign_services.campaign_acknowledge(actor=outsider, campaign_id=campaign.pk)

        assert unread(outsider, campaign) == {Kind.ANNOUNCED}


# --- superseded notices fold ------------------------------------------------------------


@pytest.fixture
def changed_twice():
    """An advisor told of a campaign, then of two new versions."""
    membership = MembershipFactory()
    reader, team = membership.user, membership.team
    campaign = announced_campaign(teams=[team], title="Carte de vœux")
    for audience in ("Clients fidèles", "Tous les clients"):
        campaign = Campaign.objects.get(pk=campaign.pk)
        campaign_services.campaign_update(
            actor=campaign.owner,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, audience=audience),
        )
    return reader, Campaign.objects.get(pk=campaign.pk)


class TestFolding:
    def test_the_latest_notice_stands_for_the_campaign(self, client, changed_twice):
        reader, _campaign = changed_twice
        client.force_login(reader)

        html = client.get(URL).content.decode()

        latest = Notification.objects.filter(recipient=reader, channel=Channel.IN_APP).latest(
            "created_at", "id"
        )
        assert card_ids(html) == [latest.pk]
        assert "Changed: Carte de vœux (version 3)" in html
        assert "2 earlier notices" in html
        folded = html.split('class="inbox-earlier"')[1].split("</details>")[0]
        assert "(version 2)" in folded
        assert "New campaign: Carte de vœux" in folded

    def test_an_unread_folded_notice_keeps_the_card_unread_and_mark_read_settles_all(
        self, client, changed_twice
    ):
        reader, _campaign = changed_twice
        latest = Notification.objects.filter(recipient=reader, channel=Channel.IN_APP).latest(
            "created_at", "id"
        )
        latest.read_at = timezone.now()
        latest.save(update_fields=["read_at"])
        client.force_login(reader)
        assert 'class="inbox-item is-unread' in client.get(URL).content.decode()

        client.post(reverse("notifications:mark_read", args=[latest.pk]))

        assert unread(reader) == set()
        assert selectors.unread_count(user=reader) == 0

    def test_marking_an_older_notice_read_leaves_newer_ones(self, changed_twice):
        reader, _campaign = changed_twice
        rows = list(
            Notification.objects.filter(recipient=reader, channel=Channel.IN_APP).order_by("pk")
        )

        services.inbox_mark_read(user=reader, notification_id=rows[0].pk)

        assert unread(reader) == {Kind.CHANGED}
        assert (
            Notification.objects.filter(pk__in=[r.pk for r in rows[1:]], read_at=None).count() == 2
        )

    def test_acknowledging_the_latest_version_empties_the_card(self, client, changed_twice):
        reader, campaign = changed_twice

        campaign_services.campaign_acknowledge(actor=reader, campaign_id=campaign.pk)

        client.force_login(reader)
        assert "is-unread" not in client.get(URL).content.decode()

    def test_other_peoples_notices_do_not_fold_mine(self, changed_twice):
        reader, campaign = changed_twice
        other = UserFactory()
        notice(other, campaign, Kind.REMINDER, team="x")

        page = selectors.inbox(user=reader)

        assert [n.earlier_count for n in page.notices] == [2]


class TestShortCards:
    def test_announcements_show_no_boilerplate_but_escalations_explain(self, client):
        reader = UserFactory()
        announced = CampaignFactory(title="Soldes")
        overdue = CampaignFactory(title="Relance")
        notice(reader, announced, Kind.ANNOUNCED)
        notice(reader, overdue, Kind.ESCALATION, team="Agences")
        client.force_login(reader)

        html = client.get(URL).content.decode()

        assert "New campaign: Soldes" in html
        assert "Please read it and acknowledge" not in html
        assert "The acknowledgement of Agences was due" in html


# --- paging and cost ----------------------------------------------------------------------


def _threads(person: User, campaigns: int, per_campaign: int) -> None:
    owner = make_marketer()
    start = timezone.now() - timedelta(hours=2)
    second = 0
    for _ in range(campaigns):
        campaign = CampaignFactory(owner=owner)
        for n in range(per_campaign):
            second += 1
            with time_machine.travel(start + timedelta(seconds=second), tick=False):
                notice(person, campaign, Kind.REMINDER, team="Agences", n=n)


def test_pages_walk_each_campaign_once_with_constant_queries(client, django_assert_max_num_queries):
    person = UserFactory()
    _threads(person, campaigns=35, per_campaign=3)
    client.force_login(person)
    seen: list[int] = []
    url = URL
    for expected in (30, 5):
        with django_assert_max_num_queries(9):
            html = client.get(url, headers={"HX-Request": "true"}).content.decode()
        ids = card_ids(html)
        assert len(ids) == expected
        assert html.count("2 earlier notices") == expected
        seen += ids
        if expected == 30:
            url = URL + html.split('class="load-more" href="')[1].split('"')[0].replace(
                "&amp;", "&"
            )
    campaigns = Notification.objects.filter(pk__in=seen).values_list("campaign_id", flat=True)
    assert len(set(campaigns)) == 35


def test_the_same_query_count_for_3_and_30_folded_campaigns(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    person = UserFactory()
    client.force_login(person)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    _threads(person, campaigns=3, per_campaign=4)
    few = count()
    _threads(person, campaigns=27, per_campaign=4)
    many = count()

    assert many == few
