from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from webhooks.models import WebhookDelivery, WebhookEndpoint


def _masked(secret: str) -> str:
    # Enough to tell two secrets apart, never enough to sign with.
    return f"{secret[:10]}…" if secret else ""


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    """Read only: endpoints are registered and changed from the managers' pages, where
    webhooks.services checks the address (SSRF) and makes the secret. The secret is never
    shown whole here: it is shown once in the app, and rotated there."""

    list_display = ["url", "description", "active", "failing_since", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    fields = (
        "url",
        "event_types",
        "description",
        "secret_prefix",
        "created_by",
        "created_at",
        "active",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "last_failure_at",
        "disabled_notice_sent_at",
    )
    readonly_fields = fields

    @admin.display(description=_("signing secret"))
    def secret_prefix(self, endpoint: WebhookEndpoint) -> str:
        return _masked(endpoint.secret)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = [
        "message_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["message_id", "endpoint__url", "last_error"]
    list_select_related = ["endpoint"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
