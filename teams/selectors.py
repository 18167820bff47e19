from django.contrib.auth.backends import ModelBackend
from django.db.models import QuerySet

from accounts.models import User
from teams.roles import MANAGER, MARKETER_PERM


def managers() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=MANAGER).distinct()


def marketers() -> QuerySet[User]:
    """The co-editors a campaign can have, by name: active people who hold the marketer
    role, directly or by group (a superuser is an administrator, not offered for that
    alone)."""
    with_role = ModelBackend().with_perm(MARKETER_PERM, is_active=True, include_superusers=False)
    return User.objects.filter(pk__in=with_role.values("pk")).order_by("full_name", "email")
