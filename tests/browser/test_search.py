"""Search in a real browser: from the feed's box, "voeux" finds "Carte de vœux 2027"
launching in another week, never a draft, on a desktop and on a phone."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign
from feed.selectors import Week
from tests.browser.test_accessibility import violations
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, StakeholderFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def campaigns(marketer, support_team):
    """One campaign this week, the greeting card three weeks later, and a draft about the
    same greetings that advisors must never see."""
    monday = Week.of(timezone.localdate()).monday

    def at(days: int) -> datetime:
        return timezone.make_aware(datetime.combine(monday + timedelta(days=days), time(9)))

    made = {}
    for title, days, status in [
        ("Relance SMS soldes", 1, Campaign.Status.ANNOUNCED),
        ("Carte de vœux 2027", 22, Campaign.Status.ANNOUNCED),
        ("Vœux des agences (brouillon)", 23, Campaign.Status.DRAFT),
    ]:
        campaign = CampaignFactory(
            owner=marketer,
            title=title,
            launch_at=at(days),
            status=status,
            announced_at=timezone.now() if status != Campaign.Status.DRAFT else None,
        )
        StakeholderFactory(campaign=campaign, team=support_team)
        made[title] = campaign
    return made


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_voeux_from_the_feed_finds_the_card_in_another_week(
    browser_page, live_server, advisor, campaigns, viewport
):
    page = browser_page
    if viewport:
        page.set_viewport_size(viewport)
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    expect(page.get_by_role("link", name="Relance SMS soldes")).to_be_visible()

    page.get_by_label("Search", exact=True).fill("voeux")
    expect(page.get_by_text("No campaign this week matches these filters.")).to_be_visible()
    page.get_by_role("link", name="Search all weeks for “voeux” →").click()

    # The search page answers in well under a second alone; a full parallel run on two
    # cores has been seen to take over 10.
    page.wait_for_url("**/campaigns/search/?q=voeux", timeout=30_000)
    card = campaigns["Carte de vœux 2027"]
    result = page.locator(f"#result-{card.pk}")
    expect(result.get_by_role("link", name="Carte de vœux 2027")).to_be_visible()
    week = Week.of(timezone.localtime(card.launch_at).date())
    expect(result.get_by_role("link", name=f"Week {week.number}, {week.year}")).to_be_visible()
    expect(result.get_by_text("Announced")).to_be_visible()
    expect(page.get_by_text("Vœux des agences")).to_have_count(0)
    assert page.locator(".search-result").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not violations(page)
    shot(page, f"search-01-advisor-{'phone' if viewport else 'desktop'}")

    result.get_by_role("link", name=f"Week {week.number}, {week.year}").click()
    page.wait_for_url(f"**/feed/{week}/")
    expect(page.get_by_role("link", name="Carte de vœux 2027")).to_be_visible()


def test_leaving_the_search_box_sends_no_second_search(
    browser_page, live_server, advisor, campaigns
):
    """Typing searches (after a pause); leaving the box must not search again. It did (the
    form's `change` trigger fired on the box's blur), and that second answer, swapped in
    while the person clicked "Search all weeks", could replace the link between the
    mouse's down and up: the click was lost. The lists still follow each select."""
    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    page.get_by_label("Search", exact=True).fill("voeux")
    expect(page.get_by_text("No campaign this week matches these filters.")).to_be_visible()

    searches: list[str] = []
    page.on(
        "request", lambda request: searches.append(request.url) if "/feed/" in request.url else None
    )
    page.get_by_label("Search", exact=True).blur()
    page.wait_for_timeout(800)  # beyond the trigger's 300 ms pause
    assert searches == []

    page.get_by_label("Channel").select_option(index=1)
    page.wait_for_timeout(800)
    assert len(searches) == 1
    shot(page, "search-02-feed-after-a-channel")
