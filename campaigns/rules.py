"""The rule book: who may do what to a campaign, and when. The only place it is written.

For every action it says which statuses allow it, who may do it (by their relation to
the campaign: owner, co-editor, manager, member or lead of a stakeholder team…) and what
the campaign must be ready for (a launch date before announcing, every team's
acknowledgement before "done"…). Services enforce it (`require`, raising the domain
errors); selectors use it to filter what a person may see (`visible_q`) and to explain
each button (`decide`: allowed, or disabled with the reason, or not shown at all);
templates only read those answers.

Checks run in one order, so a refusal always names the first rule that stops it:
1. the person is signed in and active;
2. they may see the campaign at all (a draft is invisible to stakeholders: "not found");
3. their relation allows the action (the owner, co-editors and managers change a
   campaign; members of a stakeholder team acknowledge for it…);
4. the status allows it (a done campaign is no longer edited);
5. the campaign is ready (every team acknowledged before "mark as done"…).

A button is shown when the person's role could use it and the status is one where it
makes sense; it is enabled only when every rule passes. So an advisor never sees "Cancel
campaign", while another marketer sees it disabled with the rule that stops them.
"""

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignEvent, Stakeholder
from core.errors import DomainError, NotFound, PermissionRefused
from core.when import datetime_short
from teams.roles import Actor

Status = Campaign.Status


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"
    ANNOUNCE = "announce"
    MARK_DONE = "mark_done"
    OVERRIDE_DONE = "override_done"
    CANCEL = "cancel"
    ACKNOWLEDGE = "acknowledge"
    WITHDRAW = "withdraw"
    POST_FEEDBACK = "post_feedback"
    RECORD_RESULTS = "record_results"
    ATTACH = "attach"
    DUPLICATE = "duplicate"
    NUDGE = "nudge"
    RETRY_DELIVERIES = "retry_deliveries"
    SAY_NOT_READY = "say_not_ready"
    REPLY_NOT_READY = "reply_not_ready"
    SNOOZE = "snooze"


class Relation(StrEnum):
    """How a person stands to one campaign; they may hold several at once."""

    OWNER = "owner"  # a marketer who owns it
    CO_EDITOR = "co_editor"  # a marketer the owner chose to share it with
    MANAGER = "manager"
    MARKETER = "marketer"  # any marketer, owner or not
    STAKEHOLDER_MEMBER = "stakeholder_member"  # member (or lead) of a stakeholder team
    LEAD = "lead"  # lead of a stakeholder team
    READER = "reader"  # anyone signed in who may see it


# --- the life of a campaign ---------------------------------------------------------------

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.ANNOUNCED, Status.CANCELLED}),
    Status.ANNOUNCED: frozenset({Status.DONE, Status.CANCELLED}),
    Status.DONE: frozenset(),
    Status.CANCELLED: frozenset(),
}


# The statuses each part of the product reads a campaign in, named once.
OPEN = frozenset({Status.DRAFT, Status.ANNOUNCED})  # its content may still change
AWAITING = frozenset({Status.ANNOUNCED})  # teams acknowledge; reminders, escalations, nudges
WENT_OUT = frozenset({Status.ANNOUNCED, Status.DONE})  # told to the teams, not called off
REACHES_CUSTOMERS = frozenset({Status.DRAFT, Status.ANNOUNCED, Status.DONE})  # not cancelled


def status_q(statuses: frozenset[str], prefix: str = "") -> Q:
    """Campaigns in one of `statuses`, as a filter (on a related model with `prefix`)."""
    return Q(**{f"{prefix}status__in": sorted(statuses)})


