from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from core.admin_site import SafeAutocompleteMixin
from notifications.services import team_webhook_repaired
from teams.forms import TeamForm
from teams.models import Membership, Team


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


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    form = TeamForm
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
                    "slack_channel_id",
                    "mattermost_channel_id",
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
