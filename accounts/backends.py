"""Django's model backend, with a person's permissions read in one narrow query.

The stock backend reads them in two queries joining four and five tables (the person's
own permissions, then their groups'), on every request that asks a role: the rule book
asks on most pages. Planned afresh each time (Django binds parameters on the client, so
nothing is prepared), the two cost several milliseconds, more than some whole pages. Here
the ids of both sets come from one query over the two link tables, and are named from a
map of the permission table kept per process (its rows change only with migrations; an
id it does not know reloads it).
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db import connections, router
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

_names: dict[int, str] = {}


@receiver(post_save, sender=Permission)
@receiver(post_delete, sender=Permission)
def _permissions_changed(**kwargs: object) -> None:
    global _names
    _names = {}


def _permission_names(ids: set[int]) -> set[str]:
    global _names
    names = _names  # one map for the whole call, whatever another thread rebinds
    if not ids <= names.keys():
        rows = Permission.objects.values_list("pk", "content_type__app_label", "codename")
        # Built whole, then bound: a reader never sees a half-filled map.
        names = _names = {pk: f"{app}.{codename}" for pk, app, codename in rows}
    return {names[pk] for pk in ids if pk in names}


def _permission_ids(user_obj: Any) -> set[int]:
    model = type(user_obj)
    own = model.user_permissions.through._meta.db_table
    groups = model.groups.through._meta.db_table
    group_permissions = Permission.group_set.through._meta.db_table
    sql = (
        f"SELECT permission_id FROM {own} WHERE user_id = %s "  # noqa: S608 - model tables
        f"UNION SELECT gp.permission_id FROM {group_permissions} gp "
        f"JOIN {groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s"
    )
    with connections[router.db_for_read(Permission)].cursor() as cursor:
        cursor.execute(sql, [user_obj.pk, user_obj.pk])
        return {row[0] for row in cursor.fetchall()}


def remember_permissions(user_obj: Any, ids: set[int]) -> None:
    """`user_obj`'s permissions are those with these ids (both their own and their
    groups'), read by a caller in a query it ran anyway (core.pages): the backend then
    needs none. Superusers have every permission whatever their rows say: left alone."""
    if user_obj.is_active and not user_obj.is_superuser:
        user_obj._perm_cache = _permission_names(ids)


class OneQueryModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        cached: set[str] | None = getattr(user_obj, "_perm_cache", None)
        if cached is None:
            if user_obj.is_superuser:
                ids = set(Permission.objects.values_list("pk", flat=True))
            else:
                ids = _permission_ids(user_obj)
            # The attribute the stock backends (allauth's too) read and Django resets.
            cached = user_obj._perm_cache = _permission_names(ids)
        return cached
