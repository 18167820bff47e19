"""Reads of the campaign domain; each keeps a constant number of queries."""

import hashlib
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime, timedelta

from django.core import signing
from django.db import models
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan, LessThan
from django.utils import timezone

from accounts.models import User
from campaigns.audience import audience_words, audiences_overlap
from campaigns.models import (
    UNDATED_SORTS_AS,
    Acknowledgement,
    Campaign,
    CampaignEvent,
    ChannelDefaultTeam,
    Feedback,
    Kpi,
    Stakeholder,
    launch_sort_key,
)
from core.db import RowValue
from notifications import selectors as notification_selectors
from notifications.models import Kind as NotificationKind
from teams.models import Membership, Team

Status = Campaign.Status


# --- the campaign list: filters and keyset pages -----------------------------------------

CURSOR_SALT = "campaigns.list.cursor"


@dataclass(frozen=True)
class CampaignFilters:
    """What the list is narrowed to; plain values, parsed by campaigns.filters."""

    query: str = ""
    status: str = ""
    channel: str = ""
    owner_id: int | None = None
    launch_from: datetime | None = None  # inclusive
    launch_before: datetime | None = None  # exclusive
    newest_first: bool = True


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


def _cursor_write(campaign: Campaign, *, forward: bool, newest_first: bool) -> str:
    launch = campaign.launch_at.isoformat() if campaign.launch_at else None
    return signing.dumps(
        [launch, campaign.pk, "n" if forward else "p", "d" if newest_first else "a"],
        salt=CURSOR_SALT,
    )


def _cursor_read(token: str, *, newest_first: bool) -> _Position | None:
    """The position a cursor points at, or None (first page) for anything unreadable,
    tampered with, or made for the other sort order."""
    if not token:
        return None
    try:
        launch, pk, direction, order = signing.loads(token, salt=CURSOR_SALT)
        position = _Position(
            launch_at=datetime.fromisoformat(launch) if launch is not None else None,
            id=int(pk),
            forward=direction == "n",
        )
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if (
        direction not in ("n", "p")
        or order != ("d" if newest_first else "a")
        or (position.launch_at is not None and position.launch_at.tzinfo is None)
    ):
        return None
    return position


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


def _filtered(filters: CampaignFilters) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.alias(launch_key=launch_sort_key())
    if filters.query:
        campaigns = campaigns.filter(title__icontains=filters.query)
    if filters.status:
        campaigns = campaigns.filter(status=filters.status)
    if filters.channel:
        campaigns = campaigns.filter(channel=filters.channel)
    if filters.owner_id is not None:
        campaigns = campaigns.filter(owner_id=filters.owner_id)
    # Dates are compared on the sort key, so a range is an index range of the same index
    # the page is read in order from. Undated campaigns sort last: "before" excludes them,
    # "from" must say so.
    if filters.launch_from is not None:
        campaigns = campaigns.filter(launch_key__gte=filters.launch_from, launch_at__isnull=False)
    if filters.launch_before is not None:
        campaigns = campaigns.filter(launch_key__lt=filters.launch_before)
    return campaigns


def campaign_list(
    *, filters: CampaignFilters, cursor: str = "", page_size: int = 25
) -> CampaignPage:
    """One page of campaigns, with their acknowledgement progress, in one query.

    Keyset pagination on (launch date, id): a cursor names the row a page starts after
    (Next) or ends before (Previous), so page 4,000 costs what page 1 does and rows added
    meanwhile never shift a page. Campaigns without a launch date count as launching at
    the end of time (see models.launch_sort_key): last when the earliest come first,
    first when the latest do. An unreadable cursor gives the first page."""
    position = _cursor_read(cursor, newest_first=filters.newest_first)
    forward = position is None or position.forward
    # A previous page is read backwards from its cursor, then put back in display order.
    descending = filters.newest_first == forward
    campaigns = _with_progress(_filtered(filters))
    key = F("launch_key")  # launch_sort_key(), aliased by _filtered
    if position is not None:
        beyond = LessThan if descending else GreaterThan
        cursor_key = RowValue(
            Value(position.launch_at or UNDATED_SORTS_AS, output_field=models.DateTimeField()),
            Value(position.id),
        )
        campaigns = campaigns.filter(beyond(RowValue(key, F("id")), cursor_key))
    if descending:
        campaigns = campaigns.order_by(key.desc(), F("id").desc())
    else:
        campaigns = campaigns.order_by(key.asc(), F("id").asc())

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


