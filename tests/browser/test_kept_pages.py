"""Kept pages in a real browser (core/pages.py): a page served from the cache works as
one just rendered (htmx, its forms' CSRF token, the Content-Security-Policy nonce of its
scripts, which the browser fixture checks), and what a person does there is on the page
the next time they open it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, StakeholderFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def kept(settings, own_cache):
    settings.PAGE_CACHE_SECONDS = 60
    settings.FRAGMENT_CACHE_SECONDS = 120


def test_an_advisor_acts_on_kept_pages_and_sees_it_on_the_next_read(
    kept, browser_page, live_server, marketer, advisor, support_team
):
    campaign = CampaignFactory(
        owner=marketer, title="Carte de vœux 2027", launch_at=timezone.now() + timedelta(hours=2)
    )
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(actor=marketer, campaign_id=campaign.pk)

    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    feed = live_server.url + reverse("feed:this_week")
    page.goto(feed)  # this one is served from the cache
    item = page.locator(f"#feed-item-{campaign.pk}")
    item.get_by_role("button", name="Acknowledge").click()  # htmx, the kept page's token
    expect(item.locator('[data-ack="done"]')).to_be_visible()
    page.goto(feed)
    expect(page.locator(f"#feed-item-{campaign.pk} [data-ack='done']")).to_be_visible()
    shot(page, "kept-pages-01-feed-after-acknowledging")

    detail = live_server.url + reverse("campaigns:detail", args=[campaign.pk])
    page.goto(detail)
    page.goto(detail)  # kept
    page.get_by_label("Your message").fill("Un client demande si le code vaut en boutique.")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("#feedback-list")).to_contain_text("vaut en boutique")
    page.goto(detail)
    expect(page.locator("#feedback-list")).to_contain_text("vaut en boutique")
    expect(page.locator("#timeline")).to_contain_text("Acknowledged by Alice Advisor")
    shot(page, "kept-pages-02-campaign-page-after-asking")


def test_a_launch_moved_into_a_kept_calendars_month_is_on_it_the_next_time(
    kept, browser_page, live_server, marketer, support_team
):
    """The calendar's stamp is the database's record of launch changes (campaigns
    migration 0024): a launch moved on the form from another month into the one a kept
    calendar shows is on it the next time it is opened, although nothing the page
    showed changed (its campaigns' revisions alone would not tell)."""
    now = timezone.localtime()
    first_of_next_month = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
    shown = first_of_next_month.replace(day=10, hour=10, minute=0, second=0, microsecond=0)
    later = (shown + timedelta(days=40)).replace(day=10)
    campaign = CampaignFactory(owner=marketer, title="Carte de vœux 2027", launch_at=later)
    StakeholderFactory(campaign=campaign, team=support_team)
    CampaignFactory(owner=marketer, title="Soldes d'hiver", launch_at=shown.replace(day=3))

    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    calendar = live_server.url + reverse("campaigns:calendar") + f"?month={shown:%Y-%m}"

    def day_of(title: str):
        # The day's own date (each launch in it has a time of its own).
        day = page.locator(".cal-day", has=page.get_by_role("link", name=title))
        return day.locator("time").first

    page.goto(calendar)
    page.goto(calendar)  # served from the cache
    expect(day_of("Soldes d'hiver")).to_have_attribute("datetime", f"{shown:%Y-%m}-03")
    expect(page.get_by_role("link", name="Carte de vœux 2027")).to_have_count(0)

    page.goto(live_server.url + reverse("campaigns:edit", args=[campaign.pk]))
    page.get_by_label("Launch date").fill(f"{shown:%Y-%m}-17T10:00")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/campaigns/{campaign.pk}/")

    page.goto(calendar)
    expect(day_of("Carte de vœux 2027")).to_have_attribute("datetime", f"{shown:%Y-%m}-17")
    expect(day_of("Soldes d'hiver")).to_have_attribute("datetime", f"{shown:%Y-%m}-03")
    shot(page, "kept-pages-03-calendar-after-moving-a-launch-in")
