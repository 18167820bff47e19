"""The single sign-on adapter's rules that a loopback provider cannot show: a Google
account must carry the company's hosted domain, and just-in-time accounts are only for
the allowed domains."""

from types import SimpleNamespace

import pytest
from allauth.core.exceptions import ImmediateHttpResponse
from django.test import RequestFactory

from accounts.adapter import SocialAccountAdapter
from accounts.models import User


def _login(provider: str, email: str, claims: dict) -> SimpleNamespace:
    return SimpleNamespace(
        email_addresses=[SimpleNamespace(email=email, verified=True)],
        user=SimpleNamespace(email=email),
        account=SimpleNamespace(provider=provider, extra_data=claims),
        is_existing=False,
    )


@pytest.fixture
def company(settings):
    settings.SSO_ALLOWED_DOMAINS = ["example.com"]


def test_a_google_account_of_the_company_workspace_comes_in(company, rf: RequestFactory):
    login = _login("google", "sophie@example.com", {"id_token": {"hd": "example.com"}})
    SocialAccountAdapter().pre_social_login(rf.get("/"), login)  # no refusal


@pytest.mark.parametrize(
    "claims",
    [{"id_token": {}}, {"id_token": {"hd": "gmail.com"}}, {}],
    ids=["no-hosted-domain", "another-domain", "no-claims"],
)
def test_a_google_account_outside_the_workspace_is_refused(company, rf, claims):
    login = _login("google", "sophie@example.com", claims)
    with pytest.raises(ImmediateHttpResponse) as refused:
        SocialAccountAdapter().pre_social_login(rf.get("/"), login)
    assert refused.value.response.status_code == 403


def test_just_in_time_accounts_need_allowed_domains_or_open_sign_up(settings, rf):
    adapter = SocialAccountAdapter()
    settings.SSO_ALLOWED_DOMAINS = []
    settings.PASSERELLE_SIGNUP_OPEN = False
    assert not adapter.is_open_for_signup(rf.get("/"), None)
    settings.SSO_ALLOWED_DOMAINS = ["example.com"]
    assert adapter.is_open_for_signup(rf.get("/"), None)


def test_a_directory_name_is_made_one_line_of_visible_text(rf):
    """The provider's name is taken as it comes (nobody can be asked to retype it): a
    line break or a bidi override in a directory entry must not reach e-mail headers."""
    login = _login("openid_connect", "eve@example.com", {"userinfo": {"name": "x"}})
    login.user = User()
    login.account.extra_data = {"userinfo": {"name": "Eve\u202e Martin\nBcc: all@example.com"}}

    user = SocialAccountAdapter().populate_user(rf.get("/"), login, {"email": "Eve@Example.com"})

    assert user.full_name == "Eve Martin Bcc: all@example.com"
    assert user.email == "eve@example.com"
