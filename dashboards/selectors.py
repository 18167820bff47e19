"""Dashboard figures, computed by the database.

Every figure is an aggregate over `Stakeholder` rows (one row = one team told about one
campaign), so the number of queries does not grow with campaigns or teams. Durations and
percentiles are the one place where PostgreSQL and SQLite differ; both live here:

- PostgreSQL: `acknowledged_at - campaign.announced_at` is an interval, turned into seconds
  with `EXTRACT(EPOCH FROM …)` and summarised by `percentile_cont` (`PercentileCont`).
- SQLite fallback: SQLite has no `percentile_cont`. The durations come back sorted from
  one `values_list` query and `percentile()` picks the value with the same linear
  interpolation as `percentile_cont`, so both databases give the same figures.
"""

import math
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, Extract, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from campaigns import rules
from campaigns.models import (
    Acknowledgement,
    Campaign,
    CampaignEvent,
    Stakeholder,
    StakeholderQuerySet,
    stakeholder_pending_q,
)
from notifications.models import Notification
from teams.models import Membership, Team
from teams.roles import Actor, Perm

CAMPAIGN_ROWS = 25
TREND_WEEKS = 12
OVERRIDE_ROWS = 10
# Cancelled campaigns never went out: they count nowhere.
COUNTED_STATUSES = rules.WENT_OUT


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: `percentile_cont(0.9) WITHIN GROUP (ORDER BY x)`."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression: object, fraction: float, **extra: Any) -> None:
        fraction = float(fraction)
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        # A float we checked, never user input: safe to write into the SQL.
        super().__init__(expression, fraction=repr(fraction), **extra)


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """`percentile_cont` in Python (the SQLite fallback): linear interpolation between the
    two closest ranks of the sorted values; None when there are none."""
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _uses_percentile_cont() -> bool:
    return connection.vendor == "postgresql"


def _ack_duration() -> ExpressionWrapper[CombinedExpression]:
    return ExpressionWrapper(
        F("acknowledged_at") - F("campaign__announced_at"), output_field=DurationField()
    )


def ack_seconds() -> Extract:
    """Seconds from announcement to the team's acknowledgement (PostgreSQL)."""
    return Extract(_ack_duration(), "epoch")


# --- who sees what ---------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The teams whose figures a person may see: None means every team (managers)."""

    team_ids: frozenset[int] | None

    @property
    def is_everything(self) -> bool:
        return self.team_ids is None


def dashboard_scope(*, user: User | AnonymousUser, actor: Actor | None = None) -> Scope | None:
    """Managers see every team, team leads their own teams, everyone else nothing (None).
    `actor` is the request's own (core.http.actor_of), which may know the person's teams
    already (core.pages.know_reader)."""
    if not user.is_authenticated:
        return None
    if user.has_perm(Perm.VIEW_DASHBOARD):
        return Scope(team_ids=None)
    led = (actor or Actor.of(user)).lead_team_ids
    return Scope(team_ids=led) if led else None


def user_can_view_dashboard(*, user: User | AnonymousUser) -> bool:
    return dashboard_scope(user=user) is not None


def teams_in_scope(*, scope: Scope) -> QuerySet[Team]:
    teams = Team.objects.order_by("name")
    return teams if scope.team_ids is None else teams.filter(pk__in=scope.team_ids)


def campaign_owners() -> QuerySet[User]:
    # EXISTS probes the owner index once per person; a join with DISTINCT would read
    # every campaign.
    owns = Campaign.objects.filter(owner_id=OuterRef("pk"))
    return User.objects.filter(Exists(owns)).order_by("full_name")


# --- the period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in the viewer's time zone; `first` and `last` are the days shown."""

    first: date
    last: date
    tz: tzinfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.tz)


WEEK, FOUR_WEEKS, QUARTER, CUSTOM = "week", "4w", "quarter", "custom"


