"""Passerelle's admin site: one place for what every admin page must do.

Security fixes (bad query parameters) and the audit trail hook in here rather than
in each ModelAdmin, so a model registered later gets them without remembering to.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class PasserelleAdminSite(admin.AdminSite):
    site_header = "Passerelle administration"
    site_title = "Passerelle admin"
    index_title = "Administration"

    def register(
        self,
        model_or_iterable: Any,
        admin_class: type[admin.ModelAdmin] | None = None,  # type: ignore[type-arg]
        **options: Any,
    ) -> None:
        # Every add, change and delete made in the admin goes to the audit log.
        from audit.admin_hooks import audited

        super().register(model_or_iterable, audited(admin_class or admin.ModelAdmin), **options)


class PasserelleAdminConfig(AdminConfig):
    default_site = "core.admin_site.PasserelleAdminSite"
