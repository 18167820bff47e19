"""The rule book, generated over every action, campaign state and relation to the campaign.

For each combination, three answers must agree:
1. the specification below (written from the product's rules, independently of the code);
2. what the page shows (`campaign_actions`, `my_teams`, `acknowledge_state`, `nudge_state`,
   and for viewing, the campaign page's selector and the list);
3. whether the service succeeds.

And a refused service must leave everything as it was.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from campaigns import selectors, services
from campaigns.models import Attachment, Campaign, Feedback, Kpi, Stakeholder
from campaigns.rules import Action
from campaigns.selectors import ActionState, CampaignFilters
from core.errors import AccessError, DomainError, NotFound
from teams.models import Membership
from teams.roles import Actor
from tests.campaigns.files import pdf
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    TeamFactory,
    campaign_input,
    campaign_state,
    make_manager,
    make_marketer,
)

pytestmark = pytest.mark.django_db

STATES = (
    "draft",
    "draft_unready",  # no stakeholder team yet
    "announced",  # team A pending
    "acknowledged",  # team A acknowledged by the stakeholder member
    "not_ready",  # team A said it is not ready (the stakeholder member, after acknowledging)
    "launched",  # announced after it went out: launch date past, team A pending
    "done",
    "overridden",  # closed by a manager's override, team A still pending: it may acknowledge late
    "cancelled_draft",  # cancelled before anyone was told
    "cancelled",  # cancelled after announcement
)
RELATIONS = (
    "owner",
    "co_editor",
    "other_marketer",
    "stakeholder_member",
    "other_team_member",
    "lead",
    "manager",
    "anonymous",
)

# --- the specification ----------------------------------------------------------------------

PRIVATE = {"draft", "draft_unready", "cancelled_draft"}
EDITABLE = {"draft", "draft_unready", "announced", "acknowledged", "not_ready", "launched"}
AWAITING = {"announced", "acknowledged", "not_ready", "launched"}
PENDING = {"announced", "not_ready", "launched"}  # team A has not acknowledged
EDITORS = {"owner", "co_editor", "manager"}
MARKETERS = {"owner", "co_editor", "other_marketer"}


def visible(state: str, relation: str) -> bool:
    if relation == "anonymous":
        return False
    return state not in PRIVATE or relation in MARKETERS | {"manager"}


def expected(action: Action, state: str, relation: str) -> bool:
    """Who may do what, when: the product's rules restated as plain sets."""
    if not visible(state, relation):
        return False
    return {
        Action.VIEW: True,
        Action.EDIT: relation in EDITORS and state in EDITABLE,
        Action.ANNOUNCE: relation in EDITORS and state == "draft",
        Action.MARK_DONE: relation in EDITORS and state == "acknowledged",
        Action.OVERRIDE_DONE: relation == "manager" and state in PENDING,
        Action.CANCEL: relation in EDITORS and state in EDITABLE,
        Action.ACKNOWLEDGE: relation in {"stakeholder_member", "lead"}
        and state in AWAITING | {"overridden"},
        Action.WITHDRAW: relation == "stakeholder_member" and state == "acknowledged",
        Action.POST_FEEDBACK: state in AWAITING | {"done", "overridden"},
        Action.RECORD_RESULTS: relation in EDITORS and state == "launched",
        Action.ATTACH: relation in EDITORS and state in EDITABLE,
        Action.DUPLICATE: relation in MARKETERS,
        Action.NUDGE: relation in {"manager", "lead"} and state in PENDING,
        Action.RETRY_DELIVERIES: relation in EDITORS
        and state in AWAITING | {"done", "overridden", "cancelled"},
        # Any member of a stakeholder team, even after acknowledging (they take it back).
        Action.SAY_NOT_READY: relation in {"stakeholder_member", "lead"} and state in AWAITING,
        Action.REPLY_NOT_READY: relation in EDITORS and state == "not_ready",
        # Only while one of their teams still owes the acknowledgement.
        Action.SNOOZE: relation in {"stakeholder_member", "lead"} and state in PENDING,
    }[action]


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    campaign: Campaign
    team_a_id: int
    colleague_id: int  # a member of team A who never acknowledges (the one nudged)
    people: dict[str, object]


