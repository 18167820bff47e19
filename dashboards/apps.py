from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    """Managers' acknowledgement dashboards: reads only, over campaigns and teams."""

    name = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        from dashboards import signals  # noqa: F401 - connects the login receiver
