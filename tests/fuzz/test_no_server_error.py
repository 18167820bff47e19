"""No input gives a 500: every URL pattern, fuzzed with hypothesis, as every role.

The URLs come from the URLconf, walked recursively (the apps, the admin, allauth,
anymail, i18n): each path converter is filled either with an id, slug or token that
exists in a small seeded dataset or with a hostile value (huge or negative numbers,
unicode, very long text). The fields come from the forms: every page the seeded
dataset can show is read once per role, and each `<form>` on it gives the field names
(and option values) to POST to its action. Each request also carries hostile query
parameters (`next`, `cursor`, `page`, `q`, `month`, `team`, `format`, dates…), and
cursors and acknowledge tokens forged with the test `SECRET_KEY` (absurd dates, wrong
types, ids beyond any column).

Every request runs with `raise_request_exception=False` inside a savepoint that is
rolled back, so each one sees the seeded data and a database error cannot spoil the
next. A status >= 500 is recorded with its method, URL, data and traceback; the test
fails listing all of them.

Environment:
- `FUZZ_EXAMPLES` (default 10): hypothesis examples per URL pattern and role.
- `FUZZ_ONLY=<substring>`: fuzz only the patterns whose route contains it (e.g.
  `FUZZ_ONLY=acknowledge`, `FUZZ_ONLY=admin/`).

Plain regression tests for every cause this found are in test_found_by_fuzzing.py.
"""

import os
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.apps import apps
from django.core import signing
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import got_request_exception
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from campaigns import services as campaign_services
from campaigns.models import Attachment, Feedback
from notifications.models import Notification
from notifications.subscriptions import subscription_token_get_or_create
from notifications.tokens import ack_token_make
from teams.models import Membership, Team
from tests.campaigns.files import pdf, png
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    make_manager,
    make_marketer,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
ONLY = os.environ.get("FUZZ_ONLY", "")
ROLES = ("anonymous", "advisor", "team_lead", "marketer", "manager", "superuser")

# --- the URLconf --------------------------------------------------------------------

_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Segment:
    """One level of a URL pattern: literal text, or a parameter to fill."""

    text: str = ""
    converter: str = ""  # "int", "slug", "str", "uuid", "path", or "regex"
    name: str = ""


@dataclass(frozen=True)
class Pattern:
    route: str  # readable, e.g. "campaigns/<int:pk>/acknowledge/"
    segments: tuple[Segment, ...]
    callback: Callable[..., Any]
    url_name: str