def _stakeholders_prefetch() -> Prefetch:
    """Stakeholder teams with their live acknowledgements of the current version and their
    active member count ("2 of 3 members"): two queries, whatever the numbers."""
    acknowledgements = Acknowledgement.objects.filter(
        revoked_at__isnull=True, version=F("stakeholder__campaign__version")
    ).select_related("user")
    return Prefetch(
        "stakeholders",
        queryset=Stakeholder.objects.select_related("team", "acknowledged_by")
        .annotate(
            member_count=Count(
                "team__memberships", filter=Q(team__memberships__user__is_active=True)
            )
        )
        .prefetch_related(Prefetch("acknowledgements", queryset=acknowledgements))
        .order_by("team__name"),
    )


def campaign_detail(*, campaign_id: int) -> Campaign:
    """One campaign with everything its page shows, in a fixed number of queries."""
    return (
        Campaign.objects.select_related("owner")
        .prefetch_related(
            _stakeholders_prefetch(),
            Prefetch(
                "events",
                queryset=CampaignEvent.objects.select_related("actor").order_by(
                    "-created_at", "-id"
                ),
            ),
            "kpis",
            "attachments",
            Prefetch("feedback", queryset=Feedback.objects.select_related("author")),
        )
        .get(pk=campaign_id)
    )


@dataclass(frozen=True)
class ActionState:
    """Whether a button may be used, and if not, why (shown beside the disabled button)."""

    allowed: bool
    reason: str = ""


def campaign_actions(*, campaign: Campaign, user: User) -> dict[str, ActionState]:
    """What `user` may do to `campaign` now. Mirrors the rules in services, which still
    enforce them: this only explains a disabled button. Expects campaign_detail()."""
    from django.utils.translation import gettext as _

    status = campaign.status
    stakeholders = list(campaign.stakeholders.all())
    pending = [s.team.name for s in stakeholders if s.acknowledged_version != campaign.version]
    actions: dict[str, ActionState] = {}

    def state(perm: str, ok_status: set[str], extra_reason: str = "") -> ActionState:
        if not user.has_perm(perm):
            return ActionState(False, _("Your role does not allow this."))
        if status not in ok_status:
            return ActionState(
                False,
                _("Not possible for a %(status)s campaign.")
                % {"status": campaign.get_status_display().lower()},
            )
        if extra_reason:
            return ActionState(False, extra_reason)
        return ActionState(True)

    announce_reason = ""
    if not stakeholders:
        announce_reason = _("Add at least one stakeholder team first.")
    elif campaign.launch_at is None:
        announce_reason = _("Set a launch date first.")
    actions["edit"] = state("campaigns.change_campaign", {Status.DRAFT, Status.ANNOUNCED})
    actions["announce"] = state("campaigns.announce_campaign", {Status.DRAFT}, announce_reason)
    actions["mark_done"] = state(
        "campaigns.close_campaign",
        {Status.ANNOUNCED},
        _("Waiting for %(teams)s") % {"teams": ", ".join(pending)} if pending else "",
    )
    actions["override_done"] = state(
        "campaigns.override_done_campaign",
        {Status.ANNOUNCED},
        _("Every team has acknowledged: use Mark as done.") if not pending else "",
    )
    actions["cancel"] = state("campaigns.close_campaign", {Status.DRAFT, Status.ANNOUNCED})
    launched = campaign.launch_at is not None and campaign.launch_at <= timezone.now()
    actions["record_results"] = state(
        "campaigns.change_campaign",
        {Status.ANNOUNCED, Status.DONE},
        "" if launched else _("Results can be recorded once the campaign has launched."),
    )
    if campaign.status == Status.DRAFT:
        actions["post_feedback"] = ActionState(
            False, _("Messages can be posted once the campaign is announced.")
        )
    elif campaign.status == Status.CANCELLED:
        actions["post_feedback"] = ActionState(
            False, _("This campaign was cancelled: its thread is closed.")
        )
    else:
        actions["post_feedback"] = ActionState(True)
    return actions


