"""Whole pages kept for their reader while what they show has not changed.

The signed-in list pages are read far more often than the data under them changes: an
advisor reloads the feed, comes back to it from a campaign, htmx polls a campaign's live
panels. Each of those built the page again from its queries and its templates. A kept
page is the response body stored under a key made of

- the reader: who they are, their roles and teams (what the rule book reads), their
  language and time zone;
- the request: the view, the full path with its query string, the htmx headers a view
  chooses its template by;
- the minute (relative phrases such as "in 3 days") and the release (core.fragments);
- the page's **stamp**: a small value read in one cheap query that changes whenever what
  the page shows changes, typically the ids and revisions of the rows it lists (the
  database raises a campaign's revision on any change to it or to what is shown with it:
  campaigns migration 0016).

A page whose rows are costly to find (the inbox folds notices per campaign) declares the
campaigns it shows while it renders (`shows_campaigns`, before reading them): their
revisions are kept with the page and read again, in one query by primary key, before a
kept copy is served.

Why a stamp read on every request rather than invalidation on writes: the stamp is read
in the same database (and, on PostgreSQL, from the same committed state) as the page's
data, so no writer can forget to invalidate and no reader can store an old page under a
new stamp. What the stamp does not cover (a team renamed, a person's name changed on
SQLite) is at most a minute old: the minute is part of the key.

What a kept page must not hold: anything of one response only. The page is rendered with
placeholders for the CSRF token and the CSP nonce, which are swapped for the reader's own
on the way out; a request with messages waiting to be shown is not served from the cache
(nor kept), nor is a response that sets a cookie or changes the session.
"""

import json
import logging
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token

from accounts.backends import remember_permissions
from core import fragments
from core.cache import CACHE_ERRORS
from core.http import actor_of

logger = logging.getLogger(__name__)

NONCE_PLACEHOLDER = "kept-page-nonce-placeholder-3c9e2a"
_KEEPING = "_passerelle_keeping_page"
_SHOWN = "_passerelle_page_shows_campaigns"
_READER = "_passerelle_page_reader"
# Request headers a view may choose its answer by (core.htmx.wants_fragment and friends).
# HX-Current-URL is left out: it changes with every page the reader comes from.
_HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request", "HX-Target")
# Response headers that describe the body; the rest are the middleware's, added again.
_KEPT_HEADERS = ("Content-Type", "Content-Language", "HX-Trigger", "HX-Push-Url")


def enabled() -> bool:
    return settings.PAGE_CACHE_SECONDS > 0


def keeping(request: HttpRequest) -> bool:
    """True while the page being rendered is to be kept (core.context_processors)."""
    return bool(getattr(request, _KEEPING, False))


