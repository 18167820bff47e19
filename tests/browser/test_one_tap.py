"""One-tap acknowledgement in a real browser: the advisor opens the e-mail's link with no
session, sees for whom and for which team, taps once; the link then says it was used,
the timeline says how, and nothing else opened without a sign-in."""

import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from campaigns.models import Stakeholder
from notifications.channels import build_email
from notifications.models import Channel, Notification
from tests.browser.test_accessibility import violations
from tests.factories import DEFAULT_PASSWORD, make_marketer, team_with_members
from tests.support.browser import log_in, shot
from tests.support.servers import announce, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _ack_link_in_the_email(campaign, member, live_server) -> str:
    row = Notification.objects.get(campaign=campaign, recipient=member, channel=Channel.EMAIL)
    text = build_email(row).body
    link = re.search(r"https?://\S+/campaigns/ack/\S+/", text)
    assert link is not None, text
    return live_server.url + urlsplit(link.group(0)).path


def test_an_advisor_acknowledges_from_the_email_in_one_tap(browser_page, live_server):
    from playwright.sync_api import expect

    marketer = make_marketer()
    team, (member,) = team_with_members(1, name="Conseillers clientèle")
    campaign = announce(campaign_for(owner=marketer, teams=[team], title="Vœux 2027"))
    link = _ack_link_in_the_email(campaign, member, live_server)

    phone = browser_page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    page = phone.new_page()
    page.set_default_timeout(10_000)
    page.goto(link)  # no session in this browser
    expect(page.get_by_role("heading", name="Vœux 2027")).to_be_visible()
    expect(page.locator(".ack-link-who")).to_have_text(
        f"Acknowledge as {member.display_name} for Conseillers clientèle"
    )
    assert not violations(page)
    shot(page, "one-tap-confirmation-phone")
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_version is None

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("Acknowledged for Conseillers clientèle")
    shot(page, "one-tap-done-phone")
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_by == member

    # The same link again: used, and the way to the campaign goes through the sign-in.
    page.goto(link)
    expect(page.get_by_role("status")).to_contain_text("This link has already been used")
    page.get_by_role("button", name="Open the campaign").click()
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=.*"))
    phone.close()

    # The marketer reads on the timeline how it was acknowledged.
    log_in(browser_page, live_server, marketer.email, DEFAULT_PASSWORD)
    browser_page.goto(live_server.url + reverse("campaigns:detail", args=[campaign.pk]))
    expect(browser_page.locator("#timeline")).to_contain_text("via the e-mail's link")
