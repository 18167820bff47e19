from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles_after_migrate(sender: AppConfig, **kwargs: object) -> None:
    # Permissions only exist after migrate (Django creates them in post_migrate, app by
    # app), so the role groups are synced here rather than in a data migration, after
    # every app: the last run sees every permission.
    from teams.services import roles_sync

    roles_sync(using=str(kwargs.get("using", "default")))


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = _("Teams")

    def ready(self) -> None:
        post_migrate.connect(_sync_roles_after_migrate, dispatch_uid="teams.sync_roles")