def period_resolve(
    *, key: str, today: date, tz: tzinfo, first: date | None = None, last: date | None = None
) -> Period:
    """The days a period choice covers, `today` being the viewer's local date."""
    if key == WEEK:
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6), tz)
    if key == QUARTER:
        start_month = 3 * ((today.month - 1) // 3) + 1
        quarter_start = date(today.year, start_month, 1)
        next_month = start_month + 3
        quarter_next = date(today.year + (next_month > 12), (next_month - 1) % 12 + 1, 1)
        return Period(quarter_start, quarter_next - timedelta(days=1), tz)
    if key == CUSTOM and first and last:
        return Period(min(first, last), max(first, last), tz)
    return Period(today - timedelta(days=27), today, tz)


@dataclass(frozen=True)
class DashboardFilters:
    period: Period
    channel: str = ""
    owner_id: int | None = None
    team_id: int | None = None


# --- the figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    announced: int
    launched: int
    fully_acknowledged_before_launch: int
    median_seconds: float | None
    p90_seconds: float | None
    launched_with_uninformed: int
    overdue_now: int
    overrides: int
    # Teams of announced campaigns (any period) whose "not ready" is still open, and
    # since when the oldest of them waits for an answer.
    not_ready_now: int = 0
    not_ready_oldest_at: datetime | None = None

    @property
    def fully_acknowledged_share(self) -> float | None:
        if not self.launched:
            return None
        return self.fully_acknowledged_before_launch / self.launched


@dataclass(frozen=True)
class WeekRate:
    """On-time acknowledgement rate of one ISO week; `rate` is None when nothing was due."""

    monday: date
    due: int
    on_time: int

    @property
    def rate(self) -> int | None:
        return round(100 * self.on_time / self.due) if self.due else None

    @property
    def label(self) -> str:
        year, week, _weekday = self.monday.isocalendar()
        # Translators: an ISO week, "2026-W48"; French writes "2026-S48".
        return gettext("%(year)s-W%(week)02d") % {"year": year, "week": week}

    @property
    def short_label(self) -> str:
        # Translators: a week number on a chart axis, "W48"; French writes "S48".
        return gettext("W%(week)02d") % {"week": self.monday.isocalendar()[1]}


@dataclass
class TeamRow:
    team_id: int
    name: str
    slug: str
    due: int
    on_time: int
    overdue: int
    median_seconds: float | None = None
    # Messages about announced campaigns that never reached the team (see
    # undelivered_q), whatever the period.
    undelivered: int = 0
    # On-time rate of each of the last 12 weeks.
    trend: list[WeekRate] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class TeamProgress:
    name: str
    acknowledged: int
    total: int
    is_acknowledged: bool


@dataclass
class CampaignRow:
    campaign: Campaign
    pending: int
    teams: list[TeamProgress] = field(default_factory=list)
    # Went out before every team acknowledged: only a manager's override can close it.
    launched_uninformed: bool = False


def _acknowledged_q() -> Q:
    """Acknowledged the current version, with the time it was done (for durations)."""
    return Q(acknowledged_version=F("campaign__version"), acknowledged_at__isnull=False)


def _stakeholders(*, scope: Scope, filters: DashboardFilters) -> StakeholderQuerySet:
    """Stakeholder rows the viewer may see, narrowed by the filters but not by the period
    (figures about "now" ignore it; the others add `_in_period()`)."""
    rows = Stakeholder.objects.filter(campaign__status__in=COUNTED_STATUSES)
    if scope.team_ids is not None:
        rows = rows.filter(team_id__in=scope.team_ids)
    if filters.team_id is not None:
        rows = rows.filter(team_id=filters.team_id)
    if filters.channel:
        rows = rows.filter(campaign__channel=filters.channel)
    if filters.owner_id is not None:
        rows = rows.filter(campaign__owner_id=filters.owner_id)
    return rows


def undelivered_q() -> Q:
    """On a stakeholder row: a message about its campaign that failed for good (a bounce,
    a refused address, a webhook gone, retries given up) and was for its team, on the
    team's chat webhook or to a current member, whatever the kind (announced, changed,
    reminder…). The same rows the campaign page lists with "Send again"."""
    return Q(campaign__notifications__status=Notification.Status.FAILED) & (
        Q(campaign__notifications__team_id=F("team_id"))
        | Q(campaign__notifications__recipient__memberships__team_id=F("team_id"))
    )


def _in_period(period: Period) -> Q:
    return Q(campaign__announced_at__gte=period.start, campaign__announced_at__lt=period.end)


def _durations(rows: QuerySet[Stakeholder], *, by_team: bool) -> dict[int | None, list[float]]:
    """The SQLite fallback: sorted durations in seconds, one query, grouped by team."""
    found: dict[int | None, list[float]] = defaultdict(list)
    values = (
        rows.filter(_acknowledged_q())
        .annotate(duration=_ack_duration())
        .order_by(*(("team_id",) if by_team else ()), "duration")
        .values_list("team_id", "duration")
    )
    for team_id, duration in values:
        found[team_id if by_team else None].append(duration.total_seconds())
    return found


def dashboard_headline(
    *,
    scope: Scope,
    filters: DashboardFilters,
    now: datetime,
    teams: Sequence["TeamRow"] | None = None,
) -> Headline:
    """The headline figures, over campaigns announced in the period (cancelled ones aside)
    and, for a team lead, over their own teams' stakeholder rows only.

    - announced: campaigns announced in the period;
    - launched: those whose launch date has passed (`launch_at <= now`);
    - fully acknowledged before launch: launched campaigns where *every* stakeholder team
      has `acknowledged_version == campaign.version` and `acknowledged_at <= launch_at`,
      that is, every team acknowledged the version that went out, before it went out.
      The share is this over `launched`;
    - median / 90th percentile: over stakeholder teams that acknowledged the current
      version, of `acknowledged_at - campaign.announced_at`, in seconds;
    - launched with uninformed teams: launched campaigns with at least one team that has
      not acknowledged the current version;
    - overdue now: stakeholder teams of announced campaigns (any period) whose due date
      has passed and that have not acknowledged the current version;
    - overrides: "marked as done by override" events in the period;
    - not ready now: stakeholder teams of announced campaigns (any period) that said they
      are not ready and have not acknowledged since, and when the oldest said it.

    `teams`, when the caller already has `dashboard_teams` for the same scope, filters and
    time, saves a query: their "overdue now" counts add up to the headline's.
    """
    rows = _stakeholders(scope=scope, filters=filters)
    launched = Q(campaign__launch_at__lte=now)
    not_ok = (
        stakeholder_pending_q()
        | Q(acknowledged_at__isnull=True)
        | Q(acknowledged_at__gt=F("campaign__launch_at"))
    )
    aggregates: dict[str, Aggregate] = {
        "announced": Count("campaign", distinct=True),
        "launched": Count("campaign", distinct=True, filter=launched),
        "launched_not_ok": Count("campaign", distinct=True, filter=launched & not_ok),
        "uninformed": Count("campaign", distinct=True, filter=launched & stakeholder_pending_q()),
    }
    if _uses_percentile_cont():
        aggregates["median"] = PercentileCont(ack_seconds(), 0.5, filter=_acknowledged_q())
        aggregates["p90"] = PercentileCont(ack_seconds(), 0.9, filter=_acknowledged_q())
    # The period narrows the rows in WHERE (an index range on announced_at); "overdue
    # now" ignores the period, so it is a second query rather than an OR that would make
    # PostgreSQL read every stakeholder row.
    in_period = rows.filter(_in_period(filters.period))
    counts = in_period.aggregate(**aggregates)
    objections = rows.filter(
        campaign__status=Campaign.Status.ANNOUNCED, not_ready_at__isnull=False
    ).aggregate(n=Count("pk"), oldest=Min("not_ready_at"))
    if _uses_percentile_cont():
        median, p90 = counts["median"], counts["p90"]
    else:
        durations = _durations(in_period, by_team=False).get(None, [])
        median, p90 = percentile(durations, 0.5), percentile(durations, 0.9)
    return Headline(
        announced=counts["announced"],
        launched=counts["launched"],
        fully_acknowledged_before_launch=counts["launched"] - counts["launched_not_ok"],
        median_seconds=median,
        p90_seconds=p90,
        launched_with_uninformed=counts["uninformed"],
        overdue_now=(
            rows.overdue(now).count() if teams is None else sum(team.overdue for team in teams)
        ),
        overrides=_overrides(scope=scope, filters=filters).count(),
        not_ready_now=objections["n"],
        not_ready_oldest_at=objections["oldest"],
    )


def _overrides(*, scope: Scope, filters: DashboardFilters) -> QuerySet[CampaignEvent]:
    period = filters.period
    events = CampaignEvent.objects.filter(
        kind=CampaignEvent.Kind.DONE_OVERRIDDEN,
        created_at__gte=period.start,
        created_at__lt=period.end,
    )
    if filters.channel:
        events = events.filter(campaign__channel=filters.channel)
    if filters.owner_id is not None:
        events = events.filter(campaign__owner_id=filters.owner_id)
    # Scope and team filter both narrow, as in _stakeholders: the form limiting a lead's
    # choices is not what keeps other teams' overrides from them.
    teams = Stakeholder.objects.all()
    if scope.team_ids is not None:
        teams = teams.filter(team_id__in=scope.team_ids)
    if filters.team_id is not None:
        teams = teams.filter(team_id=filters.team_id)
    if scope.team_ids is not None or filters.team_id is not None:
        events = events.filter(campaign__in=teams.values("campaign_id"))
    return events


@dataclass(frozen=True)
class OverviewFigures:
    """Everything the overview shows, as plain values (kept in the cache, see
    dashboards.cache)."""

    headline: "Headline"
    teams: list["TeamRow"]
    overrides: list[CampaignEvent]
    campaigns: list["CampaignRow"]


def dashboard_overview(
    *, scope: Scope, filters: DashboardFilters, now: datetime
) -> OverviewFigures:
    """The overview's figures: the teams, the headline (which reuses the teams' counts),
    the latest overrides and the riskiest campaigns. A fixed number of queries."""
    teams = dashboard_teams(scope=scope, filters=filters, now=now)
    return OverviewFigures(
        headline=dashboard_headline(scope=scope, filters=filters, now=now, teams=teams),
        teams=teams,
        overrides=dashboard_overrides(scope=scope, filters=filters),
        campaigns=dashboard_campaigns(scope=scope, filters=filters, now=now),
    )


def overview_cache_key(*, scope: Scope, filters: DashboardFilters) -> tuple[object, ...]:
    """What the overview's figures depend on, besides the data and the time."""
    period = filters.period
    teams = "all" if scope.team_ids is None else tuple(sorted(scope.team_ids))
    return (
        "overview",
        teams,
        period.first.isoformat(),
        period.last.isoformat(),
        str(period.tz),
        filters.channel,
        filters.owner_id,
        filters.team_id,
    )


def dashboard_overrides(
    *, scope: Scope, filters: DashboardFilters, limit: int = OVERRIDE_ROWS
) -> list[CampaignEvent]:
    """The latest "done by override" events of the period, with their campaign, who
    overrode and (in `details["reason"]`) why: overrides are a smell worth reading."""
    return list(
        _overrides(scope=scope, filters=filters)
        .select_related("campaign", "actor")
        .order_by("-created_at", "-id")[:limit]
    )


def dashboard_teams(*, scope: Scope, filters: DashboardFilters, now: datetime) -> list[TeamRow]:
    """Per team, over campaigns announced in the period: how many were due (the due date
    passed, or the team acknowledged), how many acknowledged on time
    (`acknowledged_at <= due_at`, current version), the median time to acknowledge; and,
    whatever the period, how many acknowledgements are overdue now, how many messages
    about announced campaigns never reached the team (`undelivered_q`), and the on-time
    rate of each of the last 12 weeks (by due date). Four queries, whatever the teams."""
    rows = _stakeholders(scope=scope, filters=filters)
    acknowledged = _acknowledged_q()
    aggregates: dict[str, Aggregate] = {
        "due": Count("pk", filter=Q(due_at__lte=now) | acknowledged),
        "on_time": Count("pk", filter=acknowledged & Q(acknowledged_at__lte=F("due_at"))),
    }
    if _uses_percentile_cont():
        aggregates["median"] = PercentileCont(ack_seconds(), 0.5, filter=acknowledged)
    in_period = rows.filter(_in_period(filters.period))
    columns = ("team_id", "team__name", "team__slug")
    grouped = in_period.values(*columns).annotate(**aggregates).order_by()
    # As in the headline, "overdue now" is its own query so each one keeps its index.
    overdue = rows.overdue(now).values(*columns).annotate(n=Count("pk")).order_by()
    # One Q, one filter(): the notification join is the one Count reads. PostgreSQL
    # reaches the failed rows of each announced campaign through the outbox's
    # (campaign, status) index, never the whole outbox.
    undelivered = (
        rows.filter(rules.status_q(rules.AWAITING, "campaign__"))
        .filter(undelivered_q())
        .values(*columns)
        .annotate(n=Count("campaign__notifications", distinct=True))
        .order_by()
    )
    teams: dict[int, TeamRow] = {}
    for g in grouped:
        teams[g["team_id"]] = TeamRow(
            team_id=g["team_id"],
            name=g["team__name"],
            slug=g["team__slug"],
            due=g["due"],
            on_time=g["on_time"],
            overdue=0,
            median_seconds=g.get("median"),
        )
    for g in overdue:
        team = teams.setdefault(
            g["team_id"],
            TeamRow(g["team_id"], g["team__name"], g["team__slug"], due=0, on_time=0, overdue=0),
        )
        team.overdue = g["n"]
    for g in undelivered:
        team = teams.setdefault(
            g["team_id"],
            TeamRow(g["team_id"], g["team__name"], g["team__slug"], due=0, on_time=0, overdue=0),
        )
        team.undelivered = g["n"]
    if not _uses_percentile_cont():
        durations = _durations(in_period, by_team=True)
        for team in teams.values():
            team.median_seconds = percentile(durations.get(team.team_id, []), 0.5)
    trends = weekly_on_time_by_team(rows, now=now)
    for team in teams.values():
        team.trend = trends.get(team.team_id) or empty_weeks(now=now)
    return sorted(teams.values(), key=lambda team: (_sort_name(team.name), team.team_id))


def _sort_name(name: str) -> str:
    """ "Équipe" next to "Equipe", not after "Z"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def dashboard_campaigns(
    *, scope: Scope, filters: DashboardFilters, now: datetime, limit: int | None = CAMPAIGN_ROWS
) -> list[CampaignRow]:
    """Announced campaigns (whatever the period: this is today's risk) with a progress bar
    per visible team, riskiest first: campaigns with teams pending before the others,
    then the soonest launch first.

    A team with the "any member" policy counts 0 or 1 of 1; an "every member" team counts
    its members who acknowledged the current version out of its members."""
    rows = _stakeholders(scope=scope, filters=filters)
    visible = rows.filter(rules.status_q(rules.AWAITING, "campaign__"))
    live_acks = Acknowledgement.objects.filter(
        stakeholder_id=OuterRef("pk"),
        version=OuterRef("campaign__version"),
        revoked_at__isnull=True,
    )

    def people_count(rows: QuerySet[Acknowledgement]) -> QuerySet[Any, Any]:
        return (
            rows.order_by()
            .values("stakeholder_id")
            .annotate(n=Count("user_id", distinct=True))
            .values("n")
        )

    # Correlated EXISTS rather than a join and a COUNT: PostgreSQL probes the stakeholder
    # index once per announced campaign and stops at the first row.
    own_rows = visible.filter(campaign_id=OuterRef("pk"))
    campaigns = list(
        Campaign.objects.filter(Exists(own_rows))
        .only("id", "title", "channel", "launch_at", "version", "status")
        .alias(has_pending=Exists(own_rows.pending()))
        .order_by(F("has_pending").desc(), "launch_at", "id")[:limit]
    )
    # The bars as plain values, one query: thousands of them for the CSV export, where
    # model instances would cost more than the query.
    progress_rows = visible if limit is None else visible.filter(campaign__in=campaigns)
    # Active members only, as the service counts them for the "every member" policy; per
    # team, so once for all the bars.
    members = dict(
        Membership.objects.filter(
            user__is_active=True, team__ack_policy=Team.AckPolicy.EVERY_MEMBER
        )
        .values_list("team_id")
        .annotate(n=Count("pk"))
        .order_by()
    )

    # Counted only for "every member" teams: the others show 0 or 1 of 1.
    def every_member(count: QuerySet[Any, Any]) -> Case:
        return Case(
            When(
                team__ack_policy=Team.AckPolicy.EVERY_MEMBER,
                then=Coalesce(Subquery(count, output_field=IntegerField()), 0),
            ),
            default=Value(0),
        )

    # Someone who acknowledged and has left since (deactivated, or erased: docs/PRIVACY.md)
    # still counts, in the bar's total as in its acknowledged part: the fact stays.
    acknowledgers = people_count(live_acks)
    departed = people_count(live_acks.filter(user__is_active=False))
    bars_by_campaign: dict[int, list[TeamProgress]] = defaultdict(list)
    for campaign_id, team_id, name, policy, acknowledged_version, version, n_acks, n_gone in (
        progress_rows.annotate(
            acknowledgers=every_member(acknowledgers), departed=every_member(departed)
        )
        .order_by("team__name")
        .values_list(
            "campaign_id",
            "team_id",
            "team__name",
            "team__ack_policy",
            "acknowledged_version",
            "campaign__version",
            "acknowledgers",
            "departed",
        )
    ):
        done = acknowledged_version == version
        n_members = members.get(team_id, 0) + n_gone
        if policy == Team.AckPolicy.EVERY_MEMBER and n_members:
            total, acknowledged = n_members, (n_members if done else min(n_acks, n_members))
        else:
            total, acknowledged = 1, int(done)
        bars_by_campaign[campaign_id].append(TeamProgress(name, acknowledged, total, done))
    result = []
    for campaign in campaigns:
        bars = bars_by_campaign[campaign.pk]
        pending = sum(not bar.is_acknowledged for bar in bars)
        result.append(
            CampaignRow(
                campaign=campaign,
                pending=pending,
                teams=bars,
                # Announced campaigns always have a launch date (a check constraint).
                launched_uninformed=bool(pending)
                and campaign.launch_at is not None
                and campaign.launch_at <= now,
            )
        )
    return result


# --- weekly trends ---------------------------------------------------------------------


def weekly_on_time_by_team(
    rows: QuerySet[Stakeholder], *, now: datetime | None = None, weeks: int = TREND_WEEKS
) -> dict[int, list[WeekRate]]:
    """Per team among `rows` and per ISO week (in the current time zone) of the last
    `weeks` weeks, this one included: how many due dates have passed, and how many of
    those the team met (current version acknowledged by the due date). Cancelled and
    draft campaigns do not count; due dates still ahead are not judged yet. One query
    grouped by team and week, whatever the number of teams; teams with nothing due get
    no entry."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    mondays = _mondays(now=now, weeks=weeks)
    start = datetime.combine(mondays[0], datetime.min.time(), tzinfo=tz)
    on_time = Q(
        acknowledged_version=F("campaign__version"),
        acknowledged_at__isnull=False,
        acknowledged_at__lte=F("due_at"),
    )
    grouped = (
        rows.filter(
            campaign__status__in=COUNTED_STATUSES,
            due_at__gte=start,
            due_at__lte=now,
        )
        .annotate(week=TruncWeek("due_at", tzinfo=tz))
        .values("team_id", "week")
        .annotate(due=Count("pk"), on_time=Count("pk", filter=on_time))
        .order_by()
    )
    found: dict[int, dict[date, WeekRate]] = {}
    for row in grouped:
        monday = _as_date(row["week"])
        found.setdefault(row["team_id"], {})[monday] = WeekRate(
            monday=monday, due=row["due"], on_time=row["on_time"]
        )
    return {
        team_id: [by_week.get(monday, WeekRate(monday, 0, 0)) for monday in mondays]
        for team_id, by_week in found.items()
    }


def _mondays(*, now: datetime, weeks: int) -> list[date]:
    this_monday = timezone.localtime(now, timezone.get_current_timezone()).date()
    this_monday -= timedelta(days=this_monday.weekday())
    return [this_monday - timedelta(weeks=weeks - 1 - index) for index in range(weeks)]


def empty_weeks(*, now: datetime | None, weeks: int = TREND_WEEKS) -> list[WeekRate]:
    """The last `weeks` weeks with nothing due, for a team without history."""
    mondays = _mondays(now=now or timezone.now(), weeks=weeks)
    return [WeekRate(monday=monday, due=0, on_time=0) for monday in mondays]


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