@dataclass(frozen=True)
class Phase:
    """Where a campaign is in its life, as pages show it. Derived from the status only
    here, so templates read `campaign.phase.awaiting_acknowledgement` rather than
    comparing status strings."""

    status: str
    told: bool  # the stakeholder teams were told (it was announced at some point)

    @property
    def draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def awaiting_acknowledgement(self) -> bool:
        """Announced and not closed: teams acknowledge, the page updates itself."""
        return self.status in AWAITING

    @property
    def done(self) -> bool:
        return self.status == Status.DONE

    @property
    def cancelled(self) -> bool:
        return self.status == Status.CANCELLED

    @property
    def closed(self) -> bool:
        return not TRANSITIONS[self.status]

    @property
    def open_for_changes(self) -> bool:
        return self.status in OPEN

    @property
    def launched_to_teams(self) -> bool:
        """Announced or done: what stakeholders read as "went out"."""
        return self.status in WENT_OUT


def phase_of(status: str, *, announced: bool) -> Phase:
    return Phase(status=status, told=announced)


def is_private(status: str, *, announced: bool) -> bool:
    """Never told to anyone: a draft, or a draft cancelled before it was announced."""
    return status == Status.DRAFT or (status == Status.CANCELLED and not announced)


def private_q(prefix: str = "") -> Q:
    """The campaigns `is_private` says are private, as a filter (on a related model with
    `prefix`, e.g. "campaign__")."""
    return Q(**{f"{prefix}status": Status.DRAFT}) | Q(
        **{f"{prefix}status": Status.CANCELLED, f"{prefix}announced_at__isnull": True}
    )


def visible_q(actor: Actor, prefix: str = "") -> Q:
    """The campaigns `actor` may see, as a filter: every one for marketers and managers,
    only those that were announced for everybody else, nothing for the signed-out."""
    if not actor.is_active:
        return Q(pk__in=[])
    if actor.writes_campaigns:
        return Q()
    return ~private_q(prefix)


# --- what the rules need to know about a campaign ------------------------------------------


@dataclass(frozen=True)
class TeamFacts:
    team_id: int
    name: str
    acknowledged: bool  # the team counts as having acknowledged the current version
    acknowledged_by: frozenset[int] = frozenset()  # people with a live ack of this version
    # The team answered "not ready" and has not acknowledged since: why, in its words.
    not_ready: bool = False
    not_ready_reason: str = ""


@dataclass(frozen=True)
class CampaignFacts:
    """A campaign as the rules read it: plain values, from prefetched rows (pages) or from
    rows locked by a service. `history` (who moved it to a status, and when) only words
    the "already done" answers; without it they say less."""

    campaign_id: int
    status: str
    version: int
    announced: bool
    owner_id: int
    editor_ids: frozenset[int]
    teams: tuple[TeamFacts, ...]
    launch_at: datetime | None
    history: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def team_ids(self) -> frozenset[int]:
        return frozenset(t.team_id for t in self.teams)

    @property
    def pending_teams(self) -> list[TeamFacts]:
        return [t for t in self.teams if not t.acknowledged]

    @property
    def not_ready_teams(self) -> list[TeamFacts]:
        return [t for t in self.teams if t.not_ready]

    def team(self, team_id: int | None) -> TeamFacts | None:
        return next((t for t in self.teams if t.team_id == team_id), None)


def team_facts(stakeholder: Stakeholder, version: int, *, acknowledgers: bool = True) -> TeamFacts:
    """One stakeholder row as facts. With `acknowledgers`, who acknowledged `version`
    comes from `stakeholder.acknowledgements.all()` (prefetched, filtered or not);
    without, the facts cannot answer WITHDRAW, and read nothing more than the row."""
    return TeamFacts(
        team_id=stakeholder.team_id,
        name=stakeholder.team.name,
        acknowledged=stakeholder.acknowledged_version == version,
        acknowledged_by=frozenset(
            a.user_id
            for a in stakeholder.acknowledgements.all()
            if a.version == version and a.revoked_at is None
        )
        if acknowledgers
        else frozenset(),
        not_ready=stakeholder.not_ready_at is not None,
        not_ready_reason=stakeholder.not_ready_reason,
    )


TRANSITION_EVENTS = {
    Status.ANNOUNCED: (CampaignEvent.Kind.ANNOUNCED,),
    Status.DONE: (CampaignEvent.Kind.DONE, CampaignEvent.Kind.DONE_OVERRIDDEN),
    Status.CANCELLED: (CampaignEvent.Kind.CANCELLED,),
}


