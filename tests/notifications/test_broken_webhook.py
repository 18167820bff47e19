"""A team chat webhook the chat server says is gone (HTTP 404/410): it is marked broken,
its leads and the managers are told once, nothing more is posted there until someone
gives the team a working address, and then posting resumes."""

import pytest
from django.urls import reverse

from campaigns.services import campaign_update
from notifications import services
from notifications.models import Channel, FailureReason, Kind, Notification
from teams.models import Membership, Team
from tests.factories import MembershipFactory, campaign_input, make_manager, make_marketer
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db
Status = Notification.Status


def webhook_rows(**filters):
    return Notification.objects.filter(channel=Channel.WEBHOOK, **filters)


def deliver_webhooks() -> services.DeliveryReport:
    ids = list(webhook_rows(status=Status.PENDING).values_list("pk", flat=True))
    return services.notifications_deliver(notification_ids=ids)


@pytest.fixture
def hooked_team(webhook_server, settings):
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    team = Team.objects.create(
        name="Conseillers", slug="conseillers", webhook_url=webhook_server.url
    )
    lead = MembershipFactory(team=team, role=Membership.Role.LEAD).user
    MembershipFactory(team=team)
    return team, lead


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_webhook_is_marked_broken_and_its_leads_and_managers_are_told_once(
    webhook_server, hooked_team, status
):
    team, lead = hooked_team
    manager = make_manager()
    owner = make_marketer()
    webhook_server.status = status
    campaign = announce(campaign_for(owner=owner, teams=[team]))

    report = deliver_webhooks()

    assert len(report.failed) == 1
    team.refresh_from_db()
    assert team.webhook_broken_at is not None
    assert f"HTTP {status}" in team.webhook_broken_reason
    failed = webhook_rows(campaign=campaign).get()
    assert (failed.status, failed.failure_reason) == (Status.FAILED, FailureReason.WEBHOOK_GONE)
    told = Notification.objects.filter(kind=Kind.WEBHOOK_BROKEN, channel=Channel.IN_APP)
    assert set(told.values_list("recipient_id", flat=True)) == {lead.pk, manager.pk}

    # A change to the campaign afterwards posts nothing more there, and tells nobody again.
    campaign_update(
        actor=owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, audience="Tous les clients"),
    )
    assert not webhook_rows(status=Status.PENDING).exists()
    assert len(webhook_server.received) == 1
    assert told.count() == 2


def test_a_server_error_is_not_a_broken_webhook(webhook_server, hooked_team):
    team, _lead = hooked_team
    webhook_server.status = 500
    announce(campaign_for(owner=make_marketer(), teams=[team]))
    assert len(deliver_webhooks().retry) == 1
    team.refresh_from_db()
    assert team.webhook_broken_at is None


def test_a_new_address_in_the_admin_repairs_it_and_posting_resumes(
    webhook_server, hooked_team, client
):
    team, _lead = hooked_team
    owner = make_marketer()
    webhook_server.status = 410
    campaign = announce(campaign_for(owner=owner, teams=[team]))
    deliver_webhooks()
    team.refresh_from_db()
    assert team.webhook_broken_at is not None

    admin = make_manager(is_staff=True, is_superuser=True)
    client.force_login(admin)
    listed = client.get(reverse("admin:teams_team_changelist"), {"webhook": "broken"})
    assert list(listed.context["cl"].result_list) == [team]

    webhook_server.status = 200
    page = client.get(reverse("admin:teams_team_change", args=[team.pk]))
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data.update(
        {
            "webhook_url": webhook_server.url + "-new",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        }
    )
    response = client.post(reverse("admin:teams_team_change", args=[team.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    team.refresh_from_db()
    assert team.webhook_broken_at is None

    campaign_update(
        actor=owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, audience="Tous les clients"),
    )
    assert len(deliver_webhooks().sent) == 1
    assert webhook_server.received[-1]["path"] == "/hooks/team-new"


def test_the_admin_action_marks_a_webhook_repaired(hooked_team, client):
    team, _lead = hooked_team
    Team.objects.filter(pk=team.pk).update(
        webhook_broken_at="2026-12-01T10:00:00Z", webhook_broken_reason="HTTP 410"
    )
    client.force_login(make_manager(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:teams_team_changelist"),
        {"action": "mark_webhook_repaired", "_selected_action": [team.pk]},
        follow=True,
    )
    said = [str(message) for message in response.context["messages"]]
    assert said == ["1 team's chat webhook is used again."]
    team.refresh_from_db()
    assert (team.webhook_broken_at, team.webhook_broken_reason) == (None, "")
