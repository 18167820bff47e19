"""Events from real service calls: what campaigns and the thread publish, to whom, once."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns import services as campaigns
from campaigns.models import Campaign, Feedback
from campaigns.services import CampaignInput
from teams.models import Membership, Team
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    announced_campaign,
    campaign_input,
)
from tests.webhooks.factories import WebhookEndpointFactory
from webhooks import services
from webhooks.models import EventType, WebhookDelivery

pytestmark = pytest.mark.django_db


def types_sent(endpoint=None) -> list[str]:
    rows = WebhookDelivery.objects.order_by("pk")
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    return list(rows.values_list("event_type", flat=True))


def test_announcing_writes_a_delivery_only_for_subscribed_endpoints(
    draft_campaign, marketer, django_capture_on_commit_callbacks, queued
):
    every = WebhookEndpointFactory(event_types=[])
    announcements = WebhookEndpointFactory(event_types=["campaign.announced"])
    feedback_only = WebhookEndpointFactory(event_types=["feedback.created"])
    disabled = WebhookEndpointFactory(event_types=[])
    services.endpoint_disable(endpoint_id=disabled.pk, reason="failing")

    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)

    assert types_sent(every) == ["campaign.announced"]
    assert types_sent(announcements) == ["campaign.announced"]
    assert types_sent(feedback_only) == []
    assert types_sent(disabled) == []
    rows = WebhookDelivery.objects.filter(event_type="campaign.announced")
    assert sorted(queued.deliveries) == sorted(rows.values_list("pk", flat=True))
    delivery = rows.get(endpoint=announcements)
    campaign = Campaign.objects.get(pk=draft_campaign.pk)
    assert delivery.payload == {
        "campaign": {
            "id": campaign.pk,
            "title": campaign.title,
            "status": "announced",
            "version": 1,
            "channel": campaign.channel,
            "launch_at": campaign.launch_at.isoformat(),
            "url": f"{settings.PASSERELLE_BASE_URL}/campaigns/{campaign.pk}/",
        },
        "actor": {"id": marketer.pk, "name": "Marie Marketing"},
        "kind": "announced",
        "details": {"teams": ["Conseillers clientèle"]},
    }
    assert delivery.message_id.startswith("msg_")
    assert len(set(rows.values_list("message_id", flat=True))) == 2


def test_nothing_is_written_or_queued_without_endpoints(
    draft_campaign, marketer, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        campaigns.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
    assert not WebhookDelivery.objects.exists()
    assert queued.calls == []
    assert not any("deliveries_queue" in repr(c) for c in callbacks)


def test_publishing_without_endpoints_costs_one_query(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert services.webhook_event_publish(event_type="campaign.done", data={}) == 0


def test_a_change_rolled_back_sends_nothing(draft_campaign, marketer, queued):
    WebhookEndpointFactory()

    class Abort(Exception):
        pass

    def announce_then_fail() -> None:
        with transaction.atomic():
            campaigns.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)
            assert WebhookDelivery.objects.count() == 1
            raise Abort

    with pytest.raises(Abort):
        announce_then_fail()

    assert not WebhookDelivery.objects.exists()
    assert queued.calls == []


def test_an_unknown_event_type_is_a_bug_not_a_message():
    with pytest.raises(ValueError, match="unknown webhook event type"):
        services.webhook_event_publish(event_type="campaign.exploded", data={})


def test_the_lifecycle_of_a_campaign_as_integrations_hear_it(marketer, manager, support_team):
    endpoint = WebhookEndpointFactory()
    advisor = MembershipFactory(team=support_team).user
    data = CampaignInput(
        title="Soldes d'été",
        channel=Campaign.Channel.EMAIL,
        audience="Clients actifs",
        estimated_recipients=1000,
        launch_at=timezone.now() + timedelta(days=3),
        summary="Les soldes.",
        body="## Points clés",
        team_ids=[support_team.pk],
    )
    campaign = campaigns.campaign_create(actor=marketer, data=data)
    campaigns.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    # A material change after announcement: EDITED and VERSION_BUMPED, one message.
    campaigns.campaign_update(
        actor=marketer,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, body="## Nouveau\n\n- Autre offre"),
    )
    campaigns.stakeholder_not_ready(
        actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk, reason="Pas de script"
    )
    campaigns.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    campaigns.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)
    copy = campaigns.campaign_duplicate(actor=marketer, campaign_id=campaign.pk)
    campaigns.campaign_cancel(actor=marketer, campaign_id=copy.pk, reason="Doublon")

    assert types_sent(endpoint) == [
        "campaign.created",
        "campaign.announced",
        "campaign.changed",
        "campaign.not_ready",
        "campaign.acknowledged",  # the person's; the team's, in the same click, is not sent
        "campaign.done",
        "campaign.created",
        "campaign.cancelled",
    ]
    changed = WebhookDelivery.objects.get(event_type="campaign.changed")
    assert changed.payload["campaign"]["version"] == 2
    assert changed.payload["kind"] == "edited"
    assert changed.payload["details"]["fields"] == ["body"]
    not_ready = WebhookDelivery.objects.get(event_type="campaign.not_ready")
    assert not_ready.payload["details"]["reason"] == "Pas de script"
    assert not_ready.payload["actor"]["id"] == advisor.pk
    created_copy = (
        WebhookDelivery.objects.filter(event_type="campaign.created").order_by("pk").last()
    )
    assert created_copy.payload["kind"] == "duplicated"
    assert created_copy.payload["campaign"]["id"] == copy.pk


def test_a_team_completed_by_a_recount_is_heard_once(marketer, manager):
    """An "every member" team whose last missing member leaves: no one acknowledged just
    now, the team's acknowledgement is the news, sent once."""
    team = TeamFactory(ack_policy=Team.AckPolicy.EVERY_MEMBER)
    first = MembershipFactory(team=team).user
    leaving = MembershipFactory(team=team).user
    campaign = announced_campaign(owner=marketer, teams=[team])
    endpoint = WebhookEndpointFactory(event_types=["campaign.acknowledged"])

    campaigns.campaign_acknowledge(actor=first, campaign_id=campaign.pk)
    assert types_sent(endpoint) == ["campaign.acknowledged"]

    from teams import services as teams

    teams.team_member_remove(actor=manager, team_id=team.pk, user_id=leaving.pk)

    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    assert [row.payload["kind"] for row in rows] == ["acknowledged", "team_acknowledged"]
    assert rows[1].payload["details"] == {"team": team.name, "recounted": True}
    assert rows[1].payload["actor"] is None