def history_of(events: Iterable[CampaignEvent]) -> dict[str, tuple[str, datetime]]:
    """Who moved the campaign into each status and when, from its timeline events (the
    latest wins), for the "already announced by…" answers."""
    kinds: dict[str, str] = {
        kind: status for status, kinds in TRANSITION_EVENTS.items() for kind in kinds
    }
    found: dict[str, tuple[str, datetime]] = {}
    for event in sorted(events, key=lambda e: (e.created_at, e.pk)):
        if event.kind in kinds:
            who = event.actor.display_name if event.actor else _("someone")
            found[kinds[event.kind]] = (who, event.created_at)
    return found


def facts_of(
    campaign: Campaign,
    *,
    stakeholders: Iterable[Stakeholder] | None = None,
    editor_ids: Collection[int] | None = None,
    events: Iterable[CampaignEvent] | None = None,
    acknowledgers: bool = True,
) -> CampaignFacts:
    """Facts from a campaign whose stakeholders (with team and acknowledgements) and
    editors were prefetched, or given. `events` adds the history; both pages and services
    pass what they already hold, so this runs no query of its own on prefetched data."""
    rows = campaign.stakeholders.all() if stakeholders is None else stakeholders
    if editor_ids is None:
        editor_ids = [user.pk for user in campaign.editors.all()]
    return CampaignFacts(
        campaign_id=campaign.pk,
        status=campaign.status,
        version=campaign.version,
        announced=campaign.announced_at is not None,
        owner_id=campaign.owner_id,
        editor_ids=frozenset(editor_ids),
        teams=tuple(team_facts(s, campaign.version, acknowledgers=acknowledgers) for s in rows),
        launch_at=campaign.launch_at,
        history=history_of(events) if events is not None else {},
    )


def holds(relation: str, actor: Actor, facts: CampaignFacts, *, team_id: int | None = None) -> bool:
    """Whether `actor` holds `relation` to the campaign. With `team_id`, the team relations
    (member, lead) are about that one stakeholder team only. Reads only what the relation
    needs: a published campaign's READER asks no role, a team relation no permission."""
    if not actor.is_active:
        return False
    teams = facts.team_ids if team_id is None else facts.team_ids & {team_id}
    match relation:
        case Relation.MANAGER:
            return actor.is_manager
        case Relation.MARKETER:
            return actor.is_marketer
        case Relation.OWNER:
            return actor.is_marketer and actor.user_id == facts.owner_id
        case Relation.CO_EDITOR:
            return actor.is_marketer and actor.user_id in facts.editor_ids
        case Relation.STAKEHOLDER_MEMBER:
            return bool(actor.team_ids & teams)
        case Relation.LEAD:
            return bool(actor.lead_team_ids & teams)
        case Relation.READER:
            private = is_private(facts.status, announced=facts.announced)
            return not private or actor.writes_campaigns
    raise ValueError(relation)


def relations(actor: Actor, facts: CampaignFacts, *, team_id: int | None = None) -> set[str]:
    """Every relation `actor` holds to the campaign."""
    return {r for r in Relation if holds(r, actor, facts, team_id=team_id)}


# --- the book -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    message: str
    code: str
    field_errors: Mapping[str, list[str]] | None = None

    def error(self) -> DomainError:
        if self.field_errors:
            return DomainError.for_fields(self.field_errors, code=self.code)
        return DomainError(self.message, code=self.code)


Ready = Callable[[Actor, CampaignFacts, int | None, datetime], Refusal | None]


@dataclass(frozen=True)
class Rule:
    statuses: frozenset[str]  # where the action is allowed
    who: frozenset[str]  # any one of these relations allows it
    refused: Callable[[int | None], str]  # the message when the relation is missing
    role_could: Callable[[Actor], bool]  # whether to show the button to this person at all
    status_refused: Callable[[CampaignFacts], Refusal]
    ready: Ready | None = None
    shown_in: frozenset[str] | None = None  # statuses where it shows (default: statuses)


