"""Passerelle's admin site: one place for what every admin page must do.

Security fixes (bad query parameters) and the audit trail hook in here rather than
in each ModelAdmin, so a model registered later gets them without remembering to.
"""

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.translation import gettext as _


class PasserelleAdminSite(admin.AdminSite):
    site_header = "Passerelle administration"
    site_title = "Passerelle admin"
    index_title = "Administration"

    def admin_view[V: Callable[..., HttpResponseBase]](self, view: V, cacheable: bool = False) -> V:
        """Every admin view (each ModelAdmin's included: they all come through here)
        refuses an empty `_to_field` with a 400: Django checks a `_to_field` only when it
        is not empty, then looks up a field named "" and fails with a 500. And the
        "invalid lookup" page gets the context its template needs."""

        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                return HttpResponseBadRequest(_("The _to_field parameter cannot be empty."))
            response = view(request, *args, **kwargs)
            if (
                isinstance(response, SimpleTemplateResponse)
                and response.template_name == "admin/invalid_setup.html"
                and response.context_data is not None
            ):
                # A changelist given lookups it cannot use twice (`?e=1`) renders this
                # page with a title only: its base template needs the site's context.
                response.context_data = {**self.each_context(request), **response.context_data}
            return response

        return super().admin_view(cast("V", checked), cacheable)


class PasserelleAdminConfig(AdminConfig):
    default_site = "core.admin_site.PasserelleAdminSite"
