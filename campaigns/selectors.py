"""Reads of the campaign domain; each keeps a constant number of queries."""

import functools
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypedDict, cast

from django.db import models, router
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncDate
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns import rules
from campaigns.audience import audience_words, audiences_overlap
from campaigns.changes import content_of, version_diff
from campaigns.kpis import kpi_value_format
from campaigns.models import (
    UNDATED_SORTS_AS,
    Acknowledgement,
    Attachment,
    Campaign,
    CampaignEvent,
    CampaignVersion,
    ChannelDefaultTeam,
    ExternalReference,
    Feedback,
    Kpi,
    LaunchChange,
    ReminderSnooze,
    Stakeholder,
    launch_sort_key,
)
from campaigns.rules import Action, Decision
from campaigns.search import campaigns_searched
from core.changes import FieldChange
from core.cursors import Slot, cursor_read, cursor_write
from core.db import CompiledQuery, RowValue, compiled, compiled_rows
from core.errors import NotFound
from notifications import selectors as notification_selectors
from notifications.models import Kind as NotificationKind
from notifications.subjects import SubjectState, WaitingQuestion
from teams.models import Team
from teams.roles import Actor

Status = Campaign.Status


# --- the campaign list: filters and keyset pages -----------------------------------------

CURSOR_SALT = "campaigns.list.cursor"


@dataclass(frozen=True)
class CampaignFilters:
    """What the list is narrowed to; plain values, parsed by campaigns.filters."""

    query: str = ""
    status: str = ""
    channel: str = ""
    mine_for: int | None = None  # owned or co-edited by this person
    launch_from: datetime | None = None  # inclusive
    launch_before: datetime | None = None  # exclusive
    newest_first: bool = True
    team_id: int | None = None  # a stakeholder team
    owner_id: int | None = None
    updated_since: datetime | None = None  # inclusive (a sync's "since my last run")


@dataclass(frozen=True)
class CampaignPage:
    campaigns: list[Campaign]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


@dataclass(frozen=True)
class _Position:
    launch_at: datetime | None
    id: int
    forward: bool  # True: the rows after this one; False: the rows before it


_CURSOR_SHAPE = (Slot.MOMENT_OR_NONE, Slot.ID, Slot.TEXT, Slot.TEXT)


def _cursor_write(campaign: Campaign, *, forward: bool, newest_first: bool) -> str:
    values = [
        campaign.launch_at,
        campaign.pk,
        "n" if forward else "p",
        "d" if newest_first else "a",
    ]
    return cursor_write(salt=CURSOR_SALT, values=values)


def _cursor_read(token: str, *, newest_first: bool) -> _Position | None:
    """The position a cursor points at, or None (first page) for anything unreadable,
    tampered with, or made for the other sort order."""
    values = cursor_read(token, salt=CURSOR_SALT, shape=_CURSOR_SHAPE)
    if values is None:
        return None
    launch, pk, direction, order = values
    if direction not in ("n", "p") or order != ("d" if newest_first else "a"):
        return None
    # cursor_read checked each value against the shape.
    return _Position(
        launch_at=cast(datetime | None, launch), id=cast(int, pk), forward=direction == "n"
    )


