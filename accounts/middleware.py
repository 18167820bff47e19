import functools
from collections.abc import Callable

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from teams.roles import Actor


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


class SecondFactorRequiredMiddleware:
    """With PASSERELLE_MFA_REQUIRED, marketers and managers (people who can send things
    to customers or override) reach nothing but the second factor's set-up until they
    have one (an authenticator app or a security key, with recovery codes), however they
    signed in, except through the company's single sign-on, which is left to the
    provider's own policy.

    Once a session has a second factor it is remembered in the session, so the check
    costs nothing on later requests."""

    _SESSION_KEY = "passerelle_second_factor_ok"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PASSERELLE_MFA_REQUIRED and self._must_enrol(request):
            setup = reverse("mfa_activate_totp")
            if request.headers.get("HX-Request"):
                return HttpResponse(status=204, headers={"HX-Redirect": setup})
            messages.warning(
                request,
                _(
                    "Marketers and managers protect their account with a second factor: "
                    "set up an authenticator app to continue."
                ),
                fail_silently=True,
            )
            return HttpResponseRedirect(setup)
        return self.get_response(request)

    def _must_enrol(self, request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.session.get(self._SESSION_KEY):
            return False
        if request.path.startswith(_OPEN_WHILE_ENROLLING()):
            return False
        # Only a sign-in through the identity provider is exempt: any other session (a
        # password, an invitation's link, one that recorded nothing) must enrol.
        methods = {r.get("method") for r in get_authentication_records(request, user)}
        if "socialaccount" in methods:
            return False
        actor = Actor.of(user)
        if not (actor.is_marketer or actor.is_manager):
            return False
        if is_mfa_enabled(user):
            request.session[self._SESSION_KEY] = True
            return False
        return True


@functools.cache
def _OPEN_WHILE_ENROLLING() -> tuple[str, ...]:  # noqa: N802 - a constant, computed once
    return (
        reverse("mfa_index"),
        # allauth asks for the password again before an authenticator is added.
        reverse("account_reauthenticate"),
        reverse("account_logout"),
        settings.STATIC_URL or "/static/",
        "/i18n/",
        "/health/",
    )