_ALL = frozenset(Status.values)
EDITORS = frozenset({Relation.OWNER, Relation.CO_EDITOR, Relation.MANAGER})


def _status_label(facts: CampaignFacts) -> str:
    return str(Status(facts.status).label).lower()


def _when(moment: datetime) -> str:
    return datetime_short(moment)


def _already(facts: CampaignFacts, status: str, with_who: str, without_who: str) -> Refusal:
    """ "Already announced by Marie on 4 Dec…": information for someone whose first click
    went through, not an error."""
    if status in facts.history:
        who, when = facts.history[status]
        return Refusal(with_who % {"who": who, "when": _when(when)}, "already_done")
    return Refusal(without_who, "already_done")


def _editors_only(what: str) -> Callable[[int | None], str]:
    return lambda _team_id: what


def _edit_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("This campaign is %(status)s: it can no longer be edited.")
        % {"status": _status_label(facts)},
        "not_editable",
    )


def _announce_status(facts: CampaignFacts) -> Refusal:
    if facts.announced:
        return _already(
            facts,
            Status.ANNOUNCED,
            _("Already announced by %(who)s on %(when)s."),
            _("This campaign was already announced."),
        )
    return Refusal(
        _("This campaign was cancelled: it can no longer be announced."), "invalid_transition"
    )


def _announce_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    errors: dict[str, list[str]] = {}
    if facts.launch_at is None:
        errors["launch_at"] = [_("Launch date is required to announce a campaign.")]
    if not facts.teams:
        errors["teams"] = [_("Add at least one stakeholder team before announcing.")]
    if not errors:
        return None
    return Refusal(" ".join(m for ms in errors.values() for m in ms), "not_ready", errors)


def _done_status(facts: CampaignFacts) -> Refusal:
    if facts.status == Status.DONE:
        return _already(
            facts,
            Status.DONE,
            _("Already marked as done by %(who)s on %(when)s."),
            _("This campaign is already done."),
        )
    if facts.status == Status.DRAFT:
        return Refusal(
            _("Announce the campaign first: only an announced campaign can be marked as done."),
            "invalid_transition",
        )
    return Refusal(
        _("This campaign was cancelled: it cannot be marked as done."), "invalid_transition"
    )


def _done_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    # A team's objection first: it says what marketing must answer, not just who is late.
    if objections := facts.not_ready_teams:
        return Refusal(
            " ".join(
                _("%(team)s is not ready: %(reason)s")
                % {"team": t.name, "reason": t.not_ready_reason}
                for t in objections
            ),
            "teams_not_ready",
        )
    if pending := facts.pending_teams:
        return Refusal(
            _("Waiting for %(teams)s to acknowledge version %(version)s.")
            % {"teams": ", ".join(t.name for t in pending), "version": facts.version},
            "acknowledgements_pending",
        )
    return None


def _override_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    if not facts.pending_teams:
        return Refusal(_("Every team has acknowledged: use Mark as done."), "nothing_to_override")
    return None


def _cancel_status(facts: CampaignFacts) -> Refusal:
    if facts.status == Status.CANCELLED:
        return _already(
            facts,
            Status.CANCELLED,
            _("Already cancelled by %(who)s on %(when)s."),
            _("This campaign is already cancelled."),
        )
    return Refusal(_("This campaign is done: it can no longer be cancelled."), "invalid_transition")


def _acknowledge_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("Only announced campaigns can be acknowledged; this one is %(status)s.")
        % {"status": _status_label(facts)},
        "not_announced",
    )


def late_acknowledgement(facts: CampaignFacts, team: TeamFacts | None) -> bool:
    """A done campaign still takes the acknowledgement of a team that never gave it: only
    a manager's override closes a campaign with a team pending (mark as done needs every
    team, and a done campaign no longer changes), so that team acknowledges late, and the
    timeline says so."""
    return facts.status == Status.DONE and team is not None and not team.acknowledged


