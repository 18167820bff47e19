"""/api/v1/: the API's operations, its OpenAPI schema and its docs page.

The API answers 401 itself (a token or a session), so Django's login redirect is
turned off for its views: a program must never be sent to the HTML login page."""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver

from api.main import api


def _login_not_required(
    patterns: list[URLPattern | URLResolver],
) -> list[URLPattern | URLResolver]:
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(pattern.callback)
        else:
            _login_not_required(pattern.url_patterns)
    return patterns


_patterns, app_name, namespace = api.urls
urlpatterns = _login_not_required(list(_patterns))
