"""Content-Security-Policy: every response carries it, with a fresh nonce, and no page or
template relies on what the policy forbids (inline scripts, styles or handlers)."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.csp import CSP, build_policy

from feed.selectors import Week
from notifications.subscriptions import subscription_token_get_or_create
from notifications.tokens import ack_token_make
from teams.models import Membership
from tests.factories import MembershipFactory, UserFactory, announced_campaign
from tests.support.processes import settings_in_fresh_interpreter

pytestmark = pytest.mark.django_db

TEMPLATES_DIR = Path(settings.BASE_DIR) / "templates"
# anymail's webhooks take POSTs from the e-mail provider; every other namespace is walked.
SKIPPED_NAMESPACES = {"anymail"}
ADMIN_PAGES = [
    "admin:index",
    "admin:campaigns_campaign_changelist",
    "admin:accounts_user_add",
    "admin:accounts_user_changelist",
    "admin:teams_team_add",
    "admin:password_change",
]


def named_urls() -> list[tuple[str, URLPattern]]:
    found = []

    def walk(patterns: list, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name and namespace not in SKIPPED_NAMESPACES and namespace != "admin":
                found.append(
                    (f"{namespace}:{pattern.name}" if namespace else pattern.name, pattern)
                )

    walk(get_resolver().url_patterns, "")
    return found


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def nonce_of(header: str) -> str | None:
    """The nonce in script-src; None when the response used none (Django adds it lazily,
    only if the page rendered it: redirects and JSON answers carry none)."""
    nonces = re.findall(r"'nonce-([^']+)'", " ".join(directives(header)["script-src"]))
    assert len(nonces) <= 1
    return nonces[0] if nonces else None


class InlineCodeFinder(HTMLParser):
    """Collects what the policy would block in a page: scripts without the response's
    nonce, <style> blocks, style= attributes, on*= handlers, javascript: URLs."""

    def __init__(self, nonce: str | None) -> None:
        super().__init__()
        self.nonce = nonce
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        data_block = tag == "script" and (values.get("type") or "").endswith("json")
        if (
            tag == "script"
            and not data_block
            and (not self.nonce or values.get("nonce") != self.nonce)
        ):
            self.problems.append(f"<script> without this response's nonce: {attrs}")
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name == "style" or name.startswith(("on", "hx-on", "data-hx-on")):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}>")


def assert_policy_kept(response, *, what: str) -> str | None:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{what}: no Content-Security-Policy header"
    policy = directives(header)
    assert policy["default-src"] == [CSP.SELF]
    assert CSP.UNSAFE_INLINE not in policy["script-src"]
    assert CSP.UNSAFE_EVAL not in policy["script-src"]
    assert CSP.UNSAFE_INLINE not in policy["style-src"]
    nonce = nonce_of(header)
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        finder = InlineCodeFinder(nonce)
        finder.feed(response.content.decode())
        assert not finder.problems, f"{what}: {finder.problems}"
    return nonce


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    membership = MembershipFactory(role=Membership.Role.LEAD, user__full_name="Léa Lead")
    team, advisor = membership.team, membership.user
    campaign = announced_campaign(teams=[team])
    return {
        "campaign": campaign,
        "team": team,
        "advisor": advisor,
        "marketer": campaign.owner,
        "week": str(Week.of(timezone.localdate(campaign.launch_at))),
        "ack_token": ack_token_make(user_id=advisor.pk, campaign_id=campaign.pk, version=1),
        "feed_token": subscription_token_get_or_create(user=advisor).token,
    }


def url_for(name: str, pattern: URLPattern, world: dict) -> str | None:
    values = {
        "pk": world["campaign"].pk,
        "team_id": world["team"].pk,
        "slug": world["team"].slug,
        "week": world["week"],
        "token": world["feed_token" if name.startswith("subscriptions") else "ack_token"],
        "key": "not-a-key",
        "uidb36": "1",
    }
    wanted = set(pattern.pattern.regex.groupindex)
    try:
        return reverse(name, kwargs={k: v for k, v in values.items() if k in wanted})
    except NoReverseMatch:
        return None  # e.g. a regex group whose value this table does not produce


@pytest.mark.parametrize("role", ["anonymous", "manager", "marketer", "advisor"])
def test_every_url_answers_with_the_policy_for_every_role(client, world, role, manager):
    user = {"manager": manager, "marketer": world["marketer"], "advisor": world["advisor"]}
    if role != "anonymous":
        client.force_login(user[role])
    checked, pages = 0, 0
    for name, pattern in named_urls():
        url = url_for(name, pattern, world)
        if url is None:
            continue
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert_policy_kept(response, what=f"{role} GET {url} {headers}")
            checked += 1
            pages += response.status_code == 200
    # Guards the walk itself: a broken table must not make this test check nothing.
    assert checked > 80
    assert pages > 15


def test_admin_pages_keep_the_policy(client, world):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    urls = [reverse(name) for name in ADMIN_PAGES]
    urls.append(reverse("admin:campaigns_campaign_change", args=[world["campaign"].pk]))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_policy_kept(response, what=url)


def test_each_response_gets_a_fresh_nonce_used_by_its_scripts(client, world):
    client.force_login(world["advisor"])
    url = reverse("notifications:inbox")
    first, second = client.get(url), client.get(url)
    nonces = {assert_policy_kept(first, what="1st"), assert_policy_kept(second, what="2nd")}
    assert len(nonces) == 2
    assert None not in nonces
    for response in (first, second):
        nonce = nonce_of(response.headers["Content-Security-Policy"])
        # htmx and the page script, each carrying this response's nonce.
        assert response.content.decode().count(f'nonce="{nonce}"') >= 2


def test_policy_directives():
    assert directives(build_policy(settings.SECURE_CSP, nonce="x")) == {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'nonce-x'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    }


def test_error_pages_keep_the_policy(client, world):
    client.force_login(world["advisor"])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_policy_kept(response, what="404")


def csp_settings_in_fresh_interpreter(tmp_path, **env: str) -> dict:
    enforce, report_only = settings_in_fresh_interpreter(
        "[settings.SECURE_CSP, settings.SECURE_CSP_REPORT_ONLY]",
        {"DATA_DIR": str(tmp_path), **env},
        keep=lambda name: not name.startswith("CSP_"),
    )
    return {"enforce": enforce, "report_only": report_only}


def test_report_only_switch_moves_the_policy_to_the_report_only_header(tmp_path):
    enforced = csp_settings_in_fresh_interpreter(tmp_path)
    assert enforced["enforce"]["script-src"] == [CSP.SELF, CSP.NONCE]
    assert enforced["report_only"] == {}
    assert "report-uri" not in enforced["enforce"]

    trial = csp_settings_in_fresh_interpreter(
        tmp_path, CSP_REPORT_ONLY="1", CSP_REPORT_URI="https://csp.example.test/report"
    )
    assert trial["enforce"] == {}
    assert trial["report_only"]["script-src"] == [CSP.SELF, CSP.NONCE]
    assert trial["report_only"]["report-uri"] == ["https://csp.example.test/report"]


def test_report_only_mode_sends_the_report_only_header(client, world):
    client.force_login(world["advisor"])
    with override_settings(SECURE_CSP={}, SECURE_CSP_REPORT_ONLY=settings.SECURE_CSP):
        response = client.get(reverse("notifications:inbox"))
    assert "Content-Security-Policy" not in response.headers
    header = response.headers["Content-Security-Policy-Report-Only"]
    nonce = nonce_of(header)
    assert f'nonce="{nonce}"' in response.content.decode()


INLINE_CODE = re.compile(
    r"""<style\b|\sstyle\s*=|\shx-on|\sdata-hx-on|\son[a-z]+\s*=|javascript:|<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)""",
    re.IGNORECASE,
)


TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def test_no_template_holds_inline_code():
    offenders = []
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        # E-mails are not web pages: mail clients need inline styles and ignore CSP.
        if "email" in path.relative_to(TEMPLATES_DIR).parts:
            continue
        # Template comments may name what they avoid; they never reach the browser.
        text = TEMPLATE_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), path.read_text())
        for number, line in enumerate(text.splitlines(), start=1):
            if INLINE_CODE.search(line):
                offenders.append(f"{path.relative_to(TEMPLATES_DIR)}:{number}: {line.strip()}")
    assert offenders == []


def test_template_scan_catches_each_kind_of_inline_code():
    for line in [
        '<div style="width: 3%">',
        "<style>p{}</style>",
        '<a onclick="x()">',
        '<form hx-on::after-request="this.remove()">',
        '<a href="javascript:alert(1)">',
        "<script>alert(1)</script>",
    ]:
        assert INLINE_CODE.search(line), line
    assert not INLINE_CODE.search('<script src="/static/js/app.js" defer nonce="n"></script>')
    assert not INLINE_CODE.search('<span data-remove-on-request class="pill">')


def test_htmx_is_configured_to_run_without_eval(client, world):
    client.force_login(world["advisor"])
    page = client.get(reverse("notifications:inbox")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert config
    values = json.loads(config.group(1))
    assert values["allowEval"] is False
    assert values["includeIndicatorStyles"] is False
    assert values["allowScriptTags"] is False
    # Settling copies attributes with setAttribute; a style one would be refused.
    assert "style" not in values["attributesToSettle"]
