from django.contrib import admin

from notifications.models import DeliverySettings, Notification, Preference


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = [
        "id",
        "kind",
        "channel",
        "status",
        "recipient",
        "team",
        "campaign",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["recipient__email", "dedupe_key", "last_error"]
    raw_id_fields = ["recipient", "team", "campaign"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False


admin.site.register(Preference)
admin.site.register(DeliverySettings)
