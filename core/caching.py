"""Signed-in pages are never kept by a cache: neither a shared proxy (they show one
person's campaigns and notes) nor the browser's back-forward history after sign-out on a
shared computer."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control


class PrivatePagesMiddleware:
    """`Cache-Control: private, no-store` on every response to a signed-in person: pages,
    htmx fragments, JSON, and the CSV and XLSX downloads (an audit log or a dashboard
    export is as private as the page it comes from).

    A response that states its own caching is left alone: the subscription feeds
    (feed/, ETag and 304s), static files (served by WhiteNoise before this runs) and
    health checks decide for themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
