"""Who is calling: an API token (`Authorization: Bearer psl_…`) or the browser's session.

Both end as a `Caller` on `request.auth`: the person the rule book judges, and the token
(None for a session). A token acts with its person's rights, narrowed by its scope: a
read token may only GET. Each caller is rate limited (api.ratelimit)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from accounts.models import User
from api.models import ApiToken
from api.ratelimit import rate_limit_check
from api.services import api_token_authenticate
from core.errors import PermissionRefused

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Caller:
    user: User
    token: ApiToken | None

    @property
    def principal(self) -> str:
        """Whose rate limit and idempotency keys these are."""
        return f"token:{self.token.prefix}" if self.token else f"user:{self.user.pk}"


class CsrfRefused(PermissionRefused):
    pass


class TokenAuth(HttpBearer):
    """Personal and service tokens, made on the profile page and by managers."""

    def authenticate(self, request: HttpRequest, token: str) -> Caller | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        if request.method not in SAFE_METHODS and not api_token.writes:
            raise PermissionRefused(_("This token may only read: make one that may write."))
        caller = Caller(user=api_token.user, token=api_token)
        rate_limit_check(caller.principal)
        # The person the token acts as is the request's user, as a session's would be:
        # what reads request.user (kept pages' reader key, logs) sees them, not anonymous.
        request.user = api_token.user
        return caller


class SessionAuth(APIKeyCookie):
    """The signed-in browser, for the docs page and the app's own scripts. Writes need
    the CSRF token, as every form of the app does."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)  # checked below, once the session is known

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Caller | None:
        user: Any = getattr(request, "user", None)
        # A request that sends a token is judged by it alone: a bad token is a 401 even
        # from a browser that is signed in.
        if "HTTP_AUTHORIZATION" in request.META or user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise CsrfRefused(_("The CSRF token is missing or wrong: reload the page."))
        caller = Caller(user=user, token=None)
        rate_limit_check(caller.principal)
        return caller


API_AUTH = [TokenAuth(), SessionAuth()]
