"""Reads about teams and people: who holds a role, the people directory, a team's
members and where their invitations stand."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.backends import ModelBackend
from django.db.models import Case, Count, Q, QuerySet, When

from accounts.models import Invitation, User
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER, MARKETER_PERM


def managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=MANAGER).distinct()


def marketers() -> QuerySet[User]:
    """The co-editors a campaign can have, by name: active people who hold the marketer
    role, directly or by group (a superuser is an administrator, not offered for that
    alone)."""
    with_role = ModelBackend().with_perm(MARKETER_PERM, is_active=True, include_superusers=False)
    return User.objects.filter(pk__in=with_role.values("pk")).order_by("full_name", "email")


# --- the people directory and the team pages ------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    person: User
    is_marketer: bool
    is_manager: bool
    teams: list[tuple[str, str, str]]  # (team name, slug, role)

    @property
    def never_signed_in(self) -> bool:
        return self.person.awaits_first_sign_in


def _role_holders(names: list[str]) -> dict[int, set[str]]:
    held: dict[int, set[str]] = {}
    for user_id, group in User.groups.through.objects.filter(group__name__in=names).values_list(
        "user_id", "group__name"
    ):
        held.setdefault(user_id, set()).add(group)
    return held


def people_rows(people: Iterable[User]) -> list[PersonRow]:
    """Each person with their company roles and their teams (two queries)."""
    people = list(people)
    ids = [p.pk for p in people]
    held = _role_holders([MARKETER, MANAGER])
    teams: dict[int, list[tuple[str, str, str]]] = {}
    for user_id, name, slug, role in (
        Membership.objects.filter(user_id__in=ids)
        .order_by("team__name")
        .values_list("user_id", "team__name", "team__slug", "role")
    ):
        teams.setdefault(user_id, []).append((name, slug, role))
    return [
        PersonRow(
            person=p,
            is_marketer=MARKETER in held.get(p.pk, ()),
            is_manager=MANAGER in held.get(p.pk, ()),
            teams=teams.get(p.pk, []),
        )
        for p in people
    ]


def people_search(*, query: str = "", active: bool = True) -> QuerySet[User]:
    people = User.objects.filter(erased_at__isnull=True, is_active=active)
    for word in query.split()[:5]:
        people = people.filter(Q(full_name__icontains=word) | Q(email__icontains=word))
    return people.order_by("full_name", "email")


def people_with_company_roles() -> list[PersonRow]:
    """Managers and marketers, for the directory's first section."""
    holders = User.objects.filter(
        is_active=True, erased_at__isnull=True, groups__name__in=[MARKETER, MANAGER]
    ).distinct()
    return people_rows(holders.order_by("full_name", "email"))


@dataclass(frozen=True)
class TeamSummary:
    team: Team
    members: int
    leads: list[str]


def team_summaries() -> list[TeamSummary]:
    """Every team with its number of active members and its leads' names (two queries)."""
    teams = Team.objects.annotate(
        active_members=Count("memberships", filter=Q(memberships__user__is_active=True))
    ).order_by("name")
    leads: dict[int, list[str]] = {}
    for team_id, name, email in (
        Membership.objects.filter(role=Membership.Role.LEAD, user__is_active=True)
        .order_by("user__full_name", "user__email")
        .values_list("team_id", "user__full_name", "user__email")
    ):
        leads.setdefault(team_id, []).append(name or email)
    return [TeamSummary(t, t.active_members, leads.get(t.pk, [])) for t in teams]


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    invitation_sent_at: datetime | None
    invitation_pending: bool  # written, not sent yet (or failed: the sweep retries)


def team_members(*, team: Team) -> list[MemberRow]:
    """The team's members, leads first, with where their invitation stands for those who
    never signed in (two queries)."""
    memberships = list(
        Membership.objects.filter(team=team)
        .select_related("user")
        .order_by(
            Case(When(role=Membership.Role.LEAD, then=0), default=1),
            "user__full_name",
            "user__email",
        )
    )
    waiting = [m.user_id for m in memberships if m.user.awaits_first_sign_in]
    latest: dict[int, Invitation] = {}
    for invitation in Invitation.objects.filter(user_id__in=waiting).order_by("created_at"):
        latest[invitation.user_id] = invitation
    rows = []
    for m in memberships:
        found = latest.get(m.user_id)
        rows.append(
            MemberRow(
                membership=m,
                invitation_sent_at=found.sent_at if found else None,
                invitation_pending=found is not None and found.sent_at is None,
            )
        )
    return rows


def teams_by_name() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def team_by_id(team_id: int) -> Team | None:
    return Team.objects.filter(pk=team_id).first()


def memberships_of(user: User) -> QuerySet[Membership]:
    """The person's teams, with their role in each, by team name (one query)."""
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")
