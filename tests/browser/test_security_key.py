"""A security key (WebAuthn) as second factor, in Chromium with a virtual authenticator
(DevTools protocol): added from the profile's two-factor page, then asked at the next
password sign-in; the page's scripts run under our Content-Security-Policy."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, make_marketer
from tests.support.browser import log_in, log_out, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_marketer_adds_a_security_key_and_signs_in_with_it(browser_page, live_server, settings):
    from playwright.sync_api import expect

    settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True  # the live server is http://localhost
    page = browser_page
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    marketer = make_marketer(email="key.holder@example.com")
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)

    page.goto(live_server.url + reverse("mfa_index"))
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(re.compile(r".*/accounts/reauthenticate/.*"))
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r".*/2fa/webauthn/add/.*"))
    page.get_by_label("Name").fill("Work key")
    page.locator("#mfa_webauthn_add").click()
    page.wait_for_url(re.compile(r".*/2fa/.*"))
    expect(page.locator("body")).not_to_contain_text("Add Security Key")
    assert Authenticator.objects.filter(user=marketer, type=Authenticator.Type.WEBAUTHN).exists()
    shot(page, "mfa-security-key-added")

    log_out(page)
    page.goto(live_server.url + reverse("account_login"))
    page.get_by_label("E-mail address").fill(marketer.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/accounts/2fa/authenticate/.*"))
    page.locator("#mfa_webauthn_authenticate").click()
    page.wait_for_url(f"{live_server.url}/campaigns/")