def _segments(pattern: RoutePattern | RegexPattern) -> list[Segment]:
    if isinstance(pattern, RoutePattern):
        out: list[Segment] = []
        route, position = str(pattern._route), 0
        for match in _CONVERTER.finditer(route):
            out.append(Segment(text=route[position : match.start()]))
            out.append(Segment(converter=match["conv"] or "str", name=match["name"]))
            position = match.end()
        out.append(Segment(text=route[position:]))
        return out
    # A regex level (the admin's app index and catch-all): hypothesis writes matches.
    return [Segment(converter="regex", name=pattern._regex)]


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: tuple[Segment, ...], namespace: str
) -> Iterator[Pattern]:
    for entry in patterns:
        here = (*prefix, *_segments(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, here, inner)
        else:
            route = "".join(f"<{s.converter}:{s.name}>" if s.converter else s.text for s in here)
            yield Pattern(route, here, entry.callback, f"{namespace}{entry.name or ''}")


def url_patterns() -> list[Pattern]:
    found = list(_walk(get_resolver().url_patterns, (), ""))
    return [p for p in found if ONLY in p.route]


# --- the seeded dataset -------------------------------------------------------------


@dataclass
class Dataset:
    users: dict[str, User]
    ids: dict[str, list[int]]  # model label -> ids, plus "all"
    slugs: list[str]
    tokens: list[str]
    weeks: list[str]
    forms: dict[str, list[dict[str, list[str]]]] = field(default_factory=dict)


def seed() -> Dataset:
    """Every kind of row a URL can name, for every role to reach."""
    superuser = UserFactory(is_staff=True, is_superuser=True, email="root@example.test")
    marketer = make_marketer(email="marketer@example.test")
    manager = make_manager(email="manager@example.test")
    team = TeamFactory(name="Conseillers", slug="conseillers")
    other_team = TeamFactory(name="Boutiques", slug="boutiques")
    advisor = MembershipFactory(team=team, user__email="advisor@example.test").user
    lead = MembershipFactory(
        team=team, role=Membership.Role.LEAD, user__email="lead@example.test"
    ).user
    draft = CampaignFactory(owner=marketer)
    StakeholderFactory(campaign=draft, team=team)
    announced = announced_campaign(owner=marketer, teams=[team, other_team])
    acknowledged = announced_campaign(owner=marketer, teams=[team])
    campaign_services.campaign_acknowledge(
        actor=advisor, campaign_id=acknowledged.pk, team_id=team.pk
    )
    campaign_services.feedback_post(
        actor=advisor, campaign_id=announced.pk, tag="question", body="Quand ?"
    )
    campaign_services.attachment_add(
        actor=marketer,
        campaign_id=announced.pk,
        uploaded_file=SimpleUploadedFile("visuel.png", png(), content_type="image/png"),
    )
    campaign_services.attachment_add(
        actor=marketer,
        campaign_id=draft.pk,
        uploaded_file=SimpleUploadedFile("brief.pdf", pdf(), content_type="application/pdf"),
    )
    users: dict[str, User] = {
        "advisor": advisor,
        "team_lead": lead,
        "marketer": marketer,
        "manager": manager,
        "superuser": superuser,
    }
    ids: dict[str, list[int]] = {}
    every: set[int] = set()
    for model in apps.get_models():
        pks = list(model._default_manager.values_list("pk", flat=True)[:20])
        ids[model._meta.label_lower] = [pk for pk in pks if isinstance(pk, int)]
        every.update(ids[model._meta.label_lower])
    ids["all"] = sorted(every)
    tokens = [
        ack_token_make(user_id=u.pk, campaign_id=c.pk, version=c.version)
        for u in (advisor, lead)
        for c in (announced, acknowledged)
    ]
    for user in users.values():
        tokens.append(subscription_token_get_or_create(user=user).token)
    now = datetime.now(UTC)
    weeks = [
        f"{d.isocalendar().year}-W{d.isocalendar().week:02d}"
        for d in (now, now + timedelta(days=7), now - timedelta(days=7))
    ]
    assert Attachment.objects.count() == 2
    assert Feedback.objects.exists()
    assert Notification.objects.exists()
    return Dataset(
        users=users,
        ids=ids,
        slugs=list(Team.objects.values_list("slug", flat=True)),
        tokens=tokens,
        weeks=weeks,
    )


# --- hostile values -----------------------------------------------------------------

HOSTILE_INTS = [0, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 10**30, 10**100]
HOSTILE_TEXT = [
    "",
    " ",
    "foo",
    "-1",
    "0",
    "1e9",
    "NaN",
    "null",
    "%00",
    "\x00",
    "é" * 300,
    "😀",
    "\u202e",
    "x" * 5000,
    "../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "1" * 40,
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "2026-W99",
    "-99999-W01",
]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.integers().map(str),
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=2000),
)
ABSURD_MOMENTS = [
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59.999999-14:00",
    "2026-01-01T00:00:00",
    "2026-W01",
]
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([*HOSTILE_INTS, -1, -(2**63)]),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(ABSURD_MOMENTS),
    st.text(max_size=20),
)


def _cursor_salts() -> list[str]:
    # The salts the code really uses, so a forged cursor passes the signature check.
    from campaigns import selectors as campaign_selectors
    from dashboards import drilldown
    from feed import selectors as feed_selectors
    from notifications import selectors as notification_selectors

    return [
        campaign_selectors.CURSOR_SALT,
        feed_selectors.CURSOR_SALT,
        notification_selectors.INBOX_CURSOR_SALT,
        drilldown.PENDING_CURSOR_SALT,
    ]


forged_cursor = st.builds(
    lambda values, salt: signing.dumps(values, salt=salt),
    st.lists(json_scalar, min_size=0, max_size=4),
    st.sampled_from(_cursor_salts()),
)
forged_ack_token = st.builds(
    lambda u, c, v, compress: signing.dumps(
        {"u": u, "c": c, "v": v}, salt="passerelle.notifications.ack-link", compress=compress
    ),
    json_scalar,
    json_scalar,
    json_scalar,
    st.booleans(),
)


def id_values(data: Dataset, pattern: Pattern, name: str) -> st.SearchStrategy[str]:
    pool = data.ids["all"]
    model_admin = getattr(pattern.callback, "model_admin", None)
    if model_admin is not None:
        pool = data.ids.get(model_admin.model._meta.label_lower) or pool
    elif name == "team_id":
        pool = data.ids["teams.team"]
    elif "attachment" in pattern.url_name:
        pool = data.ids["campaigns.attachment"]
    elif pattern.url_name.startswith("notifications:"):
        pool = data.ids["notifications.notification"]
    elif pattern.url_name.startswith(("campaigns:", "feed:")):
        pool = data.ids["campaigns.campaign"]
    return st.one_of(
        st.sampled_from(pool or [1]).map(str),
        st.sampled_from(pool or [1]).map(str),
        st.sampled_from(HOSTILE_INTS).map(str),
        st.integers(min_value=0).map(str),
    )


