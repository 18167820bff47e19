"""The load benchmark's URLconf: two "ceiling" views, then the app's own URLs.

Each page's throughput is reported as a ratio to one of these, measured in the same run
on the same server, so the figures survive a noisy shared machine: the ratio says how
much of the server's capacity the page's own work (queries, templates) costs.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET


@login_not_required
@require_GET
def trivial(request: HttpRequest) -> HttpResponse:
    """The anonymous ceiling: the middleware stack without a session, a tiny answer."""
    return HttpResponse(b"ok", content_type="text/plain")


@require_GET
def trivial_auth(request: HttpRequest) -> HttpResponse:
    """The signed-in ceiling: behind LoginRequiredMiddleware, so each request loads the
    session and the user (and the user's preferences middleware runs) as every page does;
    then a tiny answer."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("trivial/", trivial),
    path("trivial-auth/", trivial_auth),
    path("", include("hub.urls")),
]
