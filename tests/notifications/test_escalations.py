"""Escalations a lead can act on: the notice names who has not acknowledged, links to the
team's drill-down and offers a one-click nudge; its footer says why this reader gets it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from campaigns.services import (
    campaign_acknowledge,
    campaigns_send_due_reminders_and_escalations,
    stakeholder_nudge_all,
)
from core.errors import DomainError, PermissionRefused
from notifications.channels import build_email
from notifications.models import Channel, Kind, Notification
from notifications.services import preferences_save
from teams.models import Membership, Team
from tests.factories import MembershipFactory, TeamFactory, make_manager, make_marketer
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
DUE = T0 + timedelta(hours=48)


@pytest.fixture
def late():
    """Every member must acknowledge; Anne did, Bruno and Chloé did not; the due date
    passed and the escalation went out to the lead (Léa) and a manager."""
    team = TeamFactory(
        name="Boutiques",
        slug="boutiques",
        ack_deadline_hours=48,
        ack_policy=Team.AckPolicy.EVERY_MEMBER,
    )
    lead = MembershipFactory(team=team, role=Membership.Role.LEAD, user__full_name="Léa Lead").user
    anne, bruno, chloe = (
        MembershipFactory(team=team, user__full_name=name).user
        for name in ("Anne Ack", "Bruno Late", "Chloé Late")
    )
    manager = make_manager(full_name="Manon Manager")
    with time_machine.travel(T0, tick=False):
        campaign = announce(
            campaign_for(owner=make_marketer(), teams=[team], launch_at=T0 + timedelta(days=10))
        )
        campaign_acknowledge(actor=anne, campaign_id=campaign.pk, team_id=team.pk)
        campaign_acknowledge(actor=lead, campaign_id=campaign.pk, team_id=team.pk)
    with time_machine.travel(DUE + timedelta(minutes=5), tick=False):
        campaigns_send_due_reminders_and_escalations(now=DUE + timedelta(minutes=5))
    return {
        "team": team,
        "lead": lead,
        "anne": anne,
        "bruno": bruno,
        "chloe": chloe,
        "manager": manager,
        "campaign": campaign,
    }


def escalation(user, channel=Channel.EMAIL) -> Notification:
    return Notification.objects.select_related("recipient").get(
        kind=Kind.ESCALATION, recipient=user, channel=channel
    )


def test_the_escalation_names_who_has_not_acknowledged(late):
    payload = escalation(late["lead"]).payload

    assert payload["pending_people"] == ["Bruno Late", "Chloé Late"]
    assert payload["pending_count"] == 2
    assert payload["team_path"] == reverse("dashboards:team", args=["boutiques"])
    assert payload["lead_ids"] == [late["lead"].pk]


def test_the_lead_s_email_names_them_links_the_team_and_a_nudge_and_says_you_lead(late):
    email = build_email(escalation(late["lead"]))
    html = email.alternatives[0][0]

    assert "Not acknowledged yet: Bruno Late, Chloé Late." in email.body
    assert "Anne Ack" not in email.body
    nudge = reverse("dashboards:team_nudge_all", args=["boutiques"])
    assert f"{nudge}?campaign={late['campaign'].pk}" in email.body
    assert reverse("dashboards:team", args=["boutiques"]) in email.body
    assert "Nudge them" in html
    assert "You receive this because you lead Boutiques" in email.body
    assert "stakeholder team of this campaign" not in email.body


def test_the_manager_s_footer_says_why_a_manager_gets_it(late):
    email = build_email(escalation(late["manager"]))

    assert "You receive this because you are a manager" in email.body
    assert "you lead" not in email.body


def test_nudge_all_reminds_each_pending_person_once_an_hour(late):
    at = DUE + timedelta(minutes=10)
    with time_machine.travel(at, tick=False):
        first = stakeholder_nudge_all(
            actor=late["lead"], campaign_id=late["campaign"].pk, team_id=late["team"].pk
        )
        again = stakeholder_nudge_all(
            actor=late["lead"], campaign_id=late["campaign"].pk, team_id=late["team"].pk
        )

    reminded = Notification.objects.filter(kind=Kind.REMINDER, channel=Channel.IN_APP)
    assert (first.nudged, first.already, first.unreachable) == (2, 0, 0)
    assert (again.nudged, again.already) == (0, 2)
    assert set(reminded.values_list("recipient_id", flat=True)) == {
        late["bruno"].pk,
        late["chloe"].pk,
    }
    assert reminded.count() == 2
    assert reminded.first().dispatch.payload["nudged_by"] == "Léa Lead"


def test_nudge_all_counts_who_switched_reminders_off(late):
    preferences_save(
        user=late["chloe"],
        enabled={
            (kind, channel) for kind in Kind.values for channel in (Channel.EMAIL, Channel.IN_APP)
        }
        - {(Kind.REMINDER, Channel.EMAIL), (Kind.REMINDER, Channel.IN_APP)},
        daily_digest=None,
    )
    with time_machine.travel(DUE + timedelta(minutes=10), tick=False):
        outcome = stakeholder_nudge_all(
            actor=late["manager"], campaign_id=late["campaign"].pk, team_id=late["team"].pk
        )

    assert (outcome.nudged, outcome.unreachable) == (1, 1)
    assert not Notification.objects.filter(kind=Kind.REMINDER, recipient=late["chloe"]).exists()


def test_nudge_all_is_refused_to_others_and_once_everyone_acknowledged(late):
    outsider = MembershipFactory(role=Membership.Role.LEAD).user
    with pytest.raises(PermissionRefused):
        stakeholder_nudge_all(
            actor=outsider, campaign_id=late["campaign"].pk, team_id=late["team"].pk
        )
    for person in (late["bruno"], late["chloe"]):
        campaign_acknowledge(actor=person, campaign_id=late["campaign"].pk, team_id=late["team"].pk)
    with pytest.raises(DomainError, match="already acknowledged"):
        stakeholder_nudge_all(
            actor=late["lead"], campaign_id=late["campaign"].pk, team_id=late["team"].pk
        )
    assert not Notification.objects.filter(
        kind=Kind.REMINDER, dispatch__payload__has_key="nudged_by"
    ).exists()


class TestInboxAndPages:
    def test_the_in_app_notice_names_them_with_a_nudge_button_and_the_team_link(self, client, late):
        client.force_login(late["lead"])

        html = client.get(reverse("notifications:inbox")).content.decode()

        assert "Not acknowledged yet: Bruno Late, Chloé Late." in html
        assert f'action="{reverse("dashboards:team_nudge_all", args=["boutiques"])}"' in html
        assert f'href="{reverse("dashboards:team", args=["boutiques"])}"' in html

    def test_nudge_from_the_inbox_goes_back_to_it_with_the_outcome(self, client, late):
        client.force_login(late["lead"])
        url = reverse("dashboards:team_nudge_all", args=["boutiques"])

        response = client.post(
            url,
            {"campaign": late["campaign"].pk, "next": reverse("notifications:inbox")},
            follow=True,
        )

        assert response.redirect_chain[-1][0] == reverse("notifications:inbox")
        assert "2 people nudged." in response.content.decode()
        again = client.post(url, {"campaign": late["campaign"].pk}, HTTP_HX_REQUEST="true")
        assert "<html" not in again.content.decode()
        assert "2 already nudged in the last hour." in again.content.decode()

    def test_the_email_s_link_opens_a_page_with_one_button_and_nudges_nobody(self, client, late):
        client.force_login(late["manager"])
        url = reverse("dashboards:team_nudge_all", args=["boutiques"])

        html = client.get(url, {"campaign": late["campaign"].pk}).content.decode()

        assert "Bruno Late" in html
        assert "Chloé Late" in html
        assert "Anne Ack" not in html
        assert "Nudge them</button>" in html
        assert not Notification.objects.filter(
            kind=Kind.REMINDER, channel=Channel.IN_APP, dispatch__payload__has_key="nudged_by"
        ).exists()

    def test_an_unreadable_campaign_is_a_clear_400(self, client, late):
        client.force_login(late["lead"])
        url = reverse("dashboards:team_nudge_all", args=["boutiques"])

        assert client.post(url, {"campaign": "x"}).status_code == 400

    def test_another_team_s_lead_may_not_open_it(self, client, late):
        client.force_login(MembershipFactory(role=Membership.Role.LEAD).user)
        url = reverse("dashboards:team_nudge_all", args=["boutiques"])

        assert client.get(url, {"campaign": late["campaign"].pk}).status_code == 403
