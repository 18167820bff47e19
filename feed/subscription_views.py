"""The secret-address feeds of a person's launches, fetched without a session.

Anyone holding the address reads the feed, so an unknown or revoked token gets the plain
404 page and nothing else, and answers are never cached by shared caches.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from accounts.models import User
from campaigns.models import Campaign
from feed import subscriptions
from hub.db_routing import reads_from_replica
from notifications.subscriptions import (
    subscription_user,
    subscription_validator_remember,
    subscription_validator_remembered,
)


def _owner_of(token: str) -> User:
    user = subscription_user(token=token)
    if user is None:
        raise Http404
    return user


def _private(response: HttpResponse, etag: str) -> HttpResponse:
    # The URL is a credential: keep it out of shared caches, search engines and the
    # Referer of any link followed from a feed reader's web view.
    patch_cache_control(response, private=True, max_age=300)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["ETag"] = etag
    return response


def _feed(
    request: HttpRequest,
    token: str,
    *,
    kind: str,
    build: Callable[[User, list[Campaign]], HttpResponse],
) -> HttpResponse:
    """The person's launches as one document, or 304 when nothing they show changed.

    Clients poll every hour or so. The validator is computed from a few columns of the
    campaign rows before any campaign is loaded (subscriptions.subscription_validator),
    so an unchanged feed costs three narrow queries and no rendering, and none at all
    when it was computed for this address less than SUBSCRIPTION_FRESH_SECONDS ago. A
    client without
    the validator (a new device, a reader that ignores ETags) gets the document built
    for that validator the last time, from the cache, for SUBSCRIPTION_CACHE_SECONDS."""
    # An unchanged feed, asked again within SUBSCRIPTION_FRESH_SECONDS (shorter than the
    # max-age the answer declares), is answered from the validator kept for this address:
    # no query. A 304 tells nothing the client does not already hold, and a revoked
    # address's validator is forgotten at once (notifications.subscriptions).
    remembered = subscription_validator_remembered(token=token, kind=kind)
    if remembered is not None:
        not_modified = get_conditional_response(request, etag=remembered)
        if not_modified is not None:
            return _private(not_modified, remembered)
    user = _owner_of(token)
    if remembered is not None:
        # A client without the validator gets the document kept for it, as fresh as a
        # 304 would be (the remembered validator is not renewed here, so it expires),
        # once the address is checked: a body says more than a 304, and an address
        # revoked meanwhile (another process, the admin) must get nothing.
        kept = _kept_document(kind, token, remembered)
        if kept is not None:
            return _private(kept, remembered)
    now = timezone.now()
    # Past the shortcut the validator is computed again: reusing the kept one here would
    # renew it on every poll and freeze the feed for a client that sends no ETag.
    etag = subscriptions.subscription_validator(user=user, now=now)
    subscription_validator_remember(token=token, kind=kind, validator=etag)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _private(not_modified, etag)
    kept = _kept_document(kind, token, etag)
    if kept is not None:
        return _private(kept, etag)
    campaigns = subscriptions.subscription_launches(user=user, now=now)
    response = build(user, campaigns)
    seconds = settings.SUBSCRIPTION_CACHE_SECONDS
    if seconds:
        headers = [
            (n, response[n]) for n in ("Content-Type", "Content-Disposition") if n in response
        ]
        cache.set(_document_key(kind, token, etag), (response.content, headers), seconds)
    return _private(response, etag)


def _document_key(kind: str, token: str, etag: str) -> str:
    # The address (hashed: it is a credential) is part of the key, as the Atom document
    # names it; the validator covers everything else the document shows.
    return "subscription:{}:{}:{}".format(
        kind, hashlib.sha256(token.encode()).hexdigest()[:32], etag.strip('"')
    )


def _kept_document(kind: str, token: str, etag: str) -> HttpResponse | None:
    """The document built for this address and validator, if it is still kept."""
    if not settings.SUBSCRIPTION_CACHE_SECONDS:
        return None
    cached = cache.get(_document_key(kind, token, etag))
    if not isinstance(cached, tuple):
        return None
    body, headers = cached
    response = HttpResponse(body)
    for name, value in headers:
        response[name] = value
    return response


@login_not_required
@require_safe
@reads_from_replica
def launches_atom(request: HttpRequest, token: str) -> HttpResponse:
    feed_url = f"{settings.PASSERELLE_BASE_URL}{request.path}"

    def atom(user: User, campaigns: list[Campaign]) -> HttpResponse:
        body = subscriptions.launches_atom(user=user, campaigns=campaigns, feed_url=feed_url)
        return HttpResponse(body, content_type="application/atom+xml; charset=utf-8")

    return _feed(request, token, kind="atom", build=atom)


@login_not_required
@require_safe
@reads_from_replica
def launches_ical(request: HttpRequest, token: str) -> HttpResponse:
    def ical(user: User, campaigns: list[Campaign]) -> HttpResponse:
        response = HttpResponse(
            subscriptions.launches_ical(user=user, campaigns=campaigns),
            content_type="text/calendar; charset=utf-8",
        )
        response["Content-Disposition"] = 'inline; filename="passerelle-launches.ics"'
        return response

    return _feed(request, token, kind="ical", build=ical)
