"""Single sign-on against a real OpenID Connect provider on loopback (tests/sso/provider),
in Chromium: discovery, authorization code with PKCE, the ID token's signature checked
against the provider's keys, the domain allow-list, the just-in-time account without any
role, an invited account matched by its e-mail, and signing out."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from accounts.models import User
from teams.roles import Actor
from tests.factories import MembershipFactory, TeamFactory
from tests.support.browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _expect():
    from playwright.sync_api import expect

    return expect


def _sign_in_with_the_company(page, live_server, username: str, password: str, requests=None):
    page.goto(live_server.url + reverse("account_login"))
    page.get_by_role("button", name="Sign in with Company").click()
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=/o/authorize/.*"))  # the provider's
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in to the company").click()


def test_a_new_colleague_signs_in_with_the_company_account(browser_page, live_server, sso):
    expect = _expect()
    page = browser_page
    authorize_urls: list[str] = []

    def note_authorize(request) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(request.url).path == "/o/authorize/":
            authorize_urls.append(request.url)

    page.on("request", note_authorize)

    _sign_in_with_the_company(page, live_server, "sophie", "provider-pass-1")

    page.wait_for_url(re.compile(re.escape(live_server.url) + r"/feed/.*"))
    expect(page.locator("details.dropdown summary")).to_have_text("Sophie Martin")
    shot(page, "sso-signed-in")
    sophie = User.objects.get(email="sophie.martin@example.com")
    assert sophie.full_name == "Sophie Martin"
    assert not sophie.has_usable_password()
    actor = Actor.of(sophie)
    assert not actor.is_marketer  # no role until a manager gives one
    assert not actor.is_manager
    assert not actor.team_ids
    assert SocialAccount.objects.get(user=sophie).provider == "company"
    # Authorization code with PKCE (S256): the verifier never left Passerelle.
    assert authorize_urls
    assert all("code_challenge_method=S256" in url for url in authorize_urls)
    assert all("response_type=code" in url for url in authorize_urls)

    # Signing out of Passerelle ends its session.
    page.locator("details.dropdown summary").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))
    page.goto(live_server.url + "/feed/")
    assert "/accounts/login/" in page.url


def test_an_invited_account_is_matched_by_its_email(browser_page, live_server, sso):
    team = TeamFactory(name="Ventes")
    paul = User.objects.create_user(email="paul.durand@example.com", password=None)
    MembershipFactory(team=team, user=paul)

    _sign_in_with_the_company(browser_page, live_server, "paul", "provider-pass-2")

    browser_page.wait_for_url(re.compile(re.escape(live_server.url) + r"/feed/.*"))
    assert User.objects.filter(email="paul.durand@example.com").count() == 1
    paul.refresh_from_db()
    assert paul.last_login is not None
    assert SocialAccount.objects.get(user=paul).provider == "company"
    assert list(paul.teams.values_list("name", flat=True)) == ["Ventes"]


def test_an_address_outside_the_allowed_domains_is_refused(browser_page, live_server, sso):
    expect = _expect()
    _sign_in_with_the_company(browser_page, live_server, "eve", "provider-pass-3")
    expect(browser_page.get_by_role("alert")).to_contain_text("Only addresses at example.com")
    shot(browser_page, "sso-refused-domain")
    assert not User.objects.filter(email="eve@elsewhere.org").exists()
    assert "_auth_user_id" not in browser_page.context.cookies()


def test_an_id_token_not_signed_by_the_published_keys_is_refused(
    browser_page, live_server, sso, settings
):
    expect = _expect()
    forged_keys = sso.app(
        openid_configuration_overrides={"jwks_uri": f"{sso.root}/other-keys.json"}
    )
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": [forged_keys]}
    }
    _sign_in_with_the_company(browser_page, live_server, "sophie", "provider-pass-1")
    expect(browser_page.get_by_role("heading", level=1)).to_be_visible()
    assert "/feed/" not in browser_page.url
    assert not User.objects.filter(email="sophie.martin@example.com").exists()


def test_sso_only_hides_the_password_form(client, sso, settings):
    settings.SSO_ONLY = True
    content = client.get(reverse("account_login")).content.decode()
    assert "Sign in with Company" in content
    assert 'name="password"' not in content


@pytest.mark.parametrize(
    "provider_id", ["\x00", "unknown", "company%00"], ids=["nul", "unknown", "escaped"]
)
def test_an_unconfigured_provider_is_a_404(client, provider_id):
    assert client.post(f"/accounts/oidc/{provider_id}/login/").status_code == 404
    assert client.get(f"/accounts/oidc/{provider_id}/login/callback/?code=x").status_code == 404