def stakeholders_for_user(*, campaign: Campaign, user: User) -> list[Stakeholder]:
    """The campaign's stakeholder rows of teams the user belongs to (from campaign_detail)."""
    team_ids = set(Membership.objects.filter(user=user).values_list("team_id", flat=True))
    return [s for s in campaign.stakeholders.all() if s.team_id in team_ids]


def user_acknowledged(*, stakeholder: Stakeholder, user: User, version: int) -> bool:
    return any(
        a.user_id == user.pk and a.version == version for a in stakeholder.acknowledgements.all()
    )


def teams_for_form() -> QuerySet[Team]:
    return Team.objects.order_by("name")


# --- the campaign page: live panels, feedback thread, results ------------------------------


def campaign_live(*, campaign_id: int) -> Campaign:
    """The part of a campaign that changes while its page is open: status, stakeholder
    teams and who acknowledged. Three queries, whatever the number of teams or people."""
    return (
        Campaign.objects.select_related("owner")
        .prefetch_related(_stakeholders_prefetch())
        .get(pk=campaign_id)
    )


@dataclass(frozen=True)
class FeedbackTally:
    """How many messages of each kind a campaign's thread holds."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0
    question: int = 0
    total: int = 0

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
        question=Count("pk", filter=Q(tag=tag.QUESTION)),
        total=Count("pk"),
    )
    return FeedbackTally(**counts)


def feedback_thread(*, campaign_id: int) -> QuerySet[Feedback]:
    """The thread's messages, oldest first, with their authors (one query)."""
    return (
        Feedback.objects.filter(campaign_id=campaign_id)
        .select_related("author")
        .order_by("created_at", "id")
    )


def campaign_events(*, campaign_id: int) -> QuerySet[CampaignEvent]:
    """The timeline, newest first, as campaign_detail prefetches it (one query)."""
    return (
        CampaignEvent.objects.filter(campaign_id=campaign_id)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )


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
    """One KPI with its actual value as a share of its target."""

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


def kpi_results(*, campaign: Campaign) -> list[KpiResult]:
    """Target against actual for each KPI (from the prefetched kpis; no query)."""
    return [KpiResult(kpi) for kpi in campaign.kpis.all()]


# --- the launch calendar and contact pressure --------------------------------------------

CONTACT_PRESSURE_WINDOW = timedelta(days=3)


def campaign_launches(*, start: datetime, end: datetime) -> list[Campaign]:
    """Campaigns launching in [start, end), cancelled ones included, in launch order.
    One query on the (launch_at, id) index."""
    return list(
        Campaign.objects.filter(launch_at__gte=start, launch_at__lt=end)
        .only("id", "title", "channel", "status", "launch_at")
        .order_by("launch_at", "id")
    )


def campaigns_with_contact_pressure(
    *, audience: str, launch_at: datetime, exclude_id: int | None = None
) -> list[Campaign]:
    """Other live campaigns reaching an overlapping audience within three days (before or
    after, bounds included) of `launch_at`, in launch order. One query: the window is
    read from the database, the audiences compared here (see campaigns.audience)."""
    words = audience_words(audience)
    if not words:
        return []
    candidates = (
        Campaign.objects.exclude(status=Status.CANCELLED)
        .filter(
            launch_at__gte=launch_at - CONTACT_PRESSURE_WINDOW,
            launch_at__lte=launch_at + CONTACT_PRESSURE_WINDOW,
        )
        .only("id", "title", "channel", "status", "audience", "launch_at")
        .order_by("launch_at", "id")
    )
    if exclude_id is not None:
        candidates = candidates.exclude(pk=exclude_id)
    return [c for c in candidates if audiences_overlap(words, audience_words(c.audience))]


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
