"""Which outbox rows each campaign event writes (campaigns.services calls
notifications_enqueue inside its own transaction)."""

import pytest

from campaigns.services import (
    campaign_acknowledge,
    campaign_cancel,
    campaign_mark_done,
    campaign_update,
)
from notifications.models import Channel, Kind, Notification
from tests.factories import MembershipFactory, campaign_input, make_marketer, team_with_members
from tests.support.servers import announce, campaign_for

pytestmark = pytest.mark.django_db


def rows(campaign, kind: str) -> set[tuple[int | None, int | None, str, int]]:
    return set(
        Notification.objects.filter(campaign=campaign, kind=kind).values_list(
            "recipient_id", "team_id", "channel", "campaign_version"
        )
    )


def person_rows(users, version: int = 1) -> set[tuple[int, None, str, int]]:
    return {
        (u.pk, None, channel, version) for u in users for channel in (Channel.EMAIL, Channel.IN_APP)
    }


@pytest.fixture
def teams():
    hooked, hooked_members = team_with_members(2, webhook_url="https://chat.example.com/hook")
    plain, plain_members = team_with_members(1)
    return hooked, hooked_members, plain, plain_members


def test_announce_notifies_every_member_and_each_team_webhook_in_the_same_transaction(
    teams, django_capture_on_commit_callbacks
):
    hooked, hooked_members, plain, plain_members = teams
    campaign = campaign_for(owner=make_marketer(), teams=[hooked, plain])
    with django_capture_on_commit_callbacks() as callbacks:
        announce(campaign)
    assert rows(campaign, Kind.ANNOUNCED) == person_rows(hooked_members + plain_members) | {
        (None, hooked.pk, Channel.WEBHOOK, 1)
    }
    assert len(callbacks) == 1  # one fan-out, queued for after the commit
    payload = Notification.objects.filter(campaign=campaign).first().payload
    assert payload["title"] == campaign.title
    assert payload["path"] == f"/campaigns/{campaign.pk}/"


def test_a_person_in_two_stakeholder_teams_is_told_once(teams):
    hooked, hooked_members, plain, _plain_members = teams
    MembershipFactory(team=plain, user=hooked_members[0])
    campaign = announce(campaign_for(owner=make_marketer(), teams=[hooked, plain]))
    assert (
        Notification.objects.filter(
            campaign=campaign, recipient=hooked_members[0], channel=Channel.EMAIL
        ).count()
        == 1
    )


def test_a_material_change_asks_teams_again_and_announces_to_added_teams(teams):
    hooked, hooked_members, _plain, _plain_members = teams
    campaign = announce(campaign_for(owner=make_marketer(), teams=[hooked]))
    new_team, new_members = team_with_members(2)

    campaign_update(
        actor=campaign.owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, body="Nouveau texte", team_ids=[hooked.pk, new_team.pk]),
    )

    assert rows(campaign, Kind.CHANGED) == person_rows(hooked_members, version=2) | {
        (None, hooked.pk, Channel.WEBHOOK, 2)
    }
    changed = Notification.objects.filter(campaign=campaign, kind=Kind.CHANGED).first()
    assert changed.payload["changes"] == ["body"]
    announced_v2 = {r for r in rows(campaign, Kind.ANNOUNCED) if r[3] == 2}
    assert announced_v2 == person_rows(new_members, version=2)


def test_a_minor_edit_notifies_nobody(teams):
    hooked, *_rest = teams
    campaign = announce(campaign_for(owner=make_marketer(), teams=[hooked]))
    before = Notification.objects.count()
    campaign_update(
        actor=campaign.owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, title="Nouveau titre"),
    )
    assert Notification.objects.count() == before


def test_cancelling_tells_teams_that_were_told_and_nobody_for_a_draft(teams):
    hooked, hooked_members, plain, plain_members = teams
    announced = announce(campaign_for(owner=make_marketer(), teams=[hooked, plain]))
    campaign_cancel(actor=announced.owner, campaign_id=announced.pk, reason="Budget gelé")
    assert rows(announced, Kind.CANCELLED) == person_rows(hooked_members + plain_members) | {
        (None, hooked.pk, Channel.WEBHOOK, 1)
    }
    assert (
        Notification.objects.filter(kind=Kind.CANCELLED).first().payload["reason"] == "Budget gelé"
    )

    draft = campaign_for(owner=make_marketer(), teams=[hooked, plain])
    campaign_cancel(actor=draft.owner, campaign_id=draft.pk)
    assert not Notification.objects.filter(campaign=draft).exists()


def test_done_is_posted_to_team_chats_only(teams):
    hooked, hooked_members, plain, plain_members = teams
    campaign = announce(campaign_for(owner=make_marketer(), teams=[hooked, plain]))
    for member in (hooked_members[0], plain_members[0]):
        campaign_acknowledge(actor=member, campaign_id=campaign.pk)
    campaign_mark_done(actor=campaign.owner, campaign_id=campaign.pk)
    assert rows(campaign, Kind.DONE) == {(None, hooked.pk, Channel.WEBHOOK, 1)}


def test_an_acknowledgement_note_goes_to_the_owner(teams):
    hooked, hooked_members, *_rest = teams
    campaign = announce(campaign_for(owner=make_marketer(), teams=[hooked]))
    campaign_acknowledge(actor=hooked_members[0], campaign_id=campaign.pk, note="FAQ à compléter")
    campaign_acknowledge(actor=hooked_members[1], campaign_id=campaign.pk)  # no note: no notice
    assert rows(campaign, Kind.FEEDBACK) == person_rows([campaign.owner])
