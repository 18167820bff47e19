"""In Chromium: a person makes an API token on its page, copies it from the one-time box,
and a program uses it; the API docs page works under the Content-Security-Policy (the
browser_page fixture fails on any violation)."""

import json
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.factories import DEFAULT_PASSWORD
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_make_a_token_then_use_it_from_a_program(browser_page, live_server, advisor):
    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    page.goto(f"{live_server.url}/profile/api-tokens/")
    page.get_by_label("Name").fill("Mon tableur")
    page.get_by_role("button", name="Make the token").click()
    secret = page.get_by_role("textbox", name="Token").input_value()
    assert secret.startswith("psl_")
    expect(page.get_by_role("row", name="Mon tableur")).to_contain_text("never used")
    shot(page, "api-token-made")

    request = urllib.request.Request(
        f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["email"] == advisor.email

    page.goto(f"{live_server.url}/profile/api-tokens/")
    expect(page.get_by_role("textbox", name="Token")).to_have_count(0)  # shown once
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row", name="Mon tableur")).to_contain_text("revoked")


def test_the_api_docs_render_under_the_csp(browser_page, live_server, advisor):
    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.get_by_text("/api/v1/campaigns/{campaign_id}/announce")).to_be_visible()
    shot(page, "api-docs")
