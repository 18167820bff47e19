"""The secret-address feeds of a person's launches, fetched without a session.

Anyone holding the address reads the feed, so an unknown or revoked token gets the plain
404 page and nothing else, and answers are never cached by shared caches.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, set_response_etag
from django.views.decorators.http import require_safe

from accounts.models import User
from feed import subscriptions
from notifications.subscriptions import subscription_user


def _owner_of(token: str) -> User:
    user = subscription_user(token=token)
    if user is None:
        raise Http404
    return user


def _private(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    # The URL is a credential: keep it out of shared caches, search engines and the
    # Referer of any link followed from a feed reader's web view.
    patch_cache_control(response, private=True, max_age=300)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    # Clients poll every hour or so; an unchanged document costs them a 304. The body is
    # identical between fetches when nothing changed (DTSTAMP and <updated> come from the
    # campaigns), so its hash is the validator.
    set_response_etag(response)
    conditional = get_conditional_response(request, etag=response["ETag"], response=response)
    assert conditional is not None  # given a response, Django returns it or a 304/412
    return conditional


@login_not_required
@require_safe
def launches_atom(request: HttpRequest, token: str) -> HttpResponse:
    user = _owner_of(token)
    campaigns = subscriptions.subscription_launches(user=user)
    feed_url = f"{settings.PASSERELLE_BASE_URL}{request.path}"
    body = subscriptions.launches_atom(user=user, campaigns=campaigns, feed_url=feed_url)
    return _private(request, HttpResponse(body, content_type="application/atom+xml; charset=utf-8"))


@login_not_required
@require_safe
def launches_ical(request: HttpRequest, token: str) -> HttpResponse:
    user = _owner_of(token)
    campaigns = subscriptions.subscription_launches(user=user)
    response = HttpResponse(
        subscriptions.launches_ical(user=user, campaigns=campaigns),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = 'inline; filename="passerelle-launches.ics"'
    return _private(request, response)