def test_acknowledging_again_after_a_colleagues_objection_is_heard(marketer, support_team):
    """The team counted again without a new acknowledgement (the person's stood all
    along): the team's event is the only one, so it is sent."""
    assert support_team.ack_policy == Team.AckPolicy.ANY_MEMBER
    alice = MembershipFactory(team=support_team).user
    bob = MembershipFactory(team=support_team).user
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    campaigns.campaign_acknowledge(actor=alice, campaign_id=campaign.pk)
    campaigns.stakeholder_not_ready(
        actor=bob, campaign_id=campaign.pk, team_id=support_team.pk, reason="Attendez"
    )
    endpoint = WebhookEndpointFactory(event_types=["campaign.acknowledged"])

    campaigns.campaign_acknowledge(actor=alice, campaign_id=campaign.pk)

    (row,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert row.payload["kind"] == "team_acknowledged"
    assert row.payload["details"] == {"team": support_team.name}
    # Acknowledging once more settles nothing new: nothing is sent.
    campaigns.campaign_acknowledge(actor=alice, campaign_id=campaign.pk)
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1


def test_any_member_team_one_click_one_message(marketer, support_team, advisor):
    assert support_team.ack_policy == Team.AckPolicy.ANY_MEMBER
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    endpoint = WebhookEndpointFactory()

    campaigns.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)

    (row,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert row.event_type == "campaign.acknowledged"
    assert row.payload["actor"] == {"id": advisor.pk, "name": advisor.display_name}
    assert row.payload["details"]["team"] == support_team.name


def test_withdrawing_an_acknowledgement_is_a_change(marketer, support_team, advisor):
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    campaigns.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    endpoint = WebhookEndpointFactory()

    campaigns.campaign_acknowledgement_revoke(
        actor=advisor, campaign_id=campaign.pk, team_id=support_team.pk
    )

    (row,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert (row.event_type, row.payload["kind"]) == ("campaign.changed", "ack_revoked")


def test_a_thread_message_is_published(marketer, support_team, advisor):
    campaign = announced_campaign(owner=marketer, teams=[support_team])
    endpoint = WebhookEndpointFactory(event_types=["feedback.created"])
    question = campaigns.feedback_post(
        actor=advisor, campaign_id=campaign.pk, tag=Feedback.Tag.QUESTION, body="Un code ?"
    )
    answer = campaigns.feedback_post(
        actor=marketer,
        campaign_id=campaign.pk,
        tag=Feedback.Tag.MESSAGE,
        body="Oui : ETE24",
        parent_id=question.pk,
    )

    first, second = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    assert first.event_type == second.event_type == EventType.FEEDBACK_CREATED
    assert first.payload == {
        "id": question.pk,
        "campaign_id": campaign.pk,
        "parent_id": None,
        "author": {"id": advisor.pk, "name": advisor.display_name},
        "tag": "question",
        "body": "Un code ?",
    }
    assert second.payload["id"] == answer.pk
    assert second.payload["parent_id"] == question.pk
    assert second.occurred_at == answer.created_at


def test_the_campaign_events_of_a_lead_are_sent_too(marketer, support_team):
    """Anyone's act is heard, whatever their role: the data says who."""
    lead = MembershipFactory(team=support_team, role=Membership.Role.LEAD).user
    campaign = CampaignFactory(owner=marketer)
    StakeholderFactory(campaign=campaign, team=support_team)
    campaigns.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    endpoint = WebhookEndpointFactory(event_types=["campaign.acknowledged"])
    campaigns.campaign_acknowledge(actor=lead, campaign_id=campaign.pk)
    assert types_sent(endpoint) == ["campaign.acknowledged"]


def test_the_webhooks_app_does_not_import_campaigns():
    """The dependency points one way: campaigns calls webhooks."""
    root = Path(settings.BASE_DIR) / "webhooks"
    imported = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
    assert "campaigns" not in imported
