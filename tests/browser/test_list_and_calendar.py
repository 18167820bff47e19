"""The marketer workspace in a real browser: the list filters as you type (htmx, no
reload), the calendar's month and week views, and both on a phone-sized screen."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import services
from campaigns.models import Campaign
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, StakeholderFactory, TeamFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Channel = Campaign.Channel
PHONE = {"width": 390, "height": 844}


def _no_horizontal_scroll(page) -> bool:
    wide = page.evaluate(
        """[...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                     && !e.closest('.overflow-auto'))
        .map(e => e.tagName + '.' + e.className).slice(0, 5)"""
    )
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"wider than the screen: {wide}"
    return fits


@pytest.fixture
def campaigns(marketer):
    """A dozen campaigns this month and this week, on several channels; one cancelled."""
    today = timezone.localtime().replace(hour=9, minute=30, second=0, microsecond=0)
    first = today.replace(day=1)
    team = TeamFactory(name="Conseillers clientèle", slug="conseillers")
    specs = [
        ("Soldes d'hiver : e-mail", Channel.EMAIL, "Clients actifs", first + timedelta(days=2)),
        ("Soldes d'hiver : relance SMS", Channel.SMS, "Clients actifs", today),
        ("Soldes privées VIP", Channel.EVENT, "Clients premium", today + timedelta(days=1)),
        ("Carte de vœux", Channel.MAIL, "Tous les clients", first + timedelta(days=9)),
        ("Webinaire épargne", Channel.WEBINAR, "Prospects", today + timedelta(hours=5)),
        ("Nouvelle appli mobile", Channel.WEB, "Clients connectés", first + timedelta(days=14)),
        ("Campagne réseaux sociaux", Channel.SOCIAL, "Jeunes actifs", first + timedelta(days=20)),
        ("Appel satisfaction", Channel.PHONE, "Clients récents", today + timedelta(days=2)),
        ("Relance dossiers incomplets", Channel.OTHER, "Prospects", first + timedelta(days=5)),
        ("Lettre d'information", Channel.EMAIL, "Abonnés", first + timedelta(days=20, hours=2)),
        ("Offre parrainage", Channel.SMS, "Clients fidèles", first + timedelta(days=20, hours=4)),
        ("Jeu concours", Channel.SOCIAL, "Tous", first + timedelta(days=20, hours=6)),
        ("Rappel rendez-vous", Channel.PHONE, "Clients", first + timedelta(days=20, hours=8)),
        ("Ancienne promotion", Channel.EMAIL, "Clients actifs", first + timedelta(days=12)),
    ]
    made = {}
    for title, channel, audience, launch in specs:
        campaign = CampaignFactory(
            owner=marketer, title=title, channel=channel, audience=audience, launch_at=launch
        )
        StakeholderFactory(campaign=campaign, team=team)
        made[title] = campaign
    services.campaign_announce(actor=marketer, campaign_id=made["Soldes privées VIP"].pk)
    services.campaign_cancel(actor=marketer, campaign_id=made["Ancienne promotion"].pk)
    return made


def test_list_filters_as_you_type_and_calendar_views(
    browser_page, live_server, marketer, campaigns
):
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    rows = page.locator("#campaign-rows tbody tr")
    expect(rows).to_have_count(len(campaigns))
    shot(page, "10-campaign-list")

    # Typing filters the rows in place: the page is not reloaded, the URL follows.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search").press_sequentially("soldes", delay=40)
    expect(rows).to_have_count(3)
    assert page.evaluate("window.notReloaded") is True
    assert "q=soldes" in page.url
    page.get_by_label("Channel").select_option("sms")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("relance SMS")
    expect(rows.first).to_contain_text("0/1 team")
    assert "channel=sms" in page.url
    assert page.evaluate("window.notReloaded") is True
    shot(page, "11-campaign-list-filtered")

    # The URL is shareable: loaded afresh it shows the same rows and the same form.
    page.goto(page.url)
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Search")).to_have_value("soldes")

    page.get_by_role("navigation").get_by_role("link", name="Calendar").click()
    page.wait_for_url("**/campaigns/calendar/")
    vip = page.get_by_role("link", name="Soldes privées VIP")
    expect(vip).to_be_visible()
    expect(page.locator(".cal-launch.is-cancelled")).to_contain_text("Ancienne promotion")
    expect(page.locator(".cal-more")).to_have_text("+1 more")  # five launches that day
    shot(page, "12-calendar-month")

    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_url("**/campaigns/calendar/?week=*")
    expect(page.locator(".cal-week-day")).to_have_count(7)
    expect(page.get_by_role("link", name="Soldes d'hiver : relance SMS")).to_be_visible()
    shot(page, "13-calendar-week")
    page.get_by_role("link", name="Soldes privées VIP").click()
    page.wait_for_url(f"**/campaigns/{campaigns['Soldes privées VIP'].pk}/")


def test_on_a_phone(browser_page, live_server, marketer, campaigns):
    page = browser_page
    page.set_viewport_size(PHONE)
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    expect(page.locator("#campaign-rows tbody tr")).to_have_count(len(campaigns))
    shot(page, "14-phone-campaign-list")
    assert _no_horizontal_scroll(page)

    page.goto(f"{live_server.url}/campaigns/calendar/")
    # The month is a list of the days that have launches: no weekday header, no empty day.
    expect(page.locator(".cal-month thead")).to_be_hidden()
    expect(page.locator(".cal-month td.is-empty").first).to_be_hidden()
    expect(
        page.locator(".cal-day:not(.is-outside):not(.is-empty) .cal-full-date").first
    ).to_be_visible()
    expect(page.get_by_role("link", name="Soldes privées VIP")).to_be_visible()
    shot(page, "15-phone-calendar-month")
    assert _no_horizontal_scroll(page)

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.locator(".cal-week-day")).to_have_count(7)
    shot(page, "16-phone-calendar-week")
    assert _no_horizontal_scroll(page)


def test_each_filter_sends_one_request_and_leaving_the_search_box_none(
    browser_page, live_server, marketer, campaigns
):
    """The form's `change` trigger used to fire on the search box's blur too: a second,
    identical search whose answer could replace a row link between a click's mouse down and
    up. Every other control still narrows the rows with exactly one request."""
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    rows = page.locator("#campaign-rows tbody tr")
    page.get_by_label("Search").press_sequentially("soldes", delay=40)
    expect(rows).to_have_count(3)

    requests: list[str] = []
    page.on(
        "request",
        lambda request: requests.append(request.url) if "/campaigns/?" in request.url else None,
    )

    def requests_after(action) -> list[str]:
        requests.clear()
        action()
        page.wait_for_timeout(800)  # beyond the triggers' 300 ms pause
        return list(requests)

    assert requests_after(lambda: page.get_by_label("Search").blur()) == []
    assert len(requests_after(lambda: page.get_by_label("Channel").select_option("sms"))) == 1
    expect(rows).to_have_count(1)
    assert len(requests_after(lambda: page.get_by_label("Channel").select_option(""))) == 1
    expect(rows).to_have_count(3)

    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert len(requests_after(lambda: page.get_by_label("Launch from").fill(tomorrow))) == 1
    assert f"launch_from={tomorrow}" in page.url
    assert len(requests_after(lambda: page.get_by_label("Only my campaigns").check())) == 1
    assert "mine=on" in page.url
    assert len(requests_after(lambda: page.get_by_label("Only my campaigns").uncheck())) == 1
    assert "mine=on" not in page.url
    expect(page.get_by_label("Search")).to_have_value("soldes")
    shot(page, "14-campaign-list-each-filter-once")
