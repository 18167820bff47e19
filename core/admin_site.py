"""Passerelle's admin site: one place for what every admin page must do.

Security fixes (bad query parameters) and the audit trail hook in here rather than
in each ModelAdmin, so a model registered later gets them without remembering to.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.translation import gettext as _

from core.bounds import BIGINT_MAX


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

        admin_class = bounded_many_to_many(admin_class or admin.ModelAdmin)
        super().register(model_or_iterable, audited(admin_class), **options)

    def admin_view[V: Callable[..., HttpResponseBase]](self, view: V, cacheable: bool = False) -> V:
        """Every admin view (each ModelAdmin's included: they all come through here)
        refuses an empty `_to_field` with a 400: Django checks a `_to_field` only when it
        is not empty, then looks up a field named "" and fails with a 500. And the
        "invalid lookup" page gets the context its template needs."""

        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.GET.get(TO_FIELD_VAR) == "" or request.POST.get(TO_FIELD_VAR) == "":
                return HttpResponseBadRequest(_("The _to_field parameter cannot be empty."))
            # A changelist filters by its query parameters as given (`?channel=…`), and
            # PostgreSQL refuses a NUL character in text: the query failed with a 500.
            if any("\x00" in key or "\x00" in value for key, value in request.GET.items()):
                return HttpResponseBadRequest(_("A query parameter contains a NUL character."))
            # An action's selected rows are filtered by as posted (`pk__in`): one that is
            # no key of the model made that query fail.
            model_admin = getattr(view, "__self__", None)
            if isinstance(model_admin, admin.ModelAdmin) and not all(
                _key_readable_pk(model_admin.model, value)
                for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            ):
                return HttpResponseBadRequest(_("The selected rows could not be read."))
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


def _value_readable(key_field: Any, value: object) -> bool:
    """Whether a query may compare `key_field` with `value`: one that is no key ("abc"),
    or an integer beyond the column's range, makes the query fail rather than find
    nothing."""
    try:
        key = key_field.to_python(value)
    except ValidationError:
        return False
    return not isinstance(key, int) or abs(key) <= BIGINT_MAX


def _key_readable_pk(model: Any, value: object) -> bool:
    return _value_readable(model._meta.pk, value)


def _key_readable(foreign_key: Any, value: object) -> bool:
    """Whether `value` could be a key of the model `foreign_key` points to."""
    if value in (None, ""):
        return True
    target = foreign_key.remote_field.model._meta.get_field(foreign_key.remote_field.field_name)
    return _value_readable(target, value)


class BoundedModelMultipleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    """Django's field for a many-to-many relation, which checks each posted key against
    its queryset and then reads them all in one `IN` query: a key beyond the column's
    range (a 30-digit number) passed the check and failed that query, a 500 instead of
    the form's "not a valid value" error."""

    def _check_values(self, value: Any) -> Any:
        queryset: Any = self.queryset
        meta = queryset.model._meta
        key_field = meta.get_field(self.to_field_name) if self.to_field_name else meta.pk
        for key in value if isinstance(value, list | tuple) else ():
            if not _value_readable(key_field, key):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": key},
                )
        # Django's own check, which the stubs leave out (it is private).
        return super()._check_values(value)  # type: ignore[misc]


class BoundedManyToManyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", BoundedModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def bounded_many_to_many(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:  # type: ignore[type-arg]
    """`admin_class` with its many-to-many fields bounded (itself if it already is)."""
    if issubclass(admin_class, BoundedManyToManyAdmin):
        return admin_class
    return type(
        admin_class.__name__,
        (BoundedManyToManyAdmin, admin_class),
        {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
    )


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, which re-renders a refused form by looking up the
    posted value as it came: a value that is no key ("abc") made that query fail, a 500
    instead of the form with its error. Unreadable values are left out of the lookup."""

    def optgroups(
        self, name: str, value: Sequence[str], attr: dict[str, Any] | None = None
    ) -> list[tuple[str | None, list[dict[str, Any]], int | None]]:
        readable = [v for v in value if _key_readable(self.field, v)]
        return super().optgroups(name, readable, attr)


class SafeAutocompleteMixin:
    """For a ModelAdmin or inline with `autocomplete_fields` on foreign keys."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        admin_self: Any = self
        if "widget" not in kwargs and db_field.name in admin_self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(
                db_field, admin_self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class PasserelleAdminConfig(AdminConfig):
    default_site = "core.admin_site.PasserelleAdminSite"
