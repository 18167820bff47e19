"""What every view shares: the signed-in request type, the person as the rules see them,
safe redirects, and the one mapping from domain errors to HTTP.

Services raise `core.errors`; views never translate them one by one:
- `NotFound` → 404 and `PermissionRefused` → 403, by `DomainErrorMiddleware`;
- any other `DomainError` from a button → `run_action` shows its message on the page it
  redirects to (as information when it says someone already did it), and forms put it
  next to their fields (campaigns.forms.DomainErrorFormMixin).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import AccessError, DomainError, NotFound
from teams.roles import Actor

if TYPE_CHECKING:
    from accounts.models import User

    class AuthenticatedHttpRequest(HttpRequest):
        """A request behind the login (LoginRequiredMiddleware guards every view that is
        not marked `login_not_required`), so `user` is a real, signed-in User."""

        user: User

else:
    AuthenticatedHttpRequest = HttpRequest

_ACTOR = "_passerelle_actor"


def actor_of(request: HttpRequest) -> Actor:
    """The signed-in person as the rule books see them, read once per request (again if
    `request.user` was replaced since: the API's token authentication does that)."""
    user = getattr(request, "user", None)
    kept: tuple[object, Actor] | None = getattr(request, _ACTOR, None)
    if kept is not None and kept[0] is user:
        return kept[1]
    actor = Actor.of(user)
    setattr(request, _ACTOR, (user, actor))
    return actor


_MAX_ID = 2**63 - 1


def parse_id(raw: str) -> int | None:
    """A database id typed or posted as text, or None when it is not one (out of range
    included: the query would fail rather than find nothing)."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_ID else None


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The `next` path a form was posted with, if it stays on this site; else `fallback`.

    Only a path (starting with one "/") is followed: anything else, a bare word included,
    could be mistaken for a URL name or another host."""
    target = request.POST.get("next", "") or request.GET.get("next", "")
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return fallback


def show_refusal(request: HttpRequest, error: DomainError) -> None:
    """A refusal as a message on the next page: news when someone already did it."""
    if error.code == "already_done":
        messages.info(request, error.message)
    else:
        messages.error(request, error.message)


def run_action(
    request: HttpRequest, call: Callable[[], object], *, success: str, redirect_to: str
) -> HttpResponse:
    """Run one state-changing service for a button, then go to `redirect_to` with its
    outcome as a message. A rule's refusal becomes that message; access errors
    (NotFound, PermissionRefused) go on to the middleware."""
    try:
        call()
    except DomainError as error:
        show_refusal(request, error)
    else:
        messages.success(request, success)
    return HttpResponseRedirect(redirect_to)


class DomainErrorMiddleware:
    """NotFound → the 404 page, PermissionRefused → the 403 page, for every view: the
    one place these errors become HTTP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            return response_for_exception(request, Http404(exception.message))
        if isinstance(exception, AccessError):
            return response_for_exception(request, PermissionDenied(exception.message))
        return None
