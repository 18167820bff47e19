from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import QuerySet
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.models import User
from core.admin_site import SafeAutocompleteMixin
from core.errors import AccessError, DomainError
from teams.models import Membership


class MembershipInline(SafeAutocompleteMixin, admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0
    autocomplete_fields = ["team"]


class EraseForm(forms.Form):
    remove_text = forms.BooleanField(
        label=gettext_lazy("Also remove their acknowledgement notes and feedback text"),
        required=False,
    )


def _has_history(user: User) -> bool:
    """Whether deleting `user` would be refused because rows point at them with PROTECT
    (acknowledgements, feedback, owned campaigns): Django's own deletion collector says."""
    collector = Collector(using=router.db_for_write(User))
    try:
        collector.collect([user])
    except (ProtectedError, RestrictedError):
        return True
    return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_staff", "last_login", "erased_at"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_staff", "groups"]
    inlines = [MembershipInline]
    actions = ["erase_selected"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (gettext_lazy("Profile"), {"fields": ("full_name", "language", "time_zone")}),
        (
            gettext_lazy("Roles"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined", "erased_at")}),
    )
    readonly_fields = ["erased_at"]
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),
    )

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def get_urls(self) -> list[URLPattern]:
        erase = path(
            "<int:object_id>/erase/",
            self.admin_site.admin_view(self.erase_view),
            name="accounts_user_erase",
        )
        return [erase, *super().get_urls()]

    def erase_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Confirm, then erase one person's personal data (accounts.services.person_erase)."""
        if not self.has_erase_permission(request):
            raise PermissionDenied
        person = get_object_or_404(User, pk=object_id)
        # An unticked box posts nothing: an empty POST is still a confirmation.
        form = EraseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                report = services.person_erase(
                    actor=request.user,  # type: ignore[arg-type]  # admin_view: signed in
                    person=person,
                    remove_text=form.cleaned_data["remove_text"],
                )
            except (DomainError, AccessError) as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                if report.erased:
                    self.message_user(
                        request,
                        _("Personal data erased; the person now appears as “%(name)s”.")
                        % {"name": report.pseudonym},
                        messages.SUCCESS,
                    )
                else:
                    self.message_user(
                        request, _("This person's data was already erased."), messages.INFO
                    )
                return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[person.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase personal data"),
            "opts": self.opts,
            "person": person,
            "form": form,
            "has_history": _has_history(person),
        }
        return TemplateResponse(request, "admin/accounts/user/erase.html", context)

    @admin.action(
        description=gettext_lazy("Erase personal data of selected users (keeps their text)"),
        permissions=["erase"],
    )
    def erase_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        erased = skipped = 0
        for person in queryset.order_by("pk"):
            try:
                report = services.person_erase(
                    actor=request.user,  # type: ignore[arg-type]
                    person=person,
                    remove_text=False,
                )
            except (DomainError, AccessError) as error:
                self.message_user(request, f"{person.pk}: {error}", messages.ERROR)
                continue
            erased += report.erased
            skipped += not report.erased
        self.message_user(
            request,
            _("%(erased)s erased, %(skipped)s already erased.")
            % {"erased": erased, "skipped": skipped},
            messages.SUCCESS,
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Someone who acknowledged, wrote feedback or owns campaigns cannot be deleted
        # (PROTECT keeps those facts true): say what to do instead of Django's list of
        # protected rows.
        person = self.get_object(request, object_id)
        if person is not None and _has_history(person):
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    _(
                        "This person has acknowledgements, feedback or campaigns, which "
                        "must stay true, so they cannot be deleted."
                    ),
                    reverse("admin:accounts_user_erase", args=[person.pk]),
                    _("Erase their personal data instead."),
                ),
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[person.pk]))
        return super().delete_view(request, object_id, extra_context)
