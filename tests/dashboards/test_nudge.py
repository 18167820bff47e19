import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from campaigns import services
from core.errors import DomainError, PermissionRefused
from notifications.models import Kind, Notification
from teams.models import Membership, Team
from tests.factories import MembershipFactory, TeamFactory, announced_campaign, make_manager

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


@pytest.fixture
def setting():
    with time_machine.travel(NOW, tick=False):
        team = TeamFactory(ack_policy=Team.AckPolicy.EVERY_MEMBER)
        slow = MembershipFactory(team=team).user
        quick = MembershipFactory(team=team).user
        lead = MembershipFactory(team=team, role=Membership.Role.LEAD).user
        campaign = announced_campaign(teams=[team], launch_at=NOW + timedelta(days=5))
        services.campaign_acknowledge(actor=quick, campaign_id=campaign.pk, team_id=team.pk)
    return {"team": team, "slow": slow, "quick": quick, "lead": lead, "campaign": campaign}


def nudge(actor, s, user=None, team=None):
    return services.stakeholder_nudge(
        actor=actor,
        campaign_id=s["campaign"].pk,
        team_id=(team or s["team"]).pk,
        user_id=(user or s["slow"]).pk,
    )


def reminders(user):
    return Notification.objects.filter(recipient=user, kind=Kind.REMINDER)


def test_manager_nudges_once_per_hour(setting):
    manager = make_manager()
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert nudge(manager, setting) is True
        rows = list(reminders(setting["slow"]))
        assert rows
        assert {row.kind for row in rows} == {Kind.REMINDER}
        assert rows[0].dispatch.payload["nudged_by"] == manager.display_name
        assert rows[0].dispatch.payload["team"] == setting["team"].name
    with time_machine.travel(NOW + timedelta(minutes=50), tick=False):
        count = reminders(setting["slow"]).count()
        assert nudge(manager, setting) is False
        assert reminders(setting["slow"]).count() == count
    with time_machine.travel(NOW + timedelta(minutes=56), tick=False):
        assert nudge(manager, setting) is True
        assert reminders(setting["slow"]).count() == 2 * count


def test_a_lead_of_the_team_may_nudge(setting):
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert nudge(setting["lead"], setting) is True


def test_stakeholders_and_leads_of_other_teams_may_not(setting):
    other_lead = MembershipFactory(role=Membership.Role.LEAD).user
    with pytest.raises(PermissionRefused):
        nudge(setting["quick"], setting)
    with pytest.raises(PermissionRefused):
        nudge(other_lead, setting)
    assert not reminders(setting["slow"]).filter(dispatch__payload__has_key="nudged_by").exists()


def test_refused_for_a_person_who_acknowledged_or_is_not_in_the_team(setting):
    manager = make_manager()
    with pytest.raises(DomainError):
        nudge(manager, setting, user=setting["quick"])
    with pytest.raises(DomainError):
        nudge(manager, setting, user=make_manager())


def test_refused_for_a_team_that_acknowledged(setting):
    manager = make_manager()
    services.campaign_acknowledge(
        actor=setting["slow"], campaign_id=setting["campaign"].pk, team_id=setting["team"].pk
    )
    services.campaign_acknowledge(
        actor=setting["lead"], campaign_id=setting["campaign"].pk, team_id=setting["team"].pk
    )
    with pytest.raises(DomainError, match="already acknowledged"):
        nudge(manager, setting)


def test_refused_for_a_team_that_is_not_a_stakeholder(setting):
    manager = make_manager()
    other = TeamFactory()
    MembershipFactory(team=other, user=setting["slow"])
    with pytest.raises(DomainError):
        nudge(manager, setting, team=other)


def test_refused_for_a_campaign_that_is_not_announced(setting):
    manager = make_manager()
    services.campaign_cancel(actor=setting["campaign"].owner, campaign_id=setting["campaign"].pk)
    with pytest.raises(DomainError):
        nudge(manager, setting)


def test_a_person_with_reminders_off_everywhere_is_not_reported_as_already_nudged(setting, client):
    from notifications.models import Channel, Preference

    slow = setting["slow"]
    Preference.objects.create(user=slow, kind=Kind.REMINDER, channel=Channel.EMAIL, enabled=False)
    manager = make_manager()
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        # One channel left (in-app): the nudge goes there.
        assert nudge(manager, setting) is True
        assert {row.channel for row in reminders(slow)} == {Channel.IN_APP}
    Preference.objects.create(user=slow, kind=Kind.REMINDER, channel=Channel.IN_APP, enabled=False)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        with pytest.raises(DomainError) as refused:
            nudge(manager, setting)
        assert refused.value.code == "reminders_off"

        client.force_login(manager)
        response = client.post(
            f"/dashboard/teams/{setting['team'].slug}/nudge/",
            {"campaign": setting["campaign"].pk, "user": slow.pk},
            headers={"HX-Request": "true"},
        )
    html = response.content.decode()
    assert "switched off reminders on every channel" in html
    assert "Already nudged" not in html


def test_the_team_page_remembers_who_was_nudged_this_hour(setting, client):
    manager = make_manager()
    slow, team, campaign = setting["slow"], setting["team"], setting["campaign"]
    client.force_login(manager)
    page_url = f"/dashboard/teams/{team.slug}/"

    def slow_cell(html: str) -> str:
        pattern = rf'<span class="nudge" id="nudge-{campaign.pk}-{slow.pk}"[^>]*>(.*?)</span>'
        return re.search(pattern, html, re.DOTALL).group(1)

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert nudge(manager, setting) is True
        after_cell = slow_cell(client.get(page_url).content.decode())
    assert "Nudged</button>" in after_cell
    assert "again from the next hour" in after_cell
    assert 'name="nudge"' not in after_cell  # no Nudge button for Slow this hour

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        after_cell = slow_cell(client.get(page_url).content.decode())
    assert "Nudged</button>" not in after_cell  # a new hour: Nudge again
    assert 'name="nudge"' in after_cell


def test_a_new_version_can_be_nudged_again_and_the_page_says_so(setting, client):
    """The hour rule is per campaign version: after a material change, the page offers
    Nudge again exactly when the service would send one."""
    from django.db.models import F

    from campaigns.models import Campaign

    manager = make_manager()
    slow, team, campaign = setting["slow"], setting["team"], setting["campaign"]
    client.force_login(manager)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert nudge(manager, setting) is True
        Campaign.objects.filter(pk=campaign.pk).update(version=F("version") + 1)
        html = client.get(f"/dashboard/teams/{team.slug}/").content.decode()
        pattern = rf'<span class="nudge" id="nudge-{campaign.pk}-{slow.pk}"[^>]*>(.*?)</span>'
        cell = re.search(pattern, html, re.DOTALL).group(1)
        assert 'name="nudge"' in cell  # a Nudge button, not "Nudged"
        assert nudge(manager, setting) is True