def _revisions(campaign_ids: Iterable[int]) -> dict[int, int]:
    """The revisions of these campaigns, by primary key. Written out: it runs on every
    request served from a page that declared campaigns, where the ORM's building of the
    query cost more than the query."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    campaign = apps.get_model("campaigns", "Campaign")
    connection = connections[router.db_for_read(campaign)]
    table = campaign._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array parameter: a calendar declares ~170 campaigns, and planning an IN
            # list of as many parameters took longer than finding the rows.
            cursor.execute(f"SELECT id, revision FROM {table} WHERE id = ANY(%s)", [ids])  # noqa: S608 - the model's table
        else:
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(f"SELECT id, revision FROM {table} WHERE id IN ({marks})", ids)  # noqa: S608 - the model's table
        return dict(cursor.fetchall())


def shows_campaigns(request: HttpRequest, campaign_ids: Iterable[int]) -> None:
    """The page being rendered shows these campaigns: it is kept with their revisions,
    read now, before their data (so the data is at least as new as what is recorded), and
    served again only while those are unchanged. One query; none when nothing is kept."""
    if keeping(request) and enabled():
        shows_campaigns_read(request, _revisions(set(campaign_ids) - _shown(request).keys()))


def shows_campaigns_read(request: HttpRequest, revisions: dict[int, int]) -> None:
    """As shows_campaigns, for campaigns whose revisions were read with their data (in
    the same query, so from the same committed state): no query."""
    if keeping(request) and enabled():
        _shown(request).update(revisions)


def _shown(request: HttpRequest) -> dict[int, int]:
    shown: dict[int, int] | None = getattr(request, _SHOWN, None)
    if shown is None:
        shown = {}
        setattr(request, _SHOWN, shown)
    return shown


type _Sources = tuple[tuple[str, int, str], ...]


def _reader_sources(user_pk: int) -> _Sources:
    """The rows the reader's roles and teams come from: their groups, their permissions
    (their own and their groups'), their teams with their role in each. One query,
    written out: built through the ORM (three subqueries) it cost more than the page it
    keys."""
    user_model = get_user_model()
    membership = apps.get_model("teams", "Membership")
    groups = user_model.groups.through._meta.db_table
    permissions = user_model.user_permissions.through._meta.db_table
    group_permissions = Permission.group_set.through._meta.db_table
    sql = (
        f"SELECT 'g', group_id, '' FROM {groups} WHERE user_id = %s "  # noqa: S608 - table names from the models
        f"UNION SELECT 'p', permission_id, '' FROM {permissions} WHERE user_id = %s "
        f"UNION SELECT 'p', gp.permission_id, '' FROM {group_permissions} gp "
        f"JOIN {groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s "
        f"UNION SELECT 't', team_id, role FROM {membership._meta.db_table} "
        "WHERE user_id = %s ORDER BY 1, 2, 3"
    )
    with connections[router.db_for_read(membership)].cursor() as cursor:
        cursor.execute(sql, [user_pk] * 4)
        return tuple((str(kind), int(pk), str(role)) for kind, pk, role in cursor.fetchall())


def know_reader(request: HttpRequest) -> _Sources:
    """The signed-in reader's groups, permissions and teams (_reader_sources), read once
    per request and handed to the permission backend and the request's Actor. A kept
    page's key reads them anyway: a view that checks a role before keeping its page calls
    this first, and its check then costs no query."""
    user = request.user
    if not user.is_authenticated:
        return ()
    known = getattr(request, _READER, None)
    if known is not None and known[0] is user:  # the same person (the API swaps users)
        return cast(_Sources, known[1])
    sources = _reader_sources(user.pk)
    remember_permissions(user, {pk for kind, pk, _role in sources if kind == "p"})
    actor_of(request).know_memberships((pk, role) for kind, pk, role in sources if kind == "t")
    setattr(request, _READER, (user, sources))
    return sources


def _reader(request: HttpRequest) -> tuple[object, ...]:
    """Everything of the reader a page may depend on: their row (already read), their
    groups and permissions, and their teams with their role in each (what the rule
    book's Actor reads). A change to what a group may do reaches kept pages at once.

    The rows read here are handed to the permission backend and to the request's Actor,
    which then read nothing more for the page's rules: the key and the rules see the
    same rows."""
    user = request.user
    if not user.is_authenticated:
        return ("anonymous",)
    sources = know_reader(request)
    return (
        user.pk,
        user.display_name,
        user.is_active,
        user.is_staff,
        user.is_superuser,
        sources,
        # What a page may read from the session (the dashboard link's memory…): a new
        # session, or a change to it, makes new keys.
        sorted((key, repr(value)) for key, value in request.session.items()),
    )


def _key(request: HttpRequest, view: str, stamp: Callable[[], object]) -> str:
    headers = tuple(request.headers.get(name, "") for name in _HTMX_HEADERS)
    # The reader first: it primes the roles and teams the stamp's rules then ask.
    reader = _reader(request)
    parts = (reader, request.get_full_path(), headers, stamp())
    return fragments.fragment_key(f"page:{view}", parts)


def _has_messages(request: HttpRequest) -> bool:
    return bool(len(get_messages(request)))


def _for_reader(request: HttpRequest, body: bytes) -> bytes:
    """The kept body with this response's CSRF token and CSP nonce in place."""
    if fragments.CSRF_PLACEHOLDER.encode() in body:
        body = body.replace(fragments.CSRF_PLACEHOLDER.encode(), get_token(request).encode())
    if NONCE_PLACEHOLDER.encode() in body:
        # Generated here when nothing asked for it yet (a lazy nonce is falsy until
        # then); the middleware then names it in the policy header.
        nonce = get_nonce(request)
        value = "" if nonce is None else str(nonce)
        body = body.replace(NONCE_PLACEHOLDER.encode(), value.encode())
    return body


def _keepable(request: HttpRequest, response: HttpResponse) -> bool:
    session = getattr(request, "session", None)
    storage = getattr(request, "_messages", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and not (storage is not None and getattr(storage, "added_new", False))
    )


# A stamp read by one SQL statement returning one row: (database alias, SQL, parameters).
type StampQuery = tuple[str, str, Sequence[Any]]


def kept_response(
    request: HttpRequest,
    *,
    view: str,
    render: Callable[[], HttpResponse],
    stamp: Callable[[], object] = lambda: None,
    stamp_query: Callable[[], StampQuery | None] | None = None,
) -> HttpResponse:
    """The response `render()` gives for this reader and request, from the cache while
    `stamp()` (see the module's docstring) is unchanged. `stamp` is only read when pages
    are kept at all.

    `stamp_query`: the part of the stamp read by one SQL statement (or None: nothing to
    read). It is then checked together with the revisions of the campaigns the kept page
    shows, in one round trip instead of two: it is kept inside the page, whose key holds
    the rest of the stamp."""
    if request.method != "GET" or _has_messages(request):
        return render()
    key = _key(request, view, stamp) if enabled() else None
    kept = _kept(key) if key else None
    queried, fresh = _queried_stamp(stamp_query() if key and stamp_query else None, kept)
    if kept is not None and fresh:
        body, headers, _checked, _queried = kept
        response = HttpResponse(_for_reader(request, zlib.decompress(body)))
        for name, value in headers:
            response.headers[name] = value
        return response
    # Rendered with placeholders even when nothing is kept (tests run that way), so a page
    # that would leak one response's token into the cache fails everywhere alike.
    setattr(request, _KEEPING, True)
    try:
        response = render()
    finally:
        setattr(request, _KEEPING, False)
    if key and _keepable(request, response):
        headers = [(name, response.headers[name]) for name in _KEPT_HEADERS if name in response]
        # Compressed: a page's HTML shrinks about eightfold, and kept pages are one per
        # reader and page (the scaling guide counts their memory).
        body = zlib.compress(response.content, 1)
        _keep(key, (body, headers, _shown(request), queried))
    if not response.streaming:
        response.content = _for_reader(request, response.content)
    return response


type _Kept = tuple[bytes, list[tuple[str, str]], dict[int, int], object]


def _queried_stamp(query: StampQuery | None, kept: _Kept | None) -> tuple[object, bool]:
    """The stamp `query` reads, and whether `kept` is still fresh: its stamp the same and
    the campaigns it shows unchanged. One statement: the stamp's row, and the count and
    sum of those campaigns' revisions. A campaign's revision goes up on every write to
    it and never down (campaigns migration 0016), and a deleted one is not counted, so
    the count and sum are the kept ones only while every revision is. Without a query
    (the page's whole stamp is in its key), the revisions alone, by primary key."""
    if query is None:
        if kept is None or kept[3] is not None:
            return None, False
        return None, not kept[2] or _revisions(kept[2]) == kept[2]
    alias, sql, params = query
    connection = connections[alias]
    shown = kept[2] if kept is not None else {}
    table = apps.get_model("campaigns", "Campaign")._meta.db_table
    if connection.vendor == "postgresql":
        # An array literal: psycopg's list adapter cost more than the lookup.
        among_shown = "id = ANY(%s::bigint[])"
        ids = "{" + ",".join(str(pk) for pk in shown) + "}"
    else:
        among_shown = "id IN (SELECT value FROM json_each(%s))"
        ids = json.dumps(list(shown))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stamp.*, shown.* FROM ({sql}) AS stamp, "  # noqa: S608 - SQL of this module and the stamp's
            f"(SELECT COUNT(*), COALESCE(SUM(revision), 0) FROM {table} "
            f"WHERE {among_shown}) AS shown",
            [*params, ids],
        )
        *row, count, revisions = cursor.fetchone()
    queried = tuple(row)
    unchanged = count == len(shown) and revisions == sum(shown.values())
    return queried, kept is not None and kept[3] == queried and unchanged


def _kept(key: str) -> _Kept | None:
    try:
        found = cache.get(key)
    except CACHE_ERRORS:
        logger.warning("page cache unreachable; rendering", exc_info=True)
        return None
    # Only this release's shape (a page kept before an upgrade is rendered again).
    return found if isinstance(found, tuple) and len(found) == 4 else None


def _keep(key: str, page: _Kept) -> None:
    try:
        cache.set(key, page, settings.PAGE_CACHE_SECONDS)
    except CACHE_ERRORS:
        logger.warning("page cache unreachable; page not kept", exc_info=True)
