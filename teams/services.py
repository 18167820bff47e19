from django.contrib.auth.models import Group, Permission
from django.db import transaction

from teams.roles import ROLE_PERMISSIONS


def roles_sync(*, using: str = "default") -> None:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    with transaction.atomic(using=using):
        for group_name, perms in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.using(using).get_or_create(name=group_name)
            wanted = []
            for perm in perms:
                app_label, codename = perm.split(".")
                permission = (
                    Permission.objects.using(using)
                    .filter(content_type__app_label=app_label, codename=codename)
                    .first()
                )
                if permission is not None:
                    wanted.append(permission)
            group.permissions.set(wanted)
