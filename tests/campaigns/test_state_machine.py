"""The campaign state machine: every move, by every role.

Allowed: draft → announced, draft → cancelled, announced → done, announced → cancelled.
Everything else is refused with a DomainError (PermissionRefused when the role is the
reason) and leaves the campaign exactly as it was.
"""

from collections.abc import Callable

import pytest

from accounts.models import User
from campaigns import services
from campaigns.models import Campaign, CampaignEvent
from core.errors import DomainError, PermissionRefused
from notifications.models import Kind as NotificationKind
from notifications.models import Notification
from tests.factories import campaign_input, campaign_state

pytestmark = pytest.mark.django_db

Status = Campaign.Status
EventKind = CampaignEvent.Kind
ROLES = ("marketer", "manager", "advisor", "inactive_marketer", "inactive_manager")

OVERRIDE_REASON = "Support confirmed by phone; the tool was down."

ACTIONS: dict[str, Callable[[User, Campaign], Campaign]] = {
    "announce": lambda actor, c: services.campaign_announce(actor=actor, campaign_id=c.pk),
    "cancel": lambda actor, c: services.campaign_cancel(actor=actor, campaign_id=c.pk),
    "mark_done": lambda actor, c: services.campaign_mark_done(actor=actor, campaign_id=c.pk),
    "override_done": lambda actor, c: services.campaign_override_done(
        actor=actor, campaign_id=c.pk, reason=OVERRIDE_REASON
    ),
}
TARGET = {
    "announce": Status.ANNOUNCED,
    "cancel": Status.CANCELLED,
    "mark_done": Status.DONE,
    "override_done": Status.DONE,
}
EVENT = {
    "announce": EventKind.ANNOUNCED,
    "cancel": EventKind.CANCELLED,
    "mark_done": EventKind.DONE,
    "override_done": EventKind.DONE_OVERRIDDEN,
}
# Which (active) roles hold the permission behind each action.
PERMITTED = {
    "announce": {"marketer"},
    "cancel": {"marketer", "manager"},
    "mark_done": {"marketer", "manager"},
    "override_done": {"manager"},
}
REFUSAL_MESSAGE = {
    "announce": "Only marketers can announce campaigns.",
    "cancel": "Only marketers can cancel campaigns.",
    "mark_done": "Only marketers can mark campaigns as done.",
    "override_done": "Only managers can mark a campaign as done without every acknowledgement.",
}
ALLOWED_MOVES = {
    (Status.DRAFT, Status.ANNOUNCED),
    (Status.DRAFT, Status.CANCELLED),
    (Status.ANNOUNCED, Status.DONE),
    (Status.ANNOUNCED, Status.CANCELLED),
}


def test_transition_table_is_exactly_the_documented_one():
    moves = {(src, dst) for src, targets in services.ALLOWED_TRANSITIONS.items() for dst in targets}
    assert moves == ALLOWED_MOVES


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("start", Status.values)
def test_every_move_by_every_role(request, bring_to, draft_campaign, start, action, role):
    campaign = bring_to(draft_campaign, start)
    actor = request.getfixturevalue(role)
    target = TARGET[action]
    before = campaign_state(campaign.pk)

    if role not in PERMITTED[action]:
        with pytest.raises(PermissionRefused) as refused:
            ACTIONS[action](actor, campaign)
        assert refused.value.message == REFUSAL_MESSAGE[action]
        assert refused.value.code == "permission_denied"
        assert campaign_state(campaign.pk) == before
    elif (start, target) not in ALLOWED_MOVES:
        with pytest.raises(DomainError) as refused:
            ACTIONS[action](actor, campaign)
        assert not isinstance(refused.value, PermissionRefused)
        assert refused.value.code == "invalid_transition"
        start_label, target_label = Status(start).label.lower(), Status(target).label.lower()
        assert refused.value.message == f"A {start_label} campaign cannot become {target_label}."
        assert campaign_state(campaign.pk) == before
    else:
        ACTIONS[action](actor, campaign)
        after = campaign_state(campaign.pk)
        assert after.status == target
        assert after.version == before.version
        assert after.events == before.events + 1
        event = CampaignEvent.objects.filter(campaign=campaign).latest("id")
        assert event.kind == EVENT[action]
        assert event.actor == actor
        assert event.version == campaign.version


