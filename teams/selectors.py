from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from accounts.models import User
from teams.roles import MANAGER, MARKETER_PERM


def managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=MANAGER).distinct()


def marketers() -> QuerySet[User]:
    """Active people who hold the marketer role (directly, by group, or as superusers),
    by name: the co-editors a campaign can have."""
    with_role = ModelBackend().with_perm(MARKETER_PERM, is_active=True, include_superusers=True)
    return User.objects.filter(pk__in=with_role.values("pk")).order_by("full_name", "email")