def may_acknowledge_for(facts: CampaignFacts, team: TeamFacts | None) -> bool:
    """Whether one stakeholder team's members may acknowledge now: while the campaign is
    announced, or late after an override (see `late_acknowledgement`)."""
    return facts.status in AWAITING or late_acknowledgement(facts, team)


def _acknowledge_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    if facts.status in AWAITING:
        return None
    if team_id is not None:
        teams = [facts.team(team_id)]
    else:
        teams = [t for t in facts.teams if t.team_id in actor.team_ids]
    if any(late_acknowledgement(facts, team) for team in teams):
        return None
    return _acknowledge_status(facts)


def _acknowledge_refused(team_id: int | None) -> str:
    if team_id is not None:
        return _("You can only acknowledge for your own teams.")
    return _("You are not in any stakeholder team of this campaign.")


def _withdraw_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("Only an announced campaign's acknowledgements can be withdrawn."), "not_announced"
    )


def _withdraw_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    teams = [facts.team(team_id)] if team_id is not None else list(facts.teams)
    if any(t is not None and actor.user_id in t.acknowledged_by for t in teams):
        return None
    return Refusal(_("You have not acknowledged this version."), "nothing_to_revoke")


def _not_ready_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("Only an announced campaign can be held: this one is %(status)s.")
        % {"status": _status_label(facts)},
        "not_announced",
    )


def _reply_not_ready_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    team = facts.team(team_id)
    if team is None or not team.not_ready:
        return Refusal(_("This team has not said it is not ready."), "nothing_to_reply")
    return None


def _snooze_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    mine = [t for t in facts.teams if t.team_id in actor.team_ids]
    if all(t.acknowledged for t in mine):
        return Refusal(_("Your teams have acknowledged: no reminder is coming."), "not_pending")
    return None


def _feedback_status(facts: CampaignFacts) -> Refusal:
    if facts.status == Status.DRAFT:
        return Refusal(
            _("Messages can be posted once the campaign is announced."), "feedback_closed"
        )
    return Refusal(_("This campaign was cancelled: its thread is closed."), "feedback_closed")


def _results_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("Results can be recorded only for an announced or done campaign; this one is %(status)s.")
        % {"status": _status_label(facts)},
        "results_closed",
    )


def _results_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    if facts.launch_at is None or facts.launch_at > now:
        return Refusal(_("Results can be recorded once the campaign has launched."), "not_launched")
    return None


def _attach_status(facts: CampaignFacts) -> Refusal:
    return Refusal(
        _("This campaign is %(status)s: its attachments can no longer change.")
        % {"status": _status_label(facts)},
        "not_editable",
    )


def _nudge_status(facts: CampaignFacts) -> Refusal:
    return Refusal(_("This team has nothing to acknowledge for this campaign."), "not_pending")


def _nudge_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    team = facts.team(team_id)
    if team is None:
        return Refusal(_("This team has nothing to acknowledge for this campaign."), "not_pending")
    if team.acknowledged:
        return Refusal(_("This team already acknowledged this campaign."), "not_pending")
    return None


def _retry_status(facts: CampaignFacts) -> Refusal:
    return Refusal(_("Nothing was sent for a campaign that was never announced."), "not_told")


def _retry_ready(
    actor: Actor, facts: CampaignFacts, team_id: int | None, now: datetime
) -> Refusal | None:
    # Cancelled before it was announced: nobody was ever told anything.
    return None if facts.announced else _retry_status(facts)


def _never(facts: CampaignFacts) -> Refusal:  # pragma: no cover - every status allows it
    return Refusal("", "invalid")