@pytest.mark.parametrize("role", ROLES)
def test_announced_cannot_be_announced_again(request, bring_to, draft_campaign, role):
    campaign = bring_to(draft_campaign, Status.ANNOUNCED)
    before = campaign_state(campaign.pk)
    with pytest.raises(DomainError) as refused:
        services.campaign_announce(actor=request.getfixturevalue(role), campaign_id=campaign.pk)
    if role == "marketer":
        assert refused.value.code == "invalid_transition"
        assert "announced campaign cannot become announced" in refused.value.message
    else:
        assert isinstance(refused.value, PermissionRefused)
    assert campaign_state(campaign.pk) == before


@pytest.mark.parametrize("start", [Status.DONE, Status.CANCELLED])
def test_closed_campaign_cannot_be_edited_or_acknowledged(
    bring_to, draft_campaign, marketer, advisor, start
):
    campaign = bring_to(draft_campaign, start)
    before = campaign_state(campaign.pk)
    with pytest.raises(DomainError) as refused:
        services.campaign_update(
            actor=marketer, campaign_id=campaign.pk, data=campaign_input(campaign, title="Late fix")
        )
    assert refused.value.code == "not_editable"
    with pytest.raises(DomainError) as refused:
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    assert refused.value.code == "not_announced"
    assert campaign_state(campaign.pk) == before
    assert Campaign.objects.get(pk=campaign.pk).title == draft_campaign.title


def test_announce_sets_due_dates_notifies_members_and_records_event(
    draft_campaign, marketer, advisor, support_team
):
    campaign = services.campaign_announce(actor=marketer, campaign_id=draft_campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == Status.ANNOUNCED
    assert campaign.announced_at is not None
    stakeholder = campaign.stakeholders.get()
    assert stakeholder.due_at is not None
    assert stakeholder.due_at <= campaign.launch_at
    event = campaign.events.get(kind=EventKind.ANNOUNCED)
    assert event.actor == marketer
    assert event.details == {"teams": [support_team.name]}
    assert Notification.objects.filter(
        campaign=campaign, recipient=advisor, kind=NotificationKind.ANNOUNCED, campaign_version=1
    ).exists()


def test_cancelling_a_draft_tells_nobody(draft_campaign, marketer):
    services.campaign_cancel(actor=marketer, campaign_id=draft_campaign.pk, reason="Budget cut")

    campaign = Campaign.objects.get(pk=draft_campaign.pk)
    assert campaign.status == Status.CANCELLED
    assert campaign.cancelled_at is not None
    assert campaign.events.get(kind=EventKind.CANCELLED).details == {"reason": "Budget cut"}
    assert not Notification.objects.filter(campaign=campaign).exists()


def test_cancelling_an_announced_campaign_tells_the_teams(
    bring_to, draft_campaign, manager, advisor
):
    campaign = bring_to(draft_campaign, Status.ANNOUNCED)

    services.campaign_cancel(actor=manager, campaign_id=campaign.pk, reason="Legal said no")

    campaign.refresh_from_db()
    assert campaign.status == Status.CANCELLED
    event = campaign.events.get(kind=EventKind.CANCELLED)
    assert event.actor == manager
    assert event.details == {"reason": "Legal said no"}
    notice = Notification.objects.get(
        campaign=campaign, recipient=advisor, kind=NotificationKind.CANCELLED, channel="in_app"
    )
    assert notice.payload["reason"] == "Legal said no"


def test_mark_done_records_time_and_event(bring_to, draft_campaign, marketer):
    campaign = bring_to(draft_campaign, Status.ANNOUNCED)

    services.campaign_mark_done(actor=marketer, campaign_id=campaign.pk)

    campaign.refresh_from_db()
    assert campaign.status == Status.DONE
    assert campaign.done_at is not None
    assert campaign.done_override_reason == ""
    assert campaign.events.filter(kind=EventKind.DONE, actor=marketer).count() == 1


def test_transition_on_missing_campaign_is_a_domain_error(marketer):
    with pytest.raises(DomainError) as refused:
        services.campaign_announce(actor=marketer, campaign_id=999_999)
    assert refused.value.code == "not_found"
