from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Shows a logged-in person the app in their own language and time zone.

    Both are put back after the response, so nothing that runs later in the same thread
    (another request's setup, a test) inherits this person's language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with translation.override(user.language), timezone.override(user.tzinfo):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        # LocaleMiddleware only fills this in when missing; it would name the browser's.
        response.headers["Content-Language"] = user.language
        return response
