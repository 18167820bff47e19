from django.contrib import admin

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


class StakeholderInline(admin.TabularInline):
    model = Stakeholder
    extra = 0
    fields = ["team", "due_at", "acknowledged_version", "acknowledged_at", "acknowledged_by"]
    readonly_fields = ["acknowledged_version", "acknowledged_at", "acknowledged_by"]


class KpiInline(admin.TabularInline):
    model = Kpi
    extra = 0


class EventInline(admin.TabularInline):
    model = CampaignEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "kind", "actor", "version", "details"]
    fields = readonly_fields

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Browse and fix content; state changes (status, version) belong to the services."""

    list_display = ["title", "channel", "status", "version", "launch_at", "owner"]
    list_filter = ["status", "channel"]
    search_fields = ["title", "summary"]
    date_hierarchy = "launch_at"
    readonly_fields = [
        "status", "version", "announced_at", "done_at", "cancelled_at", "done_override_reason",
        "already_sent_reason", "created_at", "updated_at",
    ]  # fmt: skip
    raw_id_fields = ["owner"]
    inlines = [StakeholderInline, KpiInline, EventInline]


@admin.register(Acknowledgement)
class AcknowledgementAdmin(admin.ModelAdmin):
    list_display = ["stakeholder", "user", "version", "created_at", "revoked_at"]
    readonly_fields = ["stakeholder", "user", "version", "note", "created_at", "revoked_at"]


@admin.register(ChannelDefaultTeam)
class ChannelDefaultTeamAdmin(admin.ModelAdmin):
    list_display = ["channel", "team"]
    list_filter = ["channel"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["campaign", "author", "tag", "created_at"]
    list_filter = ["tag"]
    search_fields = ["body", "campaign__title"]
    raw_id_fields = ["campaign", "author"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "campaign", "content_type", "size", "created_at"]
    raw_id_fields = ["campaign", "uploaded_by"]
