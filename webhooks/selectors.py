"""Reads of the webhooks app for the managers' pages, each a fixed number of queries."""

from django.core.paginator import Page, Paginator
from django.db.models import OuterRef, QuerySet, Subquery

from webhooks import rules
from webhooks.models import WebhookDelivery, WebhookEndpoint

DELIVERIES_PER_PAGE = 50


def endpoints_with_last_delivery() -> QuerySet[WebhookEndpoint]:
    """Every endpoint with its latest delivery's status, HTTP status and time (as
    `last_delivery_status`, `last_delivery_code`, `last_delivery_at`), and its creator:
    one query, however many endpoints."""
    latest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")[
        :1
    ]
    return (
        WebhookEndpoint.objects.select_related("created_by")
        .annotate(
            last_delivery_status=Subquery(latest.values("status")),
            last_delivery_code=Subquery(latest.values("last_status_code")),
            last_delivery_at=Subquery(latest.values("created_at")),
        )
        .order_by("created_at", "id")
    )


def endpoints_listed() -> list[WebhookEndpoint]:
    """endpoints_with_last_delivery, each with `last_delivery_state` (webhooks.rules's
    DeliveryState, None before anything was sent): what the list page shows."""
    endpoints = list(endpoints_with_last_delivery())
    for endpoint in endpoints:
        status = endpoint.last_delivery_status  # type: ignore[attr-defined]
        endpoint.last_delivery_state = (  # type: ignore[attr-defined]
            rules.delivery_state(status=status, endpoint_active=endpoint.active) if status else None
        )
    return endpoints


def endpoint_for_page(endpoint_id: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.select_related("created_by").filter(pk=endpoint_id).first()


def delivery_log(*, endpoint: WebhookEndpoint, page: str | int | None) -> Page[WebhookDelivery]:
    """An endpoint's deliveries, newest first, a page at a time (two queries: the count
    and the page), without their payloads."""
    rows = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .defer("payload")
        .order_by("-created_at", "-id")
    )
    shown = Paginator(rows, DELIVERIES_PER_PAGE).get_page(page)
    for delivery in shown.object_list:
        delivery.state = rules.delivery_state(  # type: ignore[attr-defined]
            status=delivery.status, endpoint_active=endpoint.active
        )
    return shown
