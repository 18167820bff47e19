"""Pages a phone user found wider than the screen: the whole page scrolled sideways and
the buttons they came for were off it. Checked on the document, not only `<main>`: what
is absolutely placed (a screen-reader-only label) widens the page from anywhere."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from teams.models import Membership
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, announced_campaign
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _page_width(page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def _assert_on_screen(locator) -> None:
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]


def _on_a_phone(browser_page):
    context = browser_page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_a_lead_manages_members_on_a_phone_without_scrolling_sideways(
    browser_page, live_server, support_team
):
    lead = MembershipFactory(
        team=support_team,
        role=Membership.Role.LEAD,
        user__full_name="Nathalie Dubois",
        user__email="nathalie.dubois@example.test",
    ).user
    for name in ("Emma Leroy", "Hugo Garnier", "Lucas Petit"):
        MembershipFactory(
            team=support_team,
            user__full_name=name,
            user__email=f"{name.lower().replace(' ', '.')}@example.test",
        )
    page = _on_a_phone(browser_page)
    log_in(page, live_server, lead.email, DEFAULT_PASSWORD, expect_path="/feed/")

    page.goto(live_server.url + reverse("teams:detail", args=[support_team.slug]))

    assert _page_width(page) <= PHONE["width"]
    row = page.locator("tr", has_text="Hugo Garnier")
    for control in (
        row.get_by_role("button", name="Save"),
        row.get_by_role("button", name="Remove Hugo Garnier from the team"),
    ):
        _assert_on_screen(control)
    shot(page, "team-members-phone")


def test_a_long_segment_name_wraps_on_the_campaign_page(
    browser_page, live_server, marketer, support_team, advisor
):
    campaign = announced_campaign(
        owner=marketer,
        teams=[support_team],
        audience="CRM_SEGMENT_clients_actifs_premium_region_ile_de_france_2027_Q1_relance",
        channel=Campaign.Channel.EMAIL,
    )
    page = _on_a_phone(browser_page)
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")

    page.goto(live_server.url + reverse("campaigns:detail", args=[campaign.pk]))

    assert _page_width(page) <= PHONE["width"]
    _assert_on_screen(page.get_by_text("CRM_SEGMENT_clients_actifs", exact=False).first)
    shot(page, "campaign-long-audience-phone")
