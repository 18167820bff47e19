"""The admin shows campaigns; it never changes them behind the domain's back.

A campaign's content, stakeholders, status and history change only through the services
(version bump, notices, timeline), which staff reach in the app itself: superusers hold
every permission, so the campaign page offers them every button. Here everything about a
campaign is read-only, with a link to its page; the configuration (default teams per
channel) stays editable, and thread messages can be deleted as moderation.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from campaigns.models import (
    Acknowledgement,
    Attachment,
    Campaign,
    CampaignEvent,
    ChannelDefaultTeam,
    Feedback,
    Kpi,
    Stakeholder,
)


class ReadOnlyAdminMixin:
    """View only: no add, no change, no delete (the services own these rows)."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class StakeholderInline(ReadOnlyAdminMixin, admin.TabularInline[Stakeholder, Campaign]):
    model = Stakeholder
    extra = 0
    readonly_fields = (
        "team",
        "due_at",
        "acknowledged_version",
        "acknowledged_at",
        "acknowledged_by",
    )
    fields = readonly_fields


class KpiInline(ReadOnlyAdminMixin, admin.TabularInline[Kpi, Campaign]):
    model = Kpi
    extra = 0
    readonly_fields = ("name", "unit", "direction", "target", "actual")
    fields = readonly_fields


class EventInline(ReadOnlyAdminMixin, admin.TabularInline[CampaignEvent, Campaign]):
    model = CampaignEvent
    extra = 0
    readonly_fields = ("created_at", "kind", "actor", "version", "details")
    fields = readonly_fields


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Campaign]):
    list_display = ["title", "channel", "status", "version", "launch_at", "owner"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "summary"]
    date_hierarchy = "launch_at"
    list_select_related = ["owner"]
    inlines = [StakeholderInline, KpiInline, EventInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Campaign._meta.fields] + ["editors"]


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Acknowledgement]):
    list_display = ["stakeholder", "user", "version", "created_at", "revoked_at"]
    list_select_related = ["stakeholder__team", "stakeholder__campaign", "user"]
    raw_id_fields = ["stakeholder", "user"]


@admin.register(ChannelDefaultTeam)
class ChannelDefaultTeamAdmin(admin.ModelAdmin[ChannelDefaultTeam]):
    list_display = ["channel", "team"]
    list_filter = ["channel"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin[Feedback]):
    """Read-only, but a message can be deleted (moderation)."""

    list_display = ["campaign", "author", "tag", "created_at"]
    list_filter = ["tag"]
    search_fields = ["body", "campaign__title"]
    list_select_related = ["campaign", "author"]
    raw_id_fields = ["campaign", "author"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Attachment]):
    list_display = ["original_name", "campaign", "content_type", "size", "created_at"]
    list_select_related = ["campaign"]
    raw_id_fields = ["campaign", "uploaded_by"]