def build_world(state: str) -> World:
    owner = make_marketer(full_name="Odile Owner")
    co_editor = make_marketer(full_name="Corentin Coeditor")
    other_marketer = make_marketer(full_name="Mathis Marketer")
    manager = make_manager(full_name="Manon Manager")
    team_a, team_b = TeamFactory(name="Conseillers"), TeamFactory(name="Ventes")
    member = MembershipFactory(team=team_a, user__full_name="Sophie Stakeholder").user
    colleague = MembershipFactory(team=team_a).user
    lead = MembershipFactory(team=team_a, role=Membership.Role.LEAD).user
    other_team_member = MembershipFactory(team=team_b).user
    now = timezone.now()
    launch = now - timedelta(days=1) if state == "launched" else now + timedelta(days=3)
    campaign = CampaignFactory(owner=owner, launch_at=launch)
    campaign.editors.add(co_editor)
    Kpi.objects.create(campaign=campaign, name="Rendez-vous pris", target=100)
    if state != "draft_unready":
        Stakeholder.objects.create(campaign=campaign, team=team_a)
    pk = campaign.pk
    if state in AWAITING | {"done", "overridden", "cancelled"}:
        services.campaign_announce(actor=owner, campaign_id=pk, already_sent_reason="Déjà parti")
    if state in {"acknowledged", "not_ready", "done"}:
        services.campaign_acknowledge(actor=member, campaign_id=pk)
    if state == "not_ready":
        services.stakeholder_not_ready(
            actor=member, campaign_id=pk, team_id=team_a.pk, reason="Pas de script"
        )
    if state == "done":
        services.campaign_mark_done(actor=owner, campaign_id=pk)
    if state == "overridden":
        services.campaign_override_done(actor=manager, campaign_id=pk, reason="Dit en réunion")
    if state in {"cancelled", "cancelled_draft"}:
        services.campaign_cancel(actor=owner, campaign_id=pk, reason="Plus d'actualité")
    return World(
        campaign=Campaign.objects.get(pk=pk),
        team_a_id=team_a.pk,
        colleague_id=colleague.pk,
        people={
            "owner": owner,
            "co_editor": co_editor,
            "other_marketer": other_marketer,
            "stakeholder_member": member,
            "other_team_member": other_team_member,
            "lead": lead,
            "manager": manager,
            "anonymous": AnonymousUser(),
        },
    )


def service_call(action: Action, world: World, actor: object) -> Callable[[], object]:
    campaign = world.campaign
    pk = campaign.pk
    kpi_id = campaign.kpis.get().pk
    calls: dict[Action, Callable[[], object]] = {
        Action.VIEW: lambda: selectors.campaign_detail(viewer=Actor.of(actor), campaign_id=pk),
        Action.EDIT: lambda: services.campaign_update(
            actor=actor, campaign_id=pk, data=campaign_input(campaign, title="Nouveau titre")
        ),
        Action.ANNOUNCE: lambda: services.campaign_announce(
            actor=actor, campaign_id=pk, already_sent_reason="Déjà parti"
        ),
        Action.MARK_DONE: lambda: services.campaign_mark_done(actor=actor, campaign_id=pk),
        Action.OVERRIDE_DONE: lambda: services.campaign_override_done(
            actor=actor, campaign_id=pk, reason="Confirmé par téléphone"
        ),
        Action.CANCEL: lambda: services.campaign_cancel(actor=actor, campaign_id=pk),
        Action.ACKNOWLEDGE: lambda: services.campaign_acknowledge(actor=actor, campaign_id=pk),
        Action.WITHDRAW: lambda: services.campaign_acknowledgement_revoke(
            actor=actor, campaign_id=pk, team_id=world.team_a_id
        ),
        Action.POST_FEEDBACK: lambda: services.feedback_post(
            actor=actor, campaign_id=pk, tag="question", body="Les clients demandent le code."
        ),
        Action.RECORD_RESULTS: lambda: services.campaign_record_results(
            actor=actor, campaign_id=pk, actuals={kpi_id: 42}
        ),
        Action.ATTACH: lambda: services.attachment_add(
            actor=actor,
            campaign_id=pk,
            uploaded_file=SimpleUploadedFile("visuel.pdf", pdf(), "application/pdf"),
        ),
        Action.DUPLICATE: lambda: services.campaign_duplicate(actor=actor, campaign_id=pk),
        Action.NUDGE: lambda: services.stakeholder_nudge(
            actor=actor, campaign_id=pk, team_id=world.team_a_id, user_id=world.colleague_id
        ),
        Action.RETRY_DELIVERIES: lambda: services.campaign_deliveries_retry(
            actor=actor, campaign_id=pk
        ),
        Action.SAY_NOT_READY: lambda: services.stakeholder_not_ready(
            actor=actor, campaign_id=pk, team_id=world.team_a_id, reason="Stock absent"
        ),
        Action.REPLY_NOT_READY: lambda: services.stakeholder_not_ready_reply(
            actor=actor, campaign_id=pk, team_id=world.team_a_id, reply="Script en ligne"
        ),
        Action.SNOOZE: lambda: services.reminders_snooze(
            actor=actor, campaign_id=pk, choice=services.NEXT_WORKING_DAY
        ),
    }
    return calls[action]