def segment_values(data: Dataset, pattern: Pattern, segment: Segment) -> st.SearchStrategy[str]:
    if segment.text or not segment.converter:
        return st.just(segment.text)
    if segment.converter == "regex":
        return st.from_regex(segment.name.lstrip("^").rstrip("$"), fullmatch=True).filter(
            lambda s: "?" not in s and "#" not in s
        )
    if segment.converter in ("int", "path") and segment.name in ("pk", "object_id", "team_id"):
        return id_values(data, pattern, segment.name)
    if segment.converter == "slug":
        return st.one_of(st.sampled_from(data.slugs), st.sampled_from(data.slugs), hostile_text)
    if segment.converter == "uuid":
        return st.uuids().map(str)
    valid = [*data.tokens, *data.weeks, *map(str, data.ids["all"][:5])]
    hostile = hostile_text.map(lambda s: s.replace("/", "") or "x")
    return st.one_of(
        st.sampled_from(valid), st.sampled_from(valid), forged_ack_token, forged_cursor, hostile
    )


QUERY_NAMES = [
    "next",
    "cursor",
    "after",
    "before",
    "page",
    "p",
    "q",
    "month",
    "team",
    "teams",
    "format",
    "date",
    "day",
    "week",
    "from",
    "to",
    "start",
    "end",
    "since",
    "status",
    "channel",
    "owner",
    "mine",
    "sort",
    "o",
    "e",
    "all",
    "_to_field",
    "_popup",
    "_changelist_filters",
    "tz",
    "language",
]


def query_values(data: Dataset) -> st.SearchStrategy[str]:
    return st.one_of(
        hostile_text,
        forged_cursor,
        st.sampled_from([*HOSTILE_INTS, -1]).map(str),
        st.sampled_from([*data.weeks, *data.slugs, *map(str, data.ids["all"][:8])]),
        st.sampled_from(["2026-02", "2026-02-30", "0000-00", "99999-01", "csv", "json", ""]),
    )


# --- the forms ----------------------------------------------------------------------


class _FormParser(HTMLParser):
    """The `<form>`s of a page: action, and each field's name with its known values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self._fields: dict[str, list[str]] | None = None
        self._select: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("hx-post") or a.get("action") or ""
            self._fields = {}
            self.forms.append((action, self._fields))
            return
        fields = self._fields if self._fields is not None else {}
        name = a.get("name")
        if tag in ("input", "textarea", "button") and name:
            fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "select" and name:
            self._select = fields.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            self._select.append(a.get("value", ""))
        elif "hx-post" in a and self._fields is None:
            # A button posting on its own (hx-post) with its hx-vals/hx-include.
            self.forms.append((a["hx-post"], {name: [a.get("value", "")]} if name else {}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def _route_key(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return f"{match.view_name}|{match.route}"


def catalogue_forms(client: Client, data: Dataset, page_urls: list[str]) -> None:
    """Read every page once; remember each form's fields under the view it posts to."""
    for url in page_urls:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _FormParser()
        parser.feed(response.content.decode(errors="replace"))
        for action, fields in parser.forms:
            target = urlsplit(action).path if action else urlsplit(url).path
            key = _route_key(target)
            if key and fields:
                data.forms.setdefault(key, []).append(fields)


def concrete_urls(data: Dataset, patterns: list[Pattern]) -> list[str]:
    """Each pattern once with valid values, for reading the forms."""
    urls = []
    for pattern in patterns:
        parts = []
        for segment in pattern.segments:
            if segment.text or not segment.converter:
                parts.append(segment.text)
            elif segment.converter in ("int", "path") and segment.name in (
                "pk",
                "object_id",
                "team_id",
            ):
                model_admin = getattr(pattern.callback, "model_admin", None)
                label = model_admin.model._meta.label_lower if model_admin else ""
                pool = data.ids.get(label) or data.ids["campaigns.campaign"]
                if "attachment" in pattern.url_name:
                    pool = data.ids["campaigns.attachment"]
                parts.append(str(pool[-1]) if pool else "1")
            elif segment.converter == "slug":
                parts.append(data.slugs[0])
            elif segment.converter == "str" and segment.name == "week":
                parts.append(data.weeks[0])
            else:
                parts = []
                break
        if parts:
            urls.append("/" + "".join(parts))
    return urls


def field_values(known: list[str]) -> st.SearchStrategy[str]:
    useful = [v for v in known if v] or ["1"]
    return st.one_of(st.sampled_from(useful), st.sampled_from(useful), hostile_text)


UPLOAD = st.sampled_from(
    [
        ("a.png", png()),
        ("a.pdf", pdf()),
        ("a.exe", b"MZ\x90\x00"),
        (".png", b""),
        ("é" * 300 + ".png", png()),
    ]
)


# --- the run ------------------------------------------------------------------------


