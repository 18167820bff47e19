"""Reads for the team drill-down page: what the team owes, who owes it, and its trend.

Every function here runs a fixed number of queries, whatever the number of campaigns
or people.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from accounts.models import User
from campaigns.models import Acknowledgement, Campaign, Stakeholder
from teams.models import Membership, Team

TREND_WEEKS = 12


def team_can_view(*, user: User, team: Team) -> bool:
    """Managers see every team; a lead sees their own team."""
    if not user.is_active:
        return False
    if user.has_perm("campaigns.view_dashboard"):
        return True
    return Membership.objects.filter(team=team, user=user, role=Membership.Role.LEAD).exists()


@dataclass
class PendingAcknowledgement:
    """One announced campaign whose current version the team has not acknowledged."""

    stakeholder: Stakeholder
    campaign: Campaign
    due_at: datetime | None
    is_overdue: bool
    people: list[User] = field(default_factory=list)


def team_pending_acknowledgements(
    *, team: Team, now: datetime | None = None
) -> list[PendingAcknowledgement]:
    """The team's pending and late acknowledgements, most urgent first, each with the
    active members who have not acknowledged the current version (three queries)."""
    now = now or timezone.now()
    version = F("campaign__version")
    stakeholders = list(
        Stakeholder.objects.filter(team=team, campaign__status=Campaign.Status.ANNOUNCED)
        .filter(Q(acknowledged_version__isnull=True) | ~Q(acknowledged_version=version))
        .select_related("campaign")
        .order_by(F("due_at").asc(nulls_last=True), "campaign__launch_at", "pk")
    )
    if not stakeholders:
        return []
    members = [
        membership.user
        for membership in Membership.objects.filter(team=team, user__is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]
    acknowledged = set(
        Acknowledgement.objects.filter(
            stakeholder__in=stakeholders,
            revoked_at__isnull=True,
            version=F("stakeholder__campaign__version"),
        ).values_list("stakeholder_id", "user_id")
    )
    # An any-member team that owes the version has no acknowledgement of it, so every
    # member is listed; an every-member team lists those still missing.
    return [
        PendingAcknowledgement(
            stakeholder=stakeholder,
            campaign=stakeholder.campaign,
            due_at=stakeholder.due_at,
            is_overdue=stakeholder.due_at is not None and stakeholder.due_at <= now,
            people=[m for m in members if (stakeholder.pk, m.pk) not in acknowledged],
        )
        for stakeholder in stakeholders
    ]


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
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def short_label(self) -> str:
        return f"W{self.monday.isocalendar()[1]:02d}"


def team_weekly_trend(
    *, team: Team, now: datetime | None = None, weeks: int = TREND_WEEKS
) -> list[WeekRate]:
    """Per ISO week (in the current time zone) of the last `weeks` weeks, this one
    included: how many of the team's due dates have passed, and how many of those were
    acknowledged (current version) by the due date. Cancelled and draft campaigns do
    not count; due dates still ahead are not judged yet. One query."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    this_monday = timezone.localtime(now, tz).date()
    this_monday -= timedelta(days=this_monday.weekday())
    first_monday = this_monday - timedelta(weeks=weeks - 1)
    start = datetime.combine(first_monday, datetime.min.time(), tzinfo=tz)
    on_time = Q(
        acknowledged_version=F("campaign__version"),
        acknowledged_at__isnull=False,
        acknowledged_at__lte=F("due_at"),
    )
    rows = (
        Stakeholder.objects.filter(
            team=team,
            campaign__status__in=[Campaign.Status.ANNOUNCED, Campaign.Status.DONE],
            due_at__gte=start,
            due_at__lte=now,
        )
        .annotate(week=TruncWeek("due_at", tzinfo=tz))
        .values("week")
        .annotate(due=Count("pk"), on_time=Count("pk", filter=on_time))
        .order_by("week")
    )
    by_week = {_as_date(row["week"]): (row["due"], row["on_time"]) for row in rows}
    result = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        due, done = by_week.get(monday, (0, 0))
        result.append(WeekRate(monday=monday, due=due, on_time=done))
    return result


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
