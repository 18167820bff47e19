"""The campaign state machine: the moves that exist, and what each one writes.

Allowed: draft → announced, draft → cancelled, announced → done, announced → cancelled.
Who may make each move, in which state, is the rule book's, tested over every action,
state and relation in test_rule_book.py; here, what a move does and that an impossible
one leaves the campaign exactly as it was.
"""

from collections.abc import Callable

import pytest

from accounts.models import User
from campaigns import rules, services
from campaigns.models import Campaign, CampaignEvent
from campaigns.services import lifecycle
from core.errors import DomainError, NotFound
from notifications.models import Kind as NotificationKind
from notifications.models import Notification
from tests.factories import campaign_input, campaign_state

pytestmark = pytest.mark.django_db

Status = Campaign.Status
EventKind = CampaignEvent.Kind

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
ALLOWED_MOVES = {
    (Status.DRAFT, Status.ANNOUNCED),
    (Status.DRAFT, Status.CANCELLED),
    (Status.ANNOUNCED, Status.DONE),
    (Status.ANNOUNCED, Status.CANCELLED),
}


def test_transition_table_is_exactly_the_documented_one():
    moves = {(src, dst) for src, targets in rules.TRANSITIONS.items() for dst in targets}
    assert moves == ALLOWED_MOVES


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("start", Status.values)
def test_every_move_from_every_state(bring_to, draft_campaign, marketer, manager, start, action):
    campaign = bring_to(draft_campaign, start)
    # The manager overrides; the owner makes the other moves. An override needs a team
    # still pending, so the acknowledgement bring_to made is withdrawn first.
    actor = manager if action == "override_done" else marketer
    if action == "override_done" and start == Status.ANNOUNCED:
        stakeholder = campaign.stakeholders.get()
        stakeholder.acknowledged_version = None
        stakeholder.save()
    target = TARGET[action]
    before = campaign_state(campaign.pk)

    if (start, target) not in ALLOWED_MOVES:
        with pytest.raises(DomainError) as refused:
            ACTIONS[action](actor, campaign)
        assert refused.value.code in {"invalid_transition", "already_done"}
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


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (Status.ANNOUNCED, "Already announced by Marie Marketing on "),
        (Status.DONE, "Already announced by Marie Marketing on "),
        (Status.CANCELLED, "This campaign was cancelled: it can no longer be announced."),
    ],
)
def test_announcing_twice_says_who_did_it(bring_to, draft_campaign, marketer, start, message):
    campaign = bring_to(draft_campaign, start)
    before = campaign_state(campaign.pk)
    with pytest.raises(DomainError) as refused:
        services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    assert refused.value.message.startswith(message)
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
    if start == Status.DONE:
        with pytest.raises(DomainError) as refused:
            services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
        assert refused.value.code == "not_announced"
    else:  # cancelled while a draft: the advisor never heard of it
        with pytest.raises(NotFound):
            services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
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


def test_transition_on_missing_campaign_is_not_found(marketer):
    with pytest.raises(NotFound):
        services.campaign_announce(actor=marketer, campaign_id=999_999)


@pytest.mark.parametrize(
    ("action", "start"),
    [("announce", Status.DRAFT), ("cancel", Status.ANNOUNCED), ("mark_done", Status.ANNOUNCED)],
)
def test_a_move_that_lost_a_race_changes_nothing(
    monkeypatch, bring_to, draft_campaign, marketer, action, start
):
    """Without row locks (SQLite's shared test database) a second request can read the
    status before the first one's move: its own move must then change nothing."""
    campaign = bring_to(draft_campaign, start)
    stale = Campaign.objects.select_related("owner").get(pk=campaign.pk)
    ACTIONS[action](marketer, campaign)  # the request that won
    before = campaign_state(campaign.pk)
    fresh = lifecycle.lock_campaign
    reads = iter([stale])
    monkeypatch.setattr(lifecycle, "lock_campaign", lambda pk: next(reads, None) or fresh(pk))

    with pytest.raises(DomainError) as refused:
        ACTIONS[action](marketer, campaign)

    assert refused.value.code == "already_done"
    assert refused.value.message.startswith("Already ")
    assert campaign_state(campaign.pk) == before
