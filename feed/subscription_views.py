"""The secret-address feeds of a person's launches, fetched without a session.

Anyone holding the address reads the feed, so an unknown or revoked token gets the plain
404 page and nothing else, and answers are never cached by shared caches.
"""

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.text import compress_string
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


def _private(response: HttpResponse, etag: str, *, gzipped: bool) -> HttpResponse:
    # The URL is a credential: keep it out of shared caches, search engines and the
    # Referer of any link followed from a feed reader's web view.
    patch_cache_control(response, private=True, max_age=300)
    patch_vary_headers(response, ["Accept-Encoding"])
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    # A gzipped body is another representation (RFC 9110 §8.8.1): its validator is weak,
    # as Django's GZipMiddleware makes it; If-None-Match compares weakly either way.
    response["ETag"] = f"W/{etag}" if gzipped else etag
    return response


def _accepts_gzip(request: HttpRequest) -> bool:
    """Whether the client takes gzip (RFC 9110 §12.5.3): named, or `*`, with a q above 0;
    an explicit `gzip;q=0` wins over `*`. Calendar apps and feed readers all send it."""
    weights: dict[str, float] = {}
    for item in request.headers.get("Accept-Encoding", "").split(","):
        coding, *parameters = item.split(";")
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding.strip().lower()] = weight
    weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return weight > 0


@dataclass(frozen=True)
class _Document:
    """A built feed and its validator, kept gzipped: 300 kB of entries are 20 kB so (a
    cache holds one per address and kind), sent as they are to a client that takes gzip,
    else unpacked, which costs no more than fetching them unpacked from the cache."""

    validator: str
    gzipped: bytes
    content_type: str
    disposition: str | None

    @classmethod
    def of(cls, response: HttpResponse, validator: str) -> "_Document":
        # Random bytes in the gzip header, as GZipMiddleware adds, so the document's size
        # says nothing of the address it names (BREACH).
        return cls(
            validator=validator,
            gzipped=compress_string(response.content, max_random_bytes=100),
            content_type=response["Content-Type"],
            disposition=response.get("Content-Disposition"),
        )

    @classmethod
    def kept(cls, cached: object, validator: str) -> "_Document | None":
        """The document read from the cache, if it is the one built for `validator`."""
        if not (isinstance(cached, tuple) and len(cached) == 4 and cached[0] == validator):
            return None
        return cls(*cached)

    def keep(self, kind: str, token: str) -> None:
        if settings.SUBSCRIPTION_CACHE_SECONDS:
            value = (self.validator, self.gzipped, self.content_type, self.disposition)
            cache.set(_document_key(kind, token), value, settings.SUBSCRIPTION_CACHE_SECONDS)

    def response(self, *, gzipped: bool) -> HttpResponse:
        if gzipped:
            response = HttpResponse(self.gzipped, content_type=self.content_type)
            response["Content-Encoding"] = "gzip"
        else:
            body = zlib.decompress(self.gzipped, wbits=_GZIP_WINDOW)
            response = HttpResponse(body, content_type=self.content_type)
        if self.disposition:
            response["Content-Disposition"] = self.disposition
        return response


# zlib's window bits for a gzip stream, header and trailer included.
_GZIP_WINDOW = 16 + zlib.MAX_WBITS


def _document_key(kind: str, token: str) -> str:
    # One per address (hashed: it is a credential) and kind, as the Atom document names
    # the address: a new version replaces the last rather than sitting beside it.
    return f"subscription:document:{kind}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


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
    client without the validator (a new device, a reader that ignores ETags) gets the
    document built for that validator the last time, from the cache, for
    SUBSCRIPTION_CACHE_SECONDS."""
    # An unchanged feed, asked again within SUBSCRIPTION_FRESH_SECONDS (shorter than the
    # max-age the answer declares), is answered from the validator kept for this address,
    # and a client without it gets the document kept for that validator: no query. The
    # validator is remembered only after the address was found live, and forgotten as
    # soon as it stops being so (revoked, deleted, its owner deactivated or erased:
    # notifications.subscriptions), so it vouches for the address as a lookup would. It
    # is not renewed here, so it expires and the feed is computed again.
    gzipped = _accepts_gzip(request)
    polled = "If-None-Match" in request.headers  # most polls end in a 304: no body read
    remembered, cached = subscription_validator_remembered(
        token=token, kind=kind, along=None if polled else _document_key(kind, token)
    )
    if remembered is not None:
        not_modified = get_conditional_response(request, etag=remembered)
        if not_modified is not None:
            return _private(not_modified, remembered, gzipped=gzipped)
        if polled:
            cached = cache.get(_document_key(kind, token))
        kept = _Document.kept(cached, remembered)
        if kept is not None:
            return _private(kept.response(gzipped=gzipped), remembered, gzipped=gzipped)
    user = _owner_of(token)
    now = timezone.now()
    # Past the shortcut the validator is computed again: reusing the kept one here would
    # renew it on every poll and freeze the feed for a client that sends no ETag.
    etag = subscriptions.subscription_validator(user=user, now=now)
    subscription_validator_remember(token=token, kind=kind, validator=etag)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _private(not_modified, etag, gzipped=gzipped)
    kept = _Document.kept(cache.get(_document_key(kind, token)), etag)
    if kept is None:
        campaigns = subscriptions.subscription_launches(user=user, now=now)
        kept = _Document.of(build(user, campaigns), etag)
        kept.keep(kind, token)
    return _private(kept.response(gzipped=gzipped), etag, gzipped=gzipped)


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
