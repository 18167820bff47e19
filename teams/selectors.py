from django.db.models import QuerySet

from accounts.models import User
from teams.models import Membership, Team
from teams.roles import MANAGER


def team_ids_for_user(*, user: User) -> set[int]:
    return set(Membership.objects.filter(user=user).values_list("team_id", flat=True))


def teams_for_user(*, user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user)


def managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=MANAGER).distinct()