BOOK: dict[Action, Rule] = {
    Action.VIEW: Rule(
        statuses=_ALL,
        who=frozenset({Relation.READER}),
        refused=lambda _t: _("This campaign does not exist."),
        role_could=lambda actor: actor.is_active,
        status_refused=_never,
    ),
    Action.EDIT: Rule(
        statuses=OPEN,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can edit it.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_edit_status,
    ),
    Action.ANNOUNCE: Rule(
        statuses=frozenset({Status.DRAFT}),
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can announce it.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_announce_status,
        ready=_announce_ready,
    ),
    Action.MARK_DONE: Rule(
        statuses=AWAITING,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can mark it as done.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_done_status,
        ready=_done_ready,
    ),
    Action.OVERRIDE_DONE: Rule(
        statuses=AWAITING,
        who=frozenset({Relation.MANAGER}),
        refused=_editors_only(
            _("Only managers can mark a campaign as done without every acknowledgement.")
        ),
        role_could=lambda actor: actor.is_manager,
        status_refused=_done_status,
        ready=_override_ready,
    ),
    Action.CANCEL: Rule(
        statuses=OPEN,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can cancel it.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_cancel_status,
    ),
    Action.ACKNOWLEDGE: Rule(
        # Done as well: a team still pending after a manager's override acknowledges late.
        statuses=WENT_OUT,
        who=frozenset({Relation.STAKEHOLDER_MEMBER}),
        refused=_acknowledge_refused,
        role_could=lambda actor: bool(actor.team_ids),
        status_refused=_acknowledge_status,
        ready=_acknowledge_ready,
    ),
    Action.WITHDRAW: Rule(
        statuses=AWAITING,
        who=frozenset({Relation.STAKEHOLDER_MEMBER}),
        refused=lambda _t: _("You can only withdraw an acknowledgement for your own teams."),
        role_could=lambda actor: bool(actor.team_ids),
        status_refused=_withdraw_status,
        ready=_withdraw_ready,
    ),
    Action.SAY_NOT_READY: Rule(
        # Any member, whatever the team's policy: one person missing the script is enough
        # to hold the launch's closure. After acknowledging too: they take it back.
        statuses=AWAITING,
        who=frozenset({Relation.STAKEHOLDER_MEMBER}),
        refused=lambda _t: _("Only members of a stakeholder team can say it is not ready."),
        role_could=lambda actor: bool(actor.team_ids),
        status_refused=_not_ready_status,
    ),
    Action.REPLY_NOT_READY: Rule(
        statuses=AWAITING,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can reply to a team.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_not_ready_status,
        ready=_reply_not_ready_ready,
    ),
    Action.SNOOZE: Rule(
        statuses=AWAITING,
        who=frozenset({Relation.STAKEHOLDER_MEMBER}),
        refused=lambda _t: _("Only members of a stakeholder team get its reminders."),
        role_could=lambda actor: bool(actor.team_ids),
        status_refused=_not_ready_status,
        ready=_snooze_ready,
    ),
    Action.POST_FEEDBACK: Rule(
        statuses=WENT_OUT,
        who=frozenset({Relation.READER}),
        refused=lambda _t: _("This campaign does not exist."),
        role_could=lambda actor: actor.is_active,
        status_refused=_feedback_status,
        shown_in=_ALL,
    ),
    Action.RECORD_RESULTS: Rule(
        statuses=WENT_OUT,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can record its results.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_results_status,
        ready=_results_ready,
    ),
    Action.ATTACH: Rule(
        statuses=OPEN,
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can change its files.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_attach_status,
    ),
    Action.DUPLICATE: Rule(
        statuses=_ALL,
        who=frozenset({Relation.MARKETER}),
        refused=_editors_only(_("Only marketers can duplicate campaigns.")),
        role_could=lambda actor: actor.is_marketer,
        status_refused=_never,
    ),
    Action.RETRY_DELIVERIES: Rule(
        # Anything told to the teams: an announcement, a change, a cancellation notice.
        statuses=frozenset({Status.ANNOUNCED, Status.DONE, Status.CANCELLED}),
        who=EDITORS,
        refused=_editors_only(
            _("Only the campaign's owner, its co-editors and managers can send it again.")
        ),
        role_could=lambda actor: actor.writes_campaigns,
        status_refused=_retry_status,
        ready=_retry_ready,
    ),
    Action.NUDGE: Rule(
        statuses=AWAITING,
        who=frozenset({Relation.MANAGER, Relation.LEAD}),
        refused=_editors_only(_("Only managers and the team's leads can nudge its members.")),
        role_could=lambda actor: actor.is_manager or bool(actor.lead_team_ids),
        status_refused=_nudge_status,
        ready=_nudge_ready,
    ),
}


