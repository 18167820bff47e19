"""A second factor (allauth MFA: TOTP and recovery codes), mandatory for marketers and
managers who sign in with a password when PASSERELLE_MFA_REQUIRED is on: enrolment with a
code computed here (pyotp), then every password sign-in asks for it."""

from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.urls import reverse
from django.utils import timezone

from tests.factories import DEFAULT_PASSWORD, UserFactory, make_manager, make_marketer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rate_limits_of_this_test(own_cache):
    """allauth's rate limits (sign-in, re-authentication) count per person in the cache:
    a cache of the test's own, so ids reused by earlier tests do not add up."""


@pytest.fixture
def required(settings):
    settings.PASSERELLE_MFA_REQUIRED = True


def _password_sign_in(client, person):
    return client.post(
        reverse("account_login"), {"login": person.email, "password": DEFAULT_PASSWORD}
    )


def _enrol(client) -> str:
    activate = reverse("mfa_activate_totp")
    asked = client.get(activate)
    # allauth asks for the password again before an authenticator is added.
    assert asked.url.startswith(reverse("account_reauthenticate"))
    client.post(asked.url, {"password": DEFAULT_PASSWORD})
    assert client.get(activate).status_code == 200
    secret = client.session["mfa.totp.secret"]
    # The clock stands still between computing the code and checking it: a code made
    # in the last instant of its 30 seconds would otherwise be refused.
    with time_machine.travel(timezone.now(), tick=False):
        response = client.post(activate, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


@pytest.mark.parametrize("make", [make_marketer, make_manager], ids=["marketer", "manager"])
def test_a_marketer_or_manager_reaches_nothing_before_enrolling(client, required, make):
    person = make()
    _password_sign_in(client, person)

    for url in (reverse("campaigns:list"), reverse("feed:this_week"), reverse("teams:directory")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    htmx = client.get(reverse("notifications:unread_badge"), headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == reverse("mfa_activate_totp")

    _enrol(client)

    assert client.get(reverse("campaigns:list")).status_code == 200
    assert Authenticator.objects.filter(user=person, type=Authenticator.Type.TOTP).exists()


def test_after_enrolling_every_password_sign_in_asks_for_the_code(client, required):
    marketer = make_marketer()
    _password_sign_in(client, marketer)
    secret = _enrol(client)
    client.logout()

    later = timezone.now() + timedelta(minutes=2)  # a fresh code, not the one just used
    with time_machine.travel(later, tick=False):
        response = _password_sign_in(client, marketer)
        assert response.status_code == 302
        assert response.url == reverse("mfa_authenticate")
        assert "_auth_user_id" not in client.session  # not signed in with the password alone
        wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert wrong.status_code == 200
        assert "_auth_user_id" not in client.session
        client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(secret).now()})
        assert int(client.session["_auth_user_id"]) == marketer.pk
        assert client.get(reverse("campaigns:list")).status_code == 200


def test_a_recovery_code_signs_in_once(client, required):
    manager = make_manager()
    _password_sign_in(client, manager)
    _enrol(client)
    client.logout()
    codes = (
        Authenticator.objects.get(user=manager, type=Authenticator.Type.RECOVERY_CODES)
        .wrap()
        .get_unused_codes()
    )

    _password_sign_in(client, manager)
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert int(client.session["_auth_user_id"]) == manager.pk
    client.logout()
    _password_sign_in(client, manager)
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert "_auth_user_id" not in client.session  # used once


def test_advisors_are_not_asked(client, required):
    advisor = UserFactory()
    _password_sign_in(client, advisor)
    assert client.get(reverse("feed:this_week")).status_code == 200


def test_off_by_default(client, settings):
    assert settings.PASSERELLE_MFA_REQUIRED is False
    marketer = make_marketer()
    _password_sign_in(client, marketer)
    assert client.get(reverse("campaigns:list")).status_code == 200
