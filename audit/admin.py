"""The audit log in the admin: read only, for everyone, superusers included.

Registered so staff can look an entry up next to the objects it is about; nobody may add,
change or delete one here (the model and the PostgreSQL trigger refuse it anyway)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["occurred_at", "action", "actor", "target_type", "target_id", "target_label"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor"]
    date_hierarchy = "occurred_at"
    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
