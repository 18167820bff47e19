"""An advisor's week in a real browser: the feed is their home page, talking points open
on demand, and Acknowledge updates the item in place, on a desktop and on a phone."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, Stakeholder
from feed.selectors import Week
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, StakeholderFactory, TeamFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def this_week(marketer, support_team):
    """Four announced campaigns launching this week (local time); three concern the
    advisor's team."""
    monday = Week.of(timezone.localdate()).monday
    at = lambda days, hour: timezone.make_aware(  # noqa: E731
        datetime.combine(monday + timedelta(days=days), time(hour))
    )
    sales = TeamFactory(name="Ventes")
    specs = [
        ("Carte de vœux 2027", Campaign.Channel.MAIL, "Tous les clients", at(0, 9), support_team),
        ("Relance SMS soldes", Campaign.Channel.SMS, "Clients actifs", at(2, 10), support_team),
        ("Webinaire épargne", Campaign.Channel.WEBINAR, "Prospects", at(2, 18), support_team),
        ("Offre parrainage", Campaign.Channel.EMAIL, "Clients fidèles", at(4, 11), sales),
    ]
    made = {}
    for title, channel, audience, launch, team in specs:
        campaign = CampaignFactory(
            owner=marketer,
            title=title,
            channel=channel,
            audience=audience,
            launch_at=launch,
            status=Campaign.Status.ANNOUNCED,
            body="## Ce que les clients ont reçu\n\n- Une carte\n- Un code promo `VOEUX27`",
        )
        StakeholderFactory(campaign=campaign, team=team)
        made[title] = campaign
    return made


def test_advisor_acknowledges_from_the_feed_without_a_reload(
    browser_page, live_server, advisor, this_week, support_team
):
    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    expect(page.get_by_role("heading", name="This week", level=1)).to_be_visible()
    for title in this_week:
        expect(page.get_by_role("link", name=title)).to_be_visible()

    card = this_week["Carte de vœux 2027"]
    item = page.locator(f"#feed-item-{card.pk}")
    item.get_by_text("Talking points").click()
    expect(item.get_by_text("Ce que les clients ont reçu")).to_be_visible()

    page.evaluate("window.__stayedOnPage = true")
    expect(item.locator('[data-ack="waiting"]')).to_be_visible()
    item.get_by_role("button", name="Acknowledge").click()
    expect(item.locator('[data-ack="done"]')).to_have_text("✓ Conseillers clientèle: acknowledged")
    assert page.evaluate("window.__stayedOnPage === true"), "the page reloaded"
    assert (
        Stakeholder.objects.get(campaign=card, team=support_team).acknowledged_version
        == card.version
    )
    shot(page, "feed-01-advisor-desktop")

    page.get_by_label("Teams").select_option("mine")
    expect(page.get_by_role("link", name="Offre parrainage")).to_have_count(0)
    assert "teams=mine" in page.url  # pushed, so the filtered feed can be reloaded or shared


def test_the_feed_fits_a_phone(browser_page, live_server, advisor, this_week):
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    relance = page.locator(f"#feed-item-{this_week['Relance SMS soldes'].pk}")
    relance.get_by_role("button", name="Acknowledge").click()
    expect(relance.locator('[data-ack="done"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "feed-02-advisor-phone")