def page_states(world: World, actor: object) -> dict[Action, ActionState]:
    """What the pages say the person can do, read the way the pages read it."""
    viewer = Actor.of(actor)
    refused = ActionState(allowed=False, shown=False)
    try:
        campaign = selectors.campaign_detail(viewer=viewer, campaign_id=world.campaign.pk)
    except NotFound:
        listed = selectors.campaign_list(viewer=viewer, filters=CampaignFilters()).campaigns
        assert world.campaign not in listed  # the list hides what the page refuses
        return dict.fromkeys(Action, refused)
    listed = selectors.campaign_list(viewer=viewer, filters=CampaignFilters()).campaigns
    assert world.campaign in listed
    states = {Action.VIEW: ActionState(allowed=True)}
    for name, state in selectors.campaign_actions(campaign=campaign, viewer=viewer).items():
        states[Action(name)] = state
    states[Action.ACKNOWLEDGE] = selectors.acknowledge_state(campaign=campaign, viewer=viewer)
    team_a = selectors.my_teams(campaign=campaign, viewer=viewer)
    states[Action.WITHDRAW] = team_a[0].withdraw if team_a else refused
    states[Action.SAY_NOT_READY] = team_a[0].say_not_ready if team_a else refused
    states[Action.SNOOZE] = selectors.snooze_state(campaign=campaign, viewer=viewer).action
    states[Action.REPLY_NOT_READY] = selectors.not_ready_replies(
        campaign=campaign, viewer=viewer
    ).get(world.team_a_id, refused)
    states[Action.NUDGE] = selectors.nudge_state(
        campaign=campaign, viewer=viewer, team_id=world.team_a_id
    )
    return states


def snapshot(campaign_id: int) -> tuple[object, ...]:
    campaign = Campaign.objects.get(pk=campaign_id)
    return (
        campaign_state(campaign_id),
        campaign.title,
        Campaign.objects.count(),
        Feedback.objects.count(),
        Attachment.objects.count(),
        tuple(Kpi.objects.order_by("pk").values_list("actual", flat=True)),
        tuple(campaign.editors.values_list("pk", flat=True)),
    )


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.parametrize("relation", RELATIONS)
@pytest.mark.parametrize("state", STATES)
def test_page_service_and_specification_agree(state, relation):
    world = build_world(state)
    actor = world.people[relation]
    pages = page_states(world, actor)
    disagreements = []
    for action in Action:
        with transaction.atomic():  # each attempt is undone, so each starts from `state`
            before = snapshot(world.campaign.pk)
            try:
                service_call(action, world, actor)()
            except (DomainError, AccessError) as refusal:
                succeeded, error = False, refusal
                if snapshot(world.campaign.pk) != before:
                    disagreements.append(f"{action}: refused ({refusal}) but changed something")
            else:
                succeeded, error = True, None
            transaction.set_rollback(True)
        wanted = expected(action, state, relation)
        shown = pages[action]
        if not (wanted == succeeded == shown.allowed):
            disagreements.append(
                f"{action}: spec {wanted}, service {succeeded} ({error}), page {shown.allowed}"
            )
        if shown.allowed and not shown.shown:
            disagreements.append(f"{action}: allowed but its button is hidden")
        if not shown.allowed and shown.shown and not shown.reason:
            disagreements.append(f"{action}: disabled without a reason")
    assert not disagreements, "\n".join(disagreements)


# Buttons of actions a stakeholder's role can never take are not rendered at all.
NEVER_FOR_STAKEHOLDERS = (
    Action.EDIT,
    Action.ANNOUNCE,
    Action.MARK_DONE,
    Action.OVERRIDE_DONE,
    Action.CANCEL,
    Action.RECORD_RESULTS,
    Action.ATTACH,
    Action.DUPLICATE,
    Action.REPLY_NOT_READY,
)


@pytest.mark.parametrize("state", sorted(AWAITING | {"done", "cancelled"}))
@pytest.mark.parametrize("relation", ["stakeholder_member", "other_team_member", "lead"])
def test_stakeholders_never_see_buttons_their_role_cannot_use(state, relation):
    world = build_world(state)
    pages = page_states(world, world.people[relation])
    assert [a for a in NEVER_FOR_STAKEHOLDERS if pages[a].shown] == []


def test_another_marketer_sees_the_owners_buttons_disabled_with_the_rule():
    world = build_world("announced")
    pages = page_states(world, world.people["other_marketer"])
    for action in (Action.EDIT, Action.CANCEL, Action.ATTACH):
        assert pages[action].shown
        assert not pages[action].allowed
        assert "owner, its co-editors and managers" in pages[action].reason
    assert not pages[Action.OVERRIDE_DONE].shown  # managers' only


def test_a_second_announce_says_who_announced_it_and_when():
    world = build_world("announced")
    owner = world.people["owner"]
    with pytest.raises(DomainError) as refused:
        services.campaign_announce(actor=owner, campaign_id=world.campaign.pk)
    assert refused.value.code == "already_done"
    assert refused.value.message.startswith("Already announced by Odile Owner on ")


def test_managers_refusals_no_longer_say_only_marketers():
    world = build_world("announced")
    with pytest.raises(DomainError) as refused:
        services.campaign_mark_done(actor=world.people["manager"], campaign_id=world.campaign.pk)
    assert refused.value.message == "Waiting for Conseillers to acknowledge version 1."
