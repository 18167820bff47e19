from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from core.admin_site import SafeAutocompleteMixin
from notifications.services import team_webhook_repaired
from teams.models import WORKING_CALENDAR_FIELDS, Membership, Team
from teams.validators import available_time_zones


def _admin_user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class MembershipInline(SafeAutocompleteMixin, admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class WebhookBrokenFilter(admin.SimpleListFilter):
    title = _("chat webhook")
    parameter_name = "webhook"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Team]
    ) -> list[tuple[str, str]]:
        return [("broken", str(_("Broken"))), ("working", str(_("Working")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Team]) -> QuerySet[Team]:
        if self.value() == "broken":
            return queryset.filter(webhook_broken_at__isnull=False)
        if self.value() == "working":
            return queryset.exclude(webhook_url="").filter(webhook_broken_at__isnull=True)
        return queryset


WEEKDAY_CHOICES = [
    ("1", _("Monday")),
    ("2", _("Tuesday")),
    ("3", _("Wednesday")),
    ("4", _("Thursday")),
    ("5", _("Friday")),
    ("6", _("Saturday")),
    ("7", _("Sunday")),
]


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_time_zones())]


class TeamAdminForm(forms.ModelForm[Team]):
    """Working days as checkboxes and the time zone as a list; the model stores the days
    as ISO weekday digits ("12345") and validates both again."""

    working_days = forms.MultipleChoiceField(
        label=capfirst(Team._meta.get_field("working_days").verbose_name),
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=list(Team._meta.get_field("working_days").default),
    )
    time_zone = forms.ChoiceField(
        label=capfirst(Team._meta.get_field("time_zone").verbose_name),
        choices=_time_zone_choices,
        initial=Team._meta.get_field("time_zone").default,
    )

    class Meta:
        model = Team
        # The admin's fieldsets pick the fields; these are the ones it may edit.
        fields = [
            "name",
            "slug",
            "kind",
            "ack_policy",
            "ack_deadline_hours",
            "reminder_hours_before",
            *WORKING_CALENDAR_FIELDS,
            "webhook_url",
            "webhook_format",
            "language",
        ]
        # Plain inputs: the admin's clock widget adds a note about the *server's* time
        # zone, while these hours are in the team's.
        widgets = {
            "work_starts_at": forms.TimeInput(format="%H:%M"),
            "work_ends_at": forms.TimeInput(format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].help_text = Team._meta.get_field("time_zone").help_text
        # The model keeps "12345"; the checkboxes want a list of days.
        if isinstance(self.initial.get("working_days"), str):
            self.initial["working_days"] = list(self.initial["working_days"])

    def clean_working_days(self) -> str:
        return "".join(sorted(set(self.cleaned_data["working_days"])))


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    form = TeamAdminForm
    list_display = [
        "name",
        "kind",
        "ack_policy",
        "ack_deadline_hours",
        "webhook_format",
        "language",
        "webhook_broken_at",
    ]
    list_filter = ["kind", "ack_policy", "language", WebhookBrokenFilter]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["webhook_broken_at", "webhook_broken_reason"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "ack_policy"]}),
        (
            _("Deadlines in working time"),
            {
                "fields": [
                    "ack_deadline_hours",
                    "reminder_hours_before",
                    "time_zone",
                    "working_days",
                    ("work_starts_at", "work_ends_at"),
                    ("holiday_country", "holiday_subdivision"),
                ]
            },
        ),
        (
            _("Chat"),
            {
                "fields": [
                    "webhook_url",
                    "webhook_format",
                    "language",
                    "webhook_broken_at",
                    "webhook_broken_reason",
                ]
            },
        ),
    ]
    inlines = [MembershipInline]
    actions = ["mark_webhook_repaired"]

    def save_model(self, request: HttpRequest, obj: Team, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # A new address is the repair: posting resumes without a second step to forget.
        if change and "webhook_url" in getattr(form, "changed_data", ()) and obj.webhook_broken_at:
            team_webhook_repaired(team_ids=[obj.pk], actor=_admin_user(request), request=request)
            obj.refresh_from_db(fields=["webhook_broken_at", "webhook_broken_reason"])

    @admin.action(description=_("Post to the chat webhook again (it was fixed)"))
    def mark_webhook_repaired(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        broken = list(queryset.filter(webhook_broken_at__isnull=False).values_list("pk", flat=True))
        team_webhook_repaired(team_ids=broken, actor=_admin_user(request), request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d team's chat webhook is used again.",
                "%(count)d teams' chat webhooks are used again.",
                len(broken),
            )
            % {"count": len(broken)},
            messages.SUCCESS,
        )
