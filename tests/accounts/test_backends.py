"""Permissions read in one query (accounts.backends): the same answers as Django's own
model backend, for every way a person holds a permission."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

from accounts.backends import OneQueryModelBackend
from accounts.models import User
from teams.roles import MANAGER_PERM, MARKETER_PERM
from tests.factories import UserFactory, make_manager, make_marketer

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no permission cache yet


def _people() -> dict[str, User]:
    own = UserFactory()
    own.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    both = make_marketer()
    both.user_permissions.add(Permission.objects.get(codename="override_done_campaign"))
    return {
        "nobody special": UserFactory(),
        "a permission of their own": own,
        "a marketer (group)": make_marketer(),
        "a manager (group)": make_manager(),
        "group and own": both,
        "superuser": UserFactory(is_superuser=True),
        "inactive marketer": make_marketer(is_active=False),
    }


def test_the_same_permissions_as_djangos_backend():
    for what, person in _people().items():
        expected = ModelBackend().get_all_permissions(_fresh(person))
        assert OneQueryModelBackend().get_all_permissions(_fresh(person)) == expected, what


def test_roles_read_in_one_query(django_assert_num_queries):
    marketer = _fresh(make_marketer())
    OneQueryModelBackend().get_all_permissions(_fresh(make_manager()))  # names loaded
    with django_assert_num_queries(1):
        assert marketer.has_perm(MARKETER_PERM)
        assert not marketer.has_perm(MANAGER_PERM)


def test_a_permission_created_later_is_named():
    person = UserFactory()
    OneQueryModelBackend().get_all_permissions(_fresh(person))
    new = Permission.objects.create(
        codename="export_everything",
        name="Can export everything",
        content_type=ContentType.objects.get_for_model(User),
    )
    group = Group.objects.create(name="Exporters")
    group.permissions.add(new)
    person.groups.add(group)
    assert _fresh(person).has_perm("accounts.export_everything")
