from django.contrib import admin

from chat.models import ChatAction, ChatIdentity, ChatPost


@admin.register(ChatIdentity)
class ChatIdentityAdmin(admin.ModelAdmin[ChatIdentity]):
    """Who a chat account is: an administrator deletes a wrong link here (the person then
    connects again from the chat)."""

    list_display = ["platform", "workspace_id", "external_user_id", "user", "created_at"]
    list_filter = ["platform"]
    search_fields = ["external_user_id", "user__email", "user__full_name"]
    raw_id_fields = ["user"]


@admin.register(ChatPost)
class ChatPostAdmin(admin.ModelAdmin[ChatPost]):
    list_display = ["campaign", "team", "version", "channel_id", "posted_at", "stale_since"]
    list_filter = ["platform"]
    raw_id_fields = ["campaign", "team"]
    readonly_fields = [f.name for f in ChatPost._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ChatAction)
class ChatActionAdmin(admin.ModelAdmin[ChatAction]):
    list_display = ["received_at", "platform", "kind", "status", "outcome"]
    list_filter = ["platform", "kind", "status"]
    readonly_fields = [f.name for f in ChatAction._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