# --- asking the book -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The book's answer for one person, one campaign and one action."""

    allowed: bool
    shown: bool = True
    reason: str = ""
    refusal: Refusal | None = None
    kind: str = ""  # "" (allowed), "signed_out", "not_found", "permission", "status", "ready"

    @property
    def info(self) -> bool:
        """The refusal is news, not an error: someone else (or an earlier click) did it."""
        return self.refusal is not None and self.refusal.code == "already_done"

    def raise_if_refused(self) -> None:
        """The domain error for this refusal: NotFound for a campaign the person may not
        see, PermissionRefused for the wrong person, DomainError for the wrong moment."""
        if self.allowed or self.refusal is None:
            return
        if self.kind == "not_found":
            raise NotFound(self.refusal.message)
        if self.kind in ("signed_out", "permission"):
            raise PermissionRefused(self.refusal.message)
        raise self.refusal.error()


def decide(
    action: Action,
    actor: Actor,
    facts: CampaignFacts,
    *,
    team_id: int | None = None,
    now: datetime | None = None,
) -> Decision:
    """Whether `actor` may do `action` to the campaign now (for one stakeholder team with
    `team_id`: acknowledge, withdraw, nudge)."""
    rule = BOOK[action]
    if not actor.is_active:
        message = _("Your account is inactive.") if actor.is_authenticated else _("Sign in first.")
        return Decision(False, False, message, Refusal(message, "permission_denied"), "signed_out")
    if not holds(Relation.READER, actor, facts):
        message = _("This campaign does not exist.")
        return Decision(False, False, message, Refusal(message, "not_found"), "not_found")
    shown_in = rule.shown_in if rule.shown_in is not None else rule.statuses
    in_status = facts.status in rule.statuses
    shown = rule.role_could(actor) and facts.status in shown_in
    if not any(holds(relation, actor, facts, team_id=team_id) for relation in rule.who):
        message = rule.refused(team_id)
        return Decision(False, shown, message, Refusal(message, "permission_denied"), "permission")
    if not in_status:
        refusal = rule.status_refused(facts)
        return Decision(False, shown, refusal.message, refusal, "status")
    if rule.ready is not None and (
        not_ready := rule.ready(actor, facts, team_id, now or timezone.now())
    ):
        return Decision(False, shown, not_ready.message, not_ready, "ready")
    return Decision(True, shown)


def role_could(action: Action, actor: Actor) -> bool:
    """Whether this person's role could ever do `action` (to show its button at all)."""
    return actor.is_active and BOOK[action].role_could(actor)


def require(
    action: Action,
    actor: Actor,
    facts: CampaignFacts,
    *,
    team_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Raise the domain error of `decide`'s refusal, if any (for services)."""
    decide(action, actor, facts, team_id=team_id, now=now).raise_if_refused()


def require_can_create(actor: Actor) -> None:
    if not actor.is_marketer:
        raise PermissionRefused(_("Only marketers can create campaigns."))


def can_write_campaigns(actor: Actor) -> bool:
    """Whether the campaign form and its helpers (preview, contact pressure, KPI rows)
    are for this person: marketers write campaigns, managers may change any."""
    return actor.writes_campaigns


def require_writes_campaigns(actor: Actor) -> None:
    if not actor.writes_campaigns:
        raise PermissionRefused(_("Only marketers and managers can write campaigns."))


def sees_delivery_failures(actor: Actor, facts: CampaignFacts) -> bool:
    """Failed deliveries are shown to those who can act on them: the campaign's owner,
    co-editors and managers."""
    return any(holds(relation, actor, facts) for relation in EDITORS)