@dataclass
class ServerError:
    method: str
    url: str
    data: dict[str, Any]
    status: int
    trace: str

    def __str__(self) -> str:
        shown = {
            k: (v[:80] + "…" if isinstance(v, str) and len(v) > 80 else v)
            for k, v in self.data.items()
        }
        return f"{self.status} {self.method} {self.url[:300]} data={shown!r}\n{self.trace}"


class Recorder:
    def __init__(self) -> None:
        self.errors: list[ServerError] = []
        self.requests = 0
        self._last_trace = ""

    def __call__(self, sender: object, request: object = None, **kwargs: object) -> None:
        self._last_trace = traceback.format_exc(limit=-6)

    def send(self, client: Client, method: str, url: str, payload: dict[str, Any]) -> None:
        self._last_trace = ""
        self.requests += 1
        session = client.cookies.get("sessionid")
        try:
            with transaction.atomic():
                response = (
                    client.get(url, payload) if method == "GET" else client.post(url, payload)
                )
                transaction.set_rollback(True)
        except pytest.fail.Exception as failure:
            # --fail-on-template-vars: a missing variable, which the response would have
            # shown as an empty string. Recorded like a 500, so one run lists them all.
            self.errors.append(ServerError(method, url, payload, 0, str(failure)))
            return
        finally:
            if session is not None:
                # A logout or a password change in the rolled back savepoint: keep the login.
                client.cookies["sessionid"] = session.value
        if response.status_code >= 500:
            self.errors.append(
                ServerError(method, url, payload, response.status_code, self._last_trace)
            )


def fuzz_pattern(client: Client, data: Dataset, pattern: Pattern, recorder: Recorder) -> None:
    path_parts = st.tuples(*(segment_values(data, pattern, s) for s in pattern.segments))
    query = st.dictionaries(st.sampled_from(QUERY_NAMES), query_values(data), max_size=4)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(parts=path_parts, query=query, method=st.sampled_from(["GET", "POST"]), draw=st.data())
    def one_request(
        parts: tuple[str, ...], query: dict[str, str], method: str, draw: st.DataObject
    ) -> None:
        url = "/" + "".join(parts)
        if method == "GET":
            recorder.send(client, "GET", url, query)
            return
        payload: dict[str, Any] = dict(query)
        forms = data.forms.get(_route_key(urlsplit(url).path) or "", [])
        if forms:
            fields = draw.draw(st.sampled_from(forms))
            for name, known in fields.items():
                choice = draw.draw(st.integers(0, 5))
                if choice == 0:
                    continue  # left out
                if choice == 1 and len(known) > 1:
                    payload[name] = draw.draw(st.lists(field_values(known), max_size=4))
                else:
                    payload[name] = draw.draw(field_values(known))
            if any(n in ("file", "upload", "attachment") for n in fields):
                name, content = draw.draw(UPLOAD)
                payload["file"] = SimpleUploadedFile(name, content)
        target = url + ("?" + urlencode(query) if query and draw.draw(st.booleans()) else "")
        recorder.send(client, "POST", target, payload)

    one_request()


@pytest.fixture(autouse=True)
def _own_cache(settings: Any) -> None:
    # Thousands of failed logins and rate-limited posts: kept in a cache of this test's
    # own, or they would lock 127.0.0.1 out of the shared one for the tests that follow.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fuzz"}
    }
    cache.clear()  # each role starts with no limit reached by the previous one


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_no_server_error(role: str) -> None:
    patterns = url_patterns()
    assert patterns, f"no URL pattern contains FUZZ_ONLY={ONLY!r}"
    data = seed()
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(data.users[role])
    recorder = Recorder()
    got_request_exception.connect(recorder)
    try:
        catalogue_forms(client, data, concrete_urls(data, patterns))
        for pattern in patterns:
            fuzz_pattern(client, data, pattern, recorder)
    finally:
        got_request_exception.disconnect(recorder)
    print(  # noqa: T201 - the run's size, for the report: shown with -s
        f"\nfuzz as {role}: {recorder.requests} requests over {len(patterns)} URL patterns, "
        f"{len(recorder.errors)} server errors"
    )
    assert recorder.requests >= len(patterns)
    assert not recorder.errors, (
        f"{len(recorder.errors)} server errors as {role}:\n\n"
        + "\n\n".join(str(e) for e in _distinct(recorder.errors))
    )


def _distinct(errors: list[ServerError], per_cause: int = 2) -> list[ServerError]:
    """A few inputs per (URL pattern, last line of the trace): the list stays readable
    when one cause answers hundreds of inputs."""
    seen: dict[tuple[str, str, str], int] = {}
    shown = []
    for error in errors:
        key = (
            error.method,
            _route_key(urlsplit(error.url).path) or error.url,
            error.trace.strip().rsplit("\n", 1)[-1],
        )
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= per_cause:
            shown.append(error)
    return shown
