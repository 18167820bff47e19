"""Every page needs a login except health; allauth logs people in with e-mail and
password; sign-up is closed unless a setting opens it to chosen domains."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # allauth's rate limits live in the cache; the development file cache would carry
    # failed attempts from one run to the next.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def private_urls(draft_campaign) -> list[str]:
    return [
        reverse("core:home"),
        reverse("campaigns:list"),
        reverse("campaigns:detail", args=[draft_campaign.pk]),
        reverse("campaigns:create"),
        reverse("campaigns:edit", args=[draft_campaign.pk]),
        reverse("notifications:inbox"),
        reverse("notifications:preferences"),
    ]


def test_every_page_redirects_anonymous_visitors_to_login(client, private_urls):
    for url in private_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == f"{LOGIN}?next={url}", url


def test_actions_redirect_anonymous_visitors_and_change_nothing(client, draft_campaign):
    response = client.post(reverse("campaigns:announce", args=[draft_campaign.pk]))

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    draft_campaign.refresh_from_db()
    assert draft_campaign.status == "draft"


def test_health_is_public(client):
    response = client.get(reverse("core:health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_page_is_public(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert 'name="login"' in response.content.decode()


def test_login_with_email_and_password_then_logout(client):
    user = UserFactory(email="camille@example.com")

    response = client.post(
        reverse("account_login"), {"login": "camille@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == "/"
    assert int(client.session[SESSION_KEY]) == user.pk
    assert client.get(reverse("campaigns:list")).status_code == 200

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert response.url == LOGIN
    assert SESSION_KEY not in client.session
    assert client.get(reverse("campaigns:list")).status_code == 302


def test_login_is_case_insensitive_on_email_and_follows_next(client):
    UserFactory(email="camille@example.com")

    response = client.post(
        reverse("account_login") + "?next=/notifications/",
        {"login": "Camille@Example.com", "password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == "/notifications/"


def test_wrong_password_is_refused(client):
    UserFactory(email="camille@example.com")

    response = client.post(
        reverse("account_login"), {"login": "camille@example.com", "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    assert "not correct" in response.content.decode()


def test_inactive_user_cannot_log_in(client):
    UserFactory(email="gone@example.com", is_active=False)

    client.post(
        reverse("account_login"), {"login": "gone@example.com", "password": DEFAULT_PASSWORD}
    )

    assert SESSION_KEY not in client.session
    assert client.get(reverse("campaigns:list")).status_code == 302


def test_unverified_email_cannot_log_in(client):
    user = UserFactory(email="new@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)

    client.post(
        reverse("account_login"), {"login": "new@example.com", "password": DEFAULT_PASSWORD}
    )

    assert SESSION_KEY not in client.session


def test_logout_needs_post(client):
    user = UserFactory()
    client.force_login(user)

    response = client.get(reverse("account_logout"))

    # allauth shows a confirmation page on GET; the session survives it.
    assert response.status_code == 200
    assert int(client.session[SESSION_KEY]) == user.pk


def _signup_data(email: str) -> dict[str, str]:
    return {
        "email": email,
        "password1": "a-long-unusual-passphrase",
        "password2": "a-long-unusual-passphrase",
    }


def test_signup_is_closed_by_default(client, settings):
    assert settings.PASSERELLE_SIGNUP_OPEN is False

    page = client.get(reverse("account_signup"))
    response = client.post(reverse("account_signup"), _signup_data("intruder@example.com"))

    assert page.status_code == 200
    assert "Sign Up Closed" in page.content.decode()
    assert 'name="password1"' not in page.content.decode()
    assert response.status_code == 200
    assert not User.objects.filter(email="intruder@example.com").exists()


def test_open_signup_accepts_allowed_domain(client, settings, mailoutbox):
    settings.PASSERELLE_SIGNUP_OPEN = True
    settings.PASSERELLE_SIGNUP_DOMAINS = ["example.com"]

    page = client.get(reverse("account_signup"))
    response = client.post(reverse("account_signup"), _signup_data("nouvelle@example.com"))

    assert 'name="password1"' in page.content.decode()
    assert response.status_code == 302
    user = User.objects.get(email="nouvelle@example.com")
    assert not user.groups.exists()  # a stakeholder until an admin gives a role
    assert not EmailAddress.objects.get(user=user).verified
    assert [m.to for m in mailoutbox] == [["nouvelle@example.com"]]


def test_open_signup_refuses_other_domains(client, settings):
    settings.PASSERELLE_SIGNUP_OPEN = True
    settings.PASSERELLE_SIGNUP_DOMAINS = ["example.com"]

    response = client.post(reverse("account_signup"), _signup_data("someone@elsewhere.test"))

    assert response.status_code == 200
    assert "Sign-up is limited to addresses at: example.com." in response.content.decode()
    assert not User.objects.filter(email="someone@elsewhere.test").exists()


def test_open_signup_refuses_lookalike_domains(client, settings):
    settings.PASSERELLE_SIGNUP_OPEN = True
    settings.PASSERELLE_SIGNUP_DOMAINS = ["example.com"]

    client.post(reverse("account_signup"), _signup_data("someone@evil-example.com"))
    client.post(reverse("account_signup"), _signup_data("someone@example.com.evil.test"))

    assert not User.objects.exists()
