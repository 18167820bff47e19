"""Login rate limits behind a reverse proxy (TRUSTED_PROXY_COUNT → allauth): counted
per client address taken from X-Forwarded-For, and per account whatever the address."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
LOCKED = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # The limits live in the cache: one of this test's own, empty at the start.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def through_proxy(client_ip: str) -> Client:
    """A browser at `client_ip`, reaching the app through one proxy that appends it."""
    return Client(REMOTE_ADDR=PROXY, headers={"x-forwarded-for": client_ip})


def log_in(client: Client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def attacker_fails_eleven_times(attacker: Client) -> None:
    # A different e-mail each time: only the per-address limit (10/m/ip) can stop this.
    answers = [log_in(attacker, f"guess{n}@example.com", "wrong") for n in range(11)]
    assert all(answer.status_code == 200 for answer in answers)
    assert LOCKED not in answers[0].content.decode()
    assert LOCKED in answers[-1].content.decode()


def test_one_client_behind_the_proxy_is_limited_not_everyone(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    UserFactory(email="camille@example.com")

    attacker_fails_eleven_times(through_proxy("203.0.113.7"))

    colleague = through_proxy("198.51.100.9")
    response = log_in(colleague, "camille@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert SESSION_KEY in colleague.session


def test_without_the_proxy_count_everyone_shares_the_proxys_limit(settings):
    # What TRUSTED_PROXY_COUNT fixes: with 0 the header is ignored, every request comes
    # from the proxy's address, and one person's failures lock everyone out.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    UserFactory(email="camille@example.com")

    attacker_fails_eleven_times(through_proxy("203.0.113.7"))

    colleague = through_proxy("198.51.100.9")
    response = log_in(colleague, "camille@example.com", DEFAULT_PASSWORD)
    assert LOCKED in response.content.decode()
    assert SESSION_KEY not in colleague.session


def test_failures_spread_over_many_addresses_still_lock_the_account(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    UserFactory(email="target@example.com")
    UserFactory(email="bystander@example.com")

    for n in range(5):
        answer = log_in(through_proxy(f"203.0.113.{n + 1}"), "target@example.com", "wrong")
        assert LOCKED not in answer.content.decode()

    # The right password from yet another address: the account itself is limited.
    owner = through_proxy("198.51.100.20")
    response = log_in(owner, "target@example.com", DEFAULT_PASSWORD)
    assert LOCKED in response.content.decode()
    assert SESSION_KEY not in owner.session
    # Another account from that address is not.
    assert log_in(owner, "bystander@example.com", DEFAULT_PASSWORD).status_code == 302


def test_a_forwarded_for_shorter_than_the_proxy_count_is_no_server_error(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    UserFactory(email="dominique@example.com")
    # One entry where two proxies were expected: a proxy was skipped on the way.
    browser = Client(REMOTE_ADDR=PROXY, headers={"x-forwarded-for": "192.0.2.77"})

    response = log_in(browser, "dominique@example.com", DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert SESSION_KEY in browser.session