def _with_progress(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotates team_count and acknowledged_team_count ("2/3 teams").

    Correlated subqueries rather than a JOIN + GROUP BY: the database computes them for
    the page's rows only, after the LIMIT, not for every campaign matching the filters."""
    stakeholders = Stakeholder.objects.filter(campaign=OuterRef("pk")).order_by()

    def count(rows: QuerySet[Stakeholder]) -> Coalesce:
        counted = rows.values("campaign").annotate(n=Count("pk")).values("n")
        return Coalesce(Subquery(counted), 0)

    return campaigns.annotate(
        team_count=count(stakeholders),
        acknowledged_team_count=count(
            stakeholders.filter(acknowledged_version=OuterRef("version"))
        ),
    )


def _filtered(viewer: Actor, filters: CampaignFilters) -> QuerySet[Campaign]:
    return _filtered_by(rules.visible_q(viewer), filters)


def _filtered_by(visible: Q, filters: CampaignFilters) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.alias(launch_key=launch_sort_key()).filter(visible)
    if filters.query:
        campaigns = campaigns_searched(campaigns, filters.query)
    if filters.status:
        campaigns = campaigns.filter(status=filters.status)
    if filters.channel:
        campaigns = campaigns.filter(channel=filters.channel)
    if filters.mine_for is not None:
        coedited = Campaign.editors.through.objects.filter(
            campaign_id=OuterRef("pk"), user_id=filters.mine_for
        )
        campaigns = campaigns.filter(Q(owner_id=filters.mine_for) | Exists(coedited))
    if filters.team_id is not None:
        told = Stakeholder.objects.filter(campaign_id=OuterRef("pk"), team_id=filters.team_id)
        campaigns = campaigns.filter(Exists(told))
    if filters.owner_id is not None:
        campaigns = campaigns.filter(owner_id=filters.owner_id)
    if filters.updated_since is not None:
        campaigns = campaigns.filter(updated_at__gte=filters.updated_since)
    # Dates are compared on the sort key, so a range is an index range of the same index
    # the page is read in order from. Undated campaigns sort last: "before" excludes them,
    # "from" must say so.
    if filters.launch_from is not None:
        campaigns = campaigns.filter(launch_key__gte=filters.launch_from, launch_at__isnull=False)
    if filters.launch_before is not None:
        campaigns = campaigns.filter(launch_key__lt=filters.launch_before)
    return campaigns


def _list_rows(
    campaigns: QuerySet[Campaign], filters: CampaignFilters, position: _Position | None
) -> QuerySet[Campaign]:
    """`campaigns` in the list's order, from the cursor's position on."""
    forward = position is None or position.forward
    # A previous page is read backwards from its cursor, then put back in display order.
    descending = filters.newest_first == forward
    key = F("launch_key")  # launch_sort_key(), aliased by _filtered
    if position is not None:
        beyond = LessThan if descending else GreaterThan
        cursor_key = RowValue(
            Value(position.launch_at or UNDATED_SORTS_AS, output_field=models.DateTimeField()),
            Value(position.id),
        )
        campaigns = campaigns.filter(beyond(RowValue(key, F("id")), cursor_key))
    if descending:
        return campaigns.order_by(key.desc(), F("id").desc())
    return campaigns.order_by(key.asc(), F("id").asc())


class ListPageArgs(TypedDict):
    """One page of the campaign list, as campaign_list and campaign_list_stamp take it."""

    viewer: Actor
    filters: CampaignFilters
    cursor: str
    page_size: int


def campaign_list_stamp(
    *, viewer: Actor, filters: CampaignFilters, cursor: str = "", page_size: int = 25
) -> list[tuple[int, int]]:
    """What one page of campaign_list shows, as the ids and revisions of its rows (one
    query): it changes whenever the page would (core/pages.py)."""
    position = _cursor_read(cursor, newest_first=filters.newest_first)
    alias = router.db_for_read(Campaign)
    query = _stamp_query(alias, rules.visible_q(viewer), filters, position, page_size + 1)
    return [(pk, revision) for pk, revision in compiled_rows(alias, query)]


@functools.lru_cache(maxsize=1024)
def _stamp_query(
    alias: str, visible: Q, filters: CampaignFilters, position: _Position | None, rows: int
) -> CompiledQuery | None:
    """The stamp's SQL and parameters, compiled once per process for the same inputs; None
    when they can match nothing. The stamp runs on every request for a kept list page (a
    sync job polling the API's list, a reader paging back and forth), and building and
    compiling it through the ORM cost three times what running it did (0.45 ms plus the
    ORM's execution, against 0.2 ms). The key holds everything the SQL is made of: the
    viewer only through the filter the rule book makes of them (rules.visible_q), so a
    rule reading more of the viewer changes the key with it."""
    campaigns = _list_rows(_filtered_by(visible, filters), filters, position)
    return compiled(campaigns.values_list("pk", "revision")[:rows], alias)


def campaign_list(
    *, viewer: Actor, filters: CampaignFilters, cursor: str = "", page_size: int = 25
) -> CampaignPage:
    """One page of the campaigns `viewer` may see, with their acknowledgement progress,
    in one query.

    Keyset pagination on (launch date, id): a cursor names the row a page starts after
    (Next) or ends before (Previous), so page 4,000 costs what page 1 does and rows added
    meanwhile never shift a page. Campaigns without a launch date count as launching at
    the end of time (see models.launch_sort_key): last when the earliest come first,
    first when the latest do. An unreadable cursor gives the first page."""
    position = _cursor_read(cursor, newest_first=filters.newest_first)
    forward = position is None or position.forward
    campaigns = _list_rows(_with_progress(_filtered(viewer, filters)), filters, position)
    rows = list(campaigns[: page_size + 1])  # one extra row says whether there is more
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if not forward:
        rows.reverse()
    # Read forwards, there is a previous page when we came from a cursor; read backwards,
    # there is a next page: the one the cursor came from.
    has_next, has_previous = (has_more, position is not None) if forward else (True, has_more)

    def cursor_at(campaign: Campaign, *, forward: bool) -> str:
        return _cursor_write(campaign, forward=forward, newest_first=filters.newest_first)

    return CampaignPage(
        campaigns=rows,
        next_cursor=cursor_at(rows[-1], forward=True) if rows and has_next else None,
        previous_cursor=cursor_at(rows[0], forward=False) if rows and has_previous else None,
    )


def _stakeholders_prefetch() -> Prefetch[str, QuerySet[Stakeholder]]:
    """Stakeholder teams with their live acknowledgements of the current version and their
    active member count ("2 of 3 members"): two queries, whatever the numbers."""
    acknowledgements = Acknowledgement.objects.filter(
        revoked_at__isnull=True, version=F("stakeholder__campaign__version")
    ).select_related("user")
    return Prefetch(
        "stakeholders",
        queryset=Stakeholder.objects.select_related(
            "team", "acknowledged_by", "not_ready_by", "not_ready_replied_by"
        )
        .annotate(
            member_count=Count(
                "team__memberships", filter=Q(team__memberships__user__is_active=True)
            )
        )
        .prefetch_related(Prefetch("acknowledgements", queryset=acknowledgements))
        .order_by("team__name"),
    )


def _campaign_visible_to(
    viewer: Actor, campaigns: QuerySet[Campaign], campaign_id: int
) -> Campaign:
    campaign = campaigns.filter(pk=campaign_id).first()
    # A campaign that went out is for anyone signed in: only a private one asks the
    # viewer's role (campaigns.rules.visible_q says the same for lists).
    private = campaign is not None and rules.is_private(
        campaign.status, announced=campaign.announced_at is not None
    )
    if campaign is None or not viewer.is_active or (private and not viewer.writes_campaigns):
        raise NotFound(_("This campaign does not exist."))
    return campaign


def campaign_detail(*, viewer: Actor, campaign_id: int) -> Campaign:
    """One campaign with everything its page shows, in a fixed number of queries.
    NotFound for one that does not exist or that `viewer` may not see (a draft, for a
    stakeholder)."""
    # The thread and the timeline are read apart, bounded (feedback_thread,
    # campaign_events): a campaign may gather hundreds of messages and events.
    campaigns = Campaign.objects.select_related("owner", "external_reference").prefetch_related(
        _stakeholders_prefetch(), "kpis", "attachments", "editors"
    )
    return _campaign_visible_to(viewer, campaigns, campaign_id)


def campaign_revision(*, campaign_id: int) -> int | None:
    """The revision of one campaign (see Campaign.revision), None if there is none."""
    return Campaign.objects.filter(pk=campaign_id).values_list("revision", flat=True).first()


def attachment_for(*, viewer: Actor, attachment_id: int) -> Attachment:
    """An attachment of a campaign `viewer` may see; NotFound otherwise (one query)."""
    attachment = (
        Attachment.objects.filter(rules.visible_q(viewer, prefix="campaign__"), pk=attachment_id)
        .select_related("campaign")
        .first()
    )
    if attachment is None:
        raise NotFound(_("This file does not exist."))
    return attachment


@dataclass(frozen=True)
class ActionState:
    """One button as the rule book explains it: shown or not (someone whose role can never
    use it does not see it), enabled or not, and if not, why."""

    allowed: bool
    shown: bool = True
    reason: str = ""
    info: bool = False  # the reason is news ("already announced by…"), not an error

    @classmethod
    def of(cls, decision: Decision) -> "ActionState":
        return cls(
            allowed=decision.allowed,
            shown=decision.shown,
            reason=decision.reason,
            info=decision.info,
        )


# The buttons of the campaign page, by the rule book's action names.
PAGE_ACTIONS = (
    Action.RETRY_DELIVERIES,
    Action.EDIT,
    Action.ANNOUNCE,
    Action.MARK_DONE,
    Action.OVERRIDE_DONE,
    Action.CANCEL,
    Action.POST_FEEDBACK,
    Action.RECORD_RESULTS,
    Action.ATTACH,
    Action.DUPLICATE,
)


def campaign_actions(
    *, campaign: Campaign, viewer: Actor, now: datetime | None = None
) -> dict[str, ActionState]:
    """What `viewer` may do to `campaign` now, button by button: the rule book's answers
    (campaigns.rules), which the services enforce. Expects campaign_detail() or
    campaign_live(); no query of its own."""
    facts = rules.facts_of(campaign)
    now = now or timezone.now()
    return {
        action.value: ActionState.of(rules.decide(action, viewer, facts, now=now))
        for action in PAGE_ACTIONS
    }


def acknowledged_by_person(*, user_id: int, campaign_id: int, version: int) -> bool:
    """Whether this person acknowledged this version of the campaign, for any of their
    teams, withdrawn since or not (one query)."""
    return Acknowledgement.objects.filter(
        user_id=user_id, stakeholder__campaign_id=campaign_id, version=version
    ).exists()


def acknowledge_state(
    *, campaign: Campaign, viewer: Actor, now: datetime | None = None
) -> ActionState:
    """Whether `viewer` may acknowledge `campaign` for their teams now (no query on
    campaign_live() or campaign_detail())."""
    return ActionState.of(
        rules.decide(Action.ACKNOWLEDGE, viewer, rules.facts_of(campaign), now=now)
    )


@dataclass(frozen=True)
class SnoozeState:
    """Whether the viewer may snooze the campaign's reminders, and until when they are."""

    action: ActionState
    until: datetime | None


def snooze_state(*, campaign: Campaign, viewer: Actor, now: datetime | None = None) -> SnoozeState:
    """From campaign_detail(): one query (the viewer's snooze), none for other people."""
    now = now or timezone.now()
    action = ActionState.of(rules.decide(Action.SNOOZE, viewer, rules.facts_of(campaign), now=now))
    until = None
    if viewer.user_id is not None and viewer.team_ids:
        until = (
            ReminderSnooze.objects.filter(
                user_id=viewer.user_id, campaign_id=campaign.pk, until__gt=now
            )
            .values_list("until", flat=True)
            .first()
        )
    return SnoozeState(action=action, until=until)


def not_ready_replies(
    *, campaign: Campaign, viewer: Actor, now: datetime | None = None
) -> dict[int, ActionState]:
    """Per stakeholder team (by team id), whether `viewer` may reply to its "not ready"
    now (from campaign_detail(); no query)."""
    facts = rules.facts_of(campaign)
    return {
        team.team_id: ActionState.of(
            rules.decide(Action.REPLY_NOT_READY, viewer, facts, team_id=team.team_id, now=now)
        )
        for team in facts.teams
    }


def nudge_state(
    *, campaign: Campaign, viewer: Actor, team_id: int, now: datetime | None = None
) -> ActionState:
    """Whether `viewer` may nudge members of one stakeholder team about `campaign` (the
    dashboard's team page); no query on campaign_live() or campaign_detail()."""
    facts = rules.facts_of(campaign)
    return ActionState.of(rules.decide(Action.NUDGE, viewer, facts, team_id=team_id, now=now))


@dataclass(frozen=True)
class MyTeam:
    """One of the viewer's teams among the campaign's stakeholders, and what they can do
    for it: acknowledge (again, where every member must), or withdraw their own."""

    stakeholder: Stakeholder
    mine: bool  # the viewer acknowledged the current version themselves
    acknowledge: ActionState
    withdraw: ActionState
    say_not_ready: ActionState
    # Worth offering the form: not already theirs, and the team still needs someone
    # (or needs every member).
    offer_acknowledge: bool = field(default=False)


def my_teams(*, campaign: Campaign, viewer: Actor, now: datetime | None = None) -> list[MyTeam]:
    """The viewer's stakeholder teams on this campaign (from campaign_detail(); no query)."""
    facts = rules.facts_of(campaign)
    now = now or timezone.now()
    found = []
    for stakeholder in campaign.stakeholders.all():
        if stakeholder.team_id not in viewer.team_ids:
            continue
        team = facts.team(stakeholder.team_id)
        mine = team is not None and viewer.user_id in team.acknowledged_by
        acknowledge = rules.decide(
            Action.ACKNOWLEDGE, viewer, facts, team_id=stakeholder.team_id, now=now
        )
        every_member = stakeholder.team.ack_policy == stakeholder.team.AckPolicy.EVERY_MEMBER
        found.append(
            MyTeam(
                stakeholder=stakeholder,
                mine=mine,
                acknowledge=ActionState.of(acknowledge),
                withdraw=ActionState.of(
                    rules.decide(
                        Action.WITHDRAW, viewer, facts, team_id=stakeholder.team_id, now=now
                    )
                ),
                say_not_ready=ActionState.of(
                    rules.decide(
                        Action.SAY_NOT_READY, viewer, facts, team_id=stakeholder.team_id, now=now
                    )
                ),
                offer_acknowledge=acknowledge.allowed
                and not mine
                and (every_member or not (team and team.acknowledged)),
            )
        )
    return found


# --- the campaign page: live panels, feedback thread, results ------------------------------


def campaign_live(*, viewer: Actor, campaign_id: int) -> Campaign:
    """The part of a campaign that changes while its page is open: status, stakeholder
    teams and who acknowledged. Four queries, whatever the number of teams or people."""
    # The co-editors are read only when the panels are rendered (campaign_actions).
    campaigns = Campaign.objects.select_related("owner").prefetch_related(_stakeholders_prefetch())
    return _campaign_visible_to(viewer, campaigns, campaign_id)


@dataclass(frozen=True)
class FeedbackTally:
    """How many messages of each kind a campaign's thread holds."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0
    question: int = 0
    total: int = 0
    threads: int = 0  # messages that are not replies
    unanswered: int = 0  # questions nobody marked answered yet

    @property
    def reactions(self) -> int:
        return self.positive + self.neutral + self.negative


def feedback_tally(*, campaign_id: int) -> FeedbackTally:
    """Counts per tag, computed by the database in one aggregate query."""
    tag = Feedback.Tag
    counts = Feedback.objects.filter(campaign_id=campaign_id).aggregate(
        positive=Count("pk", filter=Q(tag=tag.POSITIVE)),
        neutral=Count("pk", filter=Q(tag=tag.NEUTRAL)),
        negative=Count("pk", filter=Q(tag=tag.NEGATIVE)),
        question=Count("pk", filter=Q(tag=tag.QUESTION, parent__isnull=True)),
        total=Count("pk"),
        threads=Count("pk", filter=Q(parent__isnull=True)),
        unanswered=Count(
            "pk", filter=Q(tag=tag.QUESTION, parent__isnull=True, answered_at__isnull=True)
        ),
    )
    return FeedbackTally(**counts)


UNANSWERED_SHOWN = 10


def unanswered_questions(*, campaign_id: int, limit: int = UNANSWERED_SHOWN) -> list[Feedback]:
    """The campaign's oldest questions nobody marked answered (one query)."""
    return list(
        Feedback.objects.filter(
            campaign_id=campaign_id,
            tag=Feedback.Tag.QUESTION,
            parent__isnull=True,
            answered_at__isnull=True,
        )
        .select_related("author")
        .order_by("created_at", "id")[:limit]
    )


def questions_waiting_for(*, user_id: int, older_than: datetime | None = None) -> list[Feedback]:
    """Unanswered questions on the campaigns this person owns, still open for talk
    (announced or done), oldest first, at most 50 (one query): their inbox and digest."""
    rows = Feedback.objects.filter(
        campaign__owner_id=user_id,
        campaign__status__in=rules.WENT_OUT,
        tag=Feedback.Tag.QUESTION,
        parent__isnull=True,
        answered_at__isnull=True,
    )
    if older_than is not None:
        rows = rows.filter(created_at__lt=older_than)
    return list(rows.select_related("author", "campaign").order_by("created_at", "id")[:50])


def waiting_questions(user_id: int, older_than: datetime | None) -> list[WaitingQuestion]:
    """questions_waiting_for() as the plain data the inbox and the digest read
    (notifications.subjects)."""
    return [
        WaitingQuestion(
            campaign_id=q.campaign_id,
            campaign_title=q.campaign.title,
            path=f"{q.campaign.get_absolute_url()}#feedback-{q.pk}",
            author_name=q.author.display_name,
            body=q.body,
            asked_at=q.created_at,
        )
        for q in questions_waiting_for(user_id=user_id, older_than=older_than)
    ]


def question_owners(older_than: datetime) -> set[int]:
    """The owners of campaigns open for talk with a question unanswered since before
    `older_than` (one query; notifications.subjects)."""
    return set(
        Feedback.objects.filter(
            campaign__status__in=rules.WENT_OUT,
            tag=Feedback.Tag.QUESTION,
            parent__isnull=True,
            answered_at__isnull=True,
            created_at__lt=older_than,
        ).values_list("campaign__owner_id", flat=True)
    )


# What the campaign page shows of a long thread and a long timeline at first; the rest is
# one click away ("Show the 250 earlier messages", "Show the whole timeline").
THREAD_LATEST = 50
TIMELINE_LATEST = 20


@dataclass(frozen=True)
class Thread:
    messages: list[Feedback]  # oldest first
    earlier: int  # how many older messages are not shown


def feedback_thread(*, campaign_id: int, total: int, latest: int | None = THREAD_LATEST) -> Thread:
    """The thread's latest messages (all with `latest=None`), oldest first, with their
    authors and their replies: two queries on indexes, whatever the thread's length.
    `total` is how many messages are not replies, which the page has from its tally."""
    replies = Feedback.objects.select_related("author").order_by("created_at", "id")
    messages = (
        Feedback.objects.filter(campaign_id=campaign_id, parent__isnull=True)
        .select_related("author", "answered_by")
        .prefetch_related(Prefetch("replies", queryset=replies))
    )
    if latest is None:
        return Thread(messages=list(messages.order_by("created_at", "id")), earlier=0)
    newest = list(messages.order_by("-created_at", "-id")[:latest])
    newest.reverse()
    return Thread(messages=newest, earlier=max(0, total - len(newest)))


@dataclass(frozen=True)
class VersionChanges:
    """What changed from an earlier announced version (`since`) to the current one."""

    since: int
    version: int
    fields: list[FieldChange]
    acknowledged: bool = False  # `since` is the version the reader last acknowledged


def version_changes(*, campaign: Campaign, since: int | None = None) -> VersionChanges | None:
    """What changed since version `since` (by default the previous one) in the current
    version, from the kept content of that version (CampaignVersion): one query, none for
    a first version. None when there is nothing to compare (a first version, or an
    earlier version from before versions were kept) or nothing a reader sees changed."""
    since = campaign.version - 1 if since is None else since
    if not 1 <= since < campaign.version:
        return None
    earlier = CampaignVersion.objects.filter(campaign=campaign, version=since).first()
    if earlier is None:
        return None
    fields = version_diff(content_of(earlier), content_of(campaign))
    return VersionChanges(since=since, version=campaign.version, fields=fields) if fields else None


def changes_for_reader(*, campaign: Campaign, viewer: Actor) -> VersionChanges | None:
    """What changed in the current version for this reader: since the latest version they
    acknowledged when there is one (that is the one they read), otherwise since the
    previous version. One query, none for a first version."""
    if campaign.version <= 1:
        return None
    if viewer.user_id is None or not viewer.team_ids:
        return version_changes(campaign=campaign)
    acknowledged = Acknowledgement.objects.filter(
        stakeholder__campaign=campaign,
        user_id=viewer.user_id,
        version=OuterRef("version"),
        revoked_at__isnull=True,  # a withdrawn acknowledgement is no longer what they read
    )
    # The previous version and those the reader acknowledged: a handful of rows at most.
    rows = list(
        CampaignVersion.objects.filter(campaign=campaign, version__lt=campaign.version)
        .annotate(acknowledged=Exists(acknowledged))
        .filter(Q(version=campaign.version - 1) | Q(acknowledged=True))
        .order_by("-version")
    )
    earlier = next((row for row in rows if row.acknowledged), rows[0] if rows else None)
    if earlier is None:
        return None
    fields = version_diff(content_of(earlier), content_of(campaign))
    if not fields:
        return None
    return VersionChanges(
        since=earlier.version,
        version=campaign.version,
        fields=fields,
        acknowledged=earlier.acknowledged,
    )


@dataclass(frozen=True)
class Timeline:
    events: list[CampaignEvent]  # newest first
    more: bool  # older events are not shown


def campaign_events(*, campaign_id: int, latest: int | None = TIMELINE_LATEST) -> Timeline:
    """The timeline, newest first (the latest `latest` events, or all): one query."""
    events = (
        CampaignEvent.objects.filter(campaign_id=campaign_id)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
    if latest is None:
        return Timeline(events=list(events), more=False)
    rows = list(events[: latest + 1])
    return Timeline(events=rows[:latest], more=len(rows) > latest)


def campaign_live_state(*, campaign: Campaign, tally: FeedbackTally) -> str:
    """A short fingerprint of what the live panels show (expects campaign_live() or
    campaign_detail()). The page sends it back when it polls: the same fingerprint means
    nothing changed, so nothing is re-rendered or swapped."""
    parts: list[object] = [campaign.status, campaign.version, astuple(tally)]
    for s in campaign.stakeholders.all():
        parts.append(
            (
                s.pk,
                s.acknowledged_version,
                s.acknowledged_by_id,
                s.due_at,
                tuple(sorted(a.pk for a in s.acknowledgements.all())),
            )
        )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class KpiResult:
    """One KPI with its actual value as a share of its target, and whether that is good
    news: reaching the target for a higher-is-better figure, staying at or under it for
    a lower-is-better one (unsubscribes at 274 % of their target are bad news)."""

    kpi: Kpi

    @property
    def percent(self) -> int | None:
        if self.kpi.actual is None or not self.kpi.target:
            return None
        return round(100 * self.kpi.actual / self.kpi.target)

    @property
    def bar(self) -> int:
        """The bar's width: the percentage, capped so an overshoot fills it exactly."""
        return min(self.percent or 0, 100)

    @property
    def lower_is_better(self) -> bool:
        return self.kpi.direction == Kpi.Direction.LOWER

    @property
    def met(self) -> bool | None:
        """True on target, False off it, None until both figures are known."""
        if self.kpi.actual is None or self.kpi.target is None:
            return None
        if self.lower_is_better:
            return self.kpi.actual <= self.kpi.target
        return self.kpi.actual >= self.kpi.target

    @property
    def target_shown(self) -> str:
        return kpi_value_format(self.kpi.target, self.kpi.unit)

    @property
    def actual_shown(self) -> str:
        return kpi_value_format(self.kpi.actual, self.kpi.unit)


def kpi_results(*, campaign: Campaign) -> list[KpiResult]:
    """Target against actual for each KPI (from the prefetched kpis; no query)."""
    return [KpiResult(kpi) for kpi in campaign.kpis.all()]


# --- the launch calendar and contact pressure --------------------------------------------

CONTACT_PRESSURE_WINDOW = timedelta(days=3)


def campaign_launches(
    *, viewer: Actor, start: datetime, end: datetime, per_day: int, tz: tzinfo
) -> list[Campaign]:
    """The first `per_day` campaigns `viewer` may see launching each local day (in `tz`)
    of [start, end), cancelled ones included, in launch order; each carries `day_total`,
    how many launch that day in all. One query: the database numbers each day's launches
    (a window function over the (launch_at, id) index range) and returns only the first
    few, so a month with thousands of launches sends a calendar's worth of rows."""
    local_day = TruncDate("launch_at", tzinfo=tz)
    return list(
        Campaign.objects.filter(rules.visible_q(viewer), launch_at__gte=start, launch_at__lt=end)
        .annotate(
            day_rank=Window(
                RowNumber(), partition_by=[local_day], order_by=[F("launch_at"), F("id")]
            ),
            day_total=Window(Count("id"), partition_by=[local_day]),
        )
        .filter(day_rank__lte=per_day)
        .only("id", "title", "channel", "status", "announced_at", "launch_at", "revision")
        .order_by("launch_at", "id")
    )


def campaign_launches_stamp_query(*, viewer: Actor) -> tuple[str, str, list[Any]] | None:
    """What changes a calendar (core/pages.py), as one query (database alias, SQL,
    parameters): the count and sum of the ids of the recent launch changes (see
    campaigns.models.LaunchChange), which any committed change to which campaigns launch
    when, for whom, moves. What the calendar shows of each campaign is followed by their
    revisions, read with it. None for someone who may see nothing.

    One small table whatever the month: the stamp it replaces summed every launch of the
    month shown, a millisecond of a kept calendar's four at 100,000 campaigns. Any
    change, in any month, makes every calendar be rendered again once: a few times an
    hour at a real company, where kept pages last a minute anyway."""
    if not viewer.is_active:
        return None
    table = LaunchChange._meta.db_table
    sql = f"SELECT COUNT(*), COALESCE(SUM(id), 0) FROM {table}"  # noqa: S608 - the model's table
    return router.db_for_read(LaunchChange), sql, []


def campaigns_with_contact_pressure(
    *, viewer: Actor, audience: str, launch_at: datetime, exclude_id: int | None = None
) -> list[Campaign]:
    """Other live campaigns reaching an overlapping audience within three days (before or
    after, bounds included) of `launch_at`, in launch order. One query: the window is
    read from the database, the audiences compared here (see campaigns.audience)."""
    words = audience_words(audience)
    if not words:
        return []
    candidates = (
        Campaign.objects.filter(rules.status_q(rules.REACHES_CUSTOMERS))
        .filter(
            rules.visible_q(viewer),
            launch_at__gte=launch_at - CONTACT_PRESSURE_WINDOW,
            launch_at__lte=launch_at + CONTACT_PRESSURE_WINDOW,
        )
        .only("id", "title", "channel", "status", "audience", "launch_at")
        .order_by("launch_at", "id")
    )
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    return [c for c in candidates if audiences_overlap(words, audience_words(c.audience))]


# --- the announce confirmation ----------------------------------------------------------


@dataclass(frozen=True)
class TeamToTell:
    team: Team
    reach: notification_selectors.Reach
    due_at: datetime


@dataclass(frozen=True)
class AnnouncePreview:
    """What announcing `campaign` now would do: who is told on which channel, by when
    each team must acknowledge, and the campaigns it crowds (contact pressure)."""

    campaign: Campaign
    announce: ActionState
    teams: list[TeamToTell]
    total: notification_selectors.Reach
    clashes: list[Campaign]
    needs_reason: bool  # the launch date is past: "it already went out" must be said


def announce_preview(
    *, viewer: Actor, campaign_id: int, now: datetime | None = None
) -> AnnouncePreview:
    """The announce confirmation, read from the code the announcement itself runs: the
    audience from the outbox's own rules (notifications.selectors.team_event_audience),
    each team's due date from the service's `due_at`, the button from the rule book.
    NotFound as on the campaign page. A fixed number of queries, whatever the teams."""
    # Imported here: campaigns.services imports this module (nudge_occurrence).
    from campaigns.services.common import due_at

    now = now or timezone.now()
    campaign = campaign_detail(viewer=viewer, campaign_id=campaign_id)
    facts = rules.facts_of(campaign)
    decision = ActionState.of(rules.decide(Action.ANNOUNCE, viewer, facts, now=now))
    stakeholders = list(campaign.stakeholders.all())
    audience = notification_selectors.team_event_audience(
        kind=NotificationKind.ANNOUNCED, team_ids=[s.team_id for s in stakeholders]
    )
    teams = [
        TeamToTell(
            team=s.team,
            reach=audience.per_team[s.team_id],
            due_at=due_at(s.team, now=now, launch_at=campaign.launch_at),
        )
        for s in stakeholders
    ]
    clashes: list[Campaign] = []
    if campaign.launch_at is not None and campaign.audience:
        clashes = campaigns_with_contact_pressure(
            viewer=viewer,
            audience=campaign.audience,
            launch_at=campaign.launch_at,
            exclude_id=campaign.pk,
        )
    return AnnouncePreview(
        campaign=campaign,
        announce=decision,
        teams=teams,
        total=audience.total,
        clashes=clashes,
        needs_reason=campaign.launch_at is not None and campaign.launch_at < now,
    )


# --- external references and the CSV import -----------------------------------------------


def campaign_id_by_reference(*, source: str, external_id: str) -> int | None:
    """The campaign a tool knows as `external_id` (one query), None if none is."""
    return (
        ExternalReference.objects.filter(source=source, external_id=external_id)
        .values_list("campaign_id", flat=True)
        .first()
    )


def external_reference_of(campaign: Campaign) -> ExternalReference | None:
    """The campaign's external reference, if any: no query after campaign_detail, which
    joins it."""
    try:
        return campaign.external_reference
    except ExternalReference.DoesNotExist:
        return None


def campaigns_by_reference(*, source: str, external_ids: Collection[str]) -> dict[str, Campaign]:
    """The campaigns `source` knows under these ids, by id, with what the rule book reads
    to decide whether they may be edited (stakeholder teams, co-editors): three queries,
    however many ids. Invisible ones included: the caller decides what to tell."""
    references = (
        ExternalReference.objects.filter(source=source, external_id__in=list(external_ids))
        .select_related("campaign__owner")
        .prefetch_related(
            Prefetch(
                "campaign__stakeholders",
                queryset=Stakeholder.objects.select_related("team").order_by("team__name"),
            ),
            "campaign__editors",
        )
    )
    return {reference.external_id: reference.campaign for reference in references}


def team_names_and_slugs() -> dict[int, tuple[str, str]]:
    """Every team's name and slug by id, for files that name teams (one query)."""
    return {pk: (name, slug) for pk, name, slug in Team.objects.values_list("pk", "name", "slug")}


def channel_default_teams() -> dict[str, list[int]]:
    """Every channel's pre-selected stakeholder teams (one query)."""
    defaults: dict[str, list[int]] = {}
    for channel, team_id in ChannelDefaultTeam.objects.order_by("team__name").values_list(
        "channel", "team_id"
    ):
        defaults.setdefault(channel, []).append(team_id)
    return defaults


# --- the campaign form -------------------------------------------------------------------


def channel_default_team_ids(channel: str) -> list[int]:
    """The teams pre-selected as stakeholders for a campaign on `channel` (one query)."""
    return list(
        ChannelDefaultTeam.objects.filter(channel=channel)
        .order_by("team__name")
        .values_list("team_id", flat=True)
    )


def nudge_occurrence(*, team_id: int, at: datetime) -> str:
    """The nudge part of a reminder's dedupe key: the team and the UTC hour, so one
    person gets at most one nudge per team, campaign version and hour."""
    return f"nudge-{team_id}-{at.astimezone(UTC).strftime('%Y%m%d%H')}"


def nudges_this_hour(
    *, team_id: int, campaign_versions: dict[int, int], user_ids: Sequence[int], now: datetime
) -> dict[tuple[int, int], datetime]:
    """When each (campaign, person) was nudged for this team in the current UTC hour, for
    the campaign's current version: exactly when `stakeholder_nudge` refuses another one."""
    return notification_selectors.first_notified_at(
        kind=NotificationKind.REMINDER,
        occurrence=nudge_occurrence(team_id=team_id, at=now),
        campaign_versions=campaign_versions,
        user_ids=user_ids,
    )


# --- the inbox (notifications.subjects) ---------------------------------------------------


def inbox_states(user: User, campaign_ids: Collection[int]) -> dict[int, SubjectState]:
    """Each campaign's state as the reader's inbox shows it: closed or not, and whether
    one of the reader's teams still owes its current version and may acknowledge it.
    Three queries: the campaigns, the reader's stakeholder rows, their acknowledgements."""
    viewer = Actor.of(user)
    live = Acknowledgement.objects.filter(
        revoked_at__isnull=True, version=F("stakeholder__campaign__version")
    )
    mine = (
        Stakeholder.objects.filter(team_id__in=viewer.team_ids)
        .select_related("team")
        .prefetch_related(Prefetch("acknowledgements", queryset=live))
    )
    campaigns = (
        Campaign.objects.filter(pk__in=list(campaign_ids))
        .only("id", "status", "version", "announced_at", "owner_id", "launch_at")
        .prefetch_related(Prefetch("stakeholders", queryset=mine, to_attr="my_stakeholders"))
    )
    now = timezone.now()
    states = {}
    for campaign in campaigns:
        # The reader's own rows are what these answers read (see feed.selectors).
        facts = rules.facts_of(campaign, stakeholders=campaign.my_stakeholders, editor_ids=())
        decision = rules.decide(Action.ACKNOWLEDGE, viewer, facts, now=now)
        states[campaign.pk] = SubjectState(
            version=campaign.version,
            closed_label=""
            if campaign.phase.awaiting_acknowledgement
            else str(campaign.get_status_display()),
            can_acknowledge=decision.allowed,
            pending=bool(facts.pending_teams),
        )
    return states
