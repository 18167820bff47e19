"""The campaign page in a real browser: live acknowledgement state, the feedback thread
and its tally, results against targets; desktop and a 390 px phone."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Kpi
from tests.factories import (
    DEFAULT_PASSWORD,
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
)
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _expect():
    from playwright.sync_api import expect

    return expect


def _fits_the_screen(page) -> bool:
    """Nothing in the page's content is wider than the screen (tables scroll inside)."""
    return page.evaluate(
        "(() => { const main = document.querySelector('main');"
        " return main.scrollWidth <= main.clientWidth; })()"
    )


def _announced(marketer, *teams, **kwargs) -> Campaign:
    campaign = CampaignFactory(
        owner=marketer,
        title="Soldes d'hiver 2027",
        summary="Jusqu'à -40 % sur la gamme Confort, pour les clients actifs.",
        body=(
            "## Ce que les clients reçoivent\n\nUn e-mail avec un code promo personnel.\n\n"
            "## Points clés\n\n- Code valable 15 jours\n- Non cumulable avec les remises pro"
        ),
        objective="Écouler le stock d'hiver avant mars.",
        **kwargs,
    )
    for team in teams:
        StakeholderFactory(campaign=campaign, team=team)
    Kpi.objects.create(campaign=campaign, name="Commandes", target=1200, position=0)
    Kpi.objects.create(campaign=campaign, name="Taux d'ouverture (%)", target=35, position=1)
    reason = "Envoyé vendredi, annonce oubliée." if campaign.launch_at < timezone.now() else ""
    services.campaign_announce(actor=marketer, campaign_id=campaign.pk, already_sent_reason=reason)
    return campaign


def test_page_follows_acknowledgements_and_reactions_without_reload(
    browser_page, live_server, marketer, advisor, support_team, settings
):
    settings.CAMPAIGN_PAGE_POLL_SECONDS = 1
    expect = _expect()
    sales = TeamFactory(name="Ventes", slug="ventes")
    seller = MembershipFactory(team=sales, user__full_name="Sacha Ventes").user
    campaign = _announced(marketer, support_team, sales)
    services.campaign_acknowledge(
        actor=seller, campaign_id=campaign.pk, note="Les commerciaux relaieront en rendez-vous."
    )
    url = live_server.url + reverse("campaigns:detail", args=[campaign.pk])

    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(url)
    mark_done = page.get_by_role("button", name="Mark as done", exact=True)
    expect(mark_done).to_be_disabled()
    expect(page.get_by_text("Waiting for Conseillers clientèle")).to_be_visible()
    expect(page.locator(".meta-countdown")).to_have_text("launches in 3 days")
    expect(page.locator("#campaign-summary")).to_contain_text("1 of 2 teams acknowledged")
    page.evaluate("window.notReloaded = true")
    page.locator("#cancel-details summary").click()  # open it, start typing, hesitate
    page.get_by_label("Reason (optional, sent to the teams)").fill("Stock insuffisant ?")
    shot(page, "campaign-page-01-marketer-waiting")

    advisor_context = page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    phone = advisor_context.new_page()
    phone.set_default_timeout(10_000)
    log_in(phone, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    phone.goto(url)
    assert _fits_the_screen(phone)
    shot(phone, "campaign-page-02-advisor-phone")
    phone.get_by_role("button", name="Acknowledge").click()
    phone.get_by_text("Acknowledged for Conseillers clientèle").wait_for()

    # The marketer's page follows within the polling interval, without a reload.
    expect(mark_done).to_be_enabled(timeout=5_000)
    expect(page.get_by_text("Waiting for Conseillers clientèle")).to_have_count(0)
    expect(page.locator("#campaign-summary")).to_contain_text("2 of 2 teams acknowledged")
    expect(page.locator("#stakeholders .pill-ok")).to_have_count(2)
    expect(page.locator("#timeline")).to_contain_text("Acknowledged by Alice Advisor")
    assert page.evaluate("window.notReloaded") is True
    # The refresh left the half-written cancellation as it was.
    reason = page.get_by_label("Reason (optional, sent to the teams)")
    expect(reason).to_be_visible()
    expect(reason).to_have_value("Stock insuffisant ?")

    phone.get_by_label("Negative reaction").check()
    phone.get_by_label("Your message").fill(
        "Plusieurs clients ne trouvent pas leur code promo dans l'e-mail."
    )
    phone.get_by_role("button", name="Post").click()
    expect(phone.locator("#feedback-list")).to_contain_text("ne trouvent pas leur code promo")
    expect(phone.get_by_label("Your message")).to_have_value("")
    expect(phone.locator(".tally-negative .tally-count")).to_have_text("1")
    expect(phone.get_by_text("Your message was posted.")).to_be_visible()
    assert _fits_the_screen(phone)
    shot(phone, "campaign-page-03-advisor-phone-reaction-posted")

    # ...and the reaction reaches marketing: tally and thread update on the open page.
    expect(page.locator(".tally-negative .tally-count")).to_have_text("1", timeout=5_000)
    expect(page.locator("#feedback-list")).to_contain_text("ne trouvent pas leur code promo")
    assert page.evaluate("window.notReloaded") is True
    shot(page, "campaign-page-04-marketer-acknowledged")

    page.set_viewport_size(PHONE)
    assert _fits_the_screen(page)
    shot(page, "campaign-page-05-marketer-phone")

    mark_done.click()
    page.get_by_text("Campaign marked as done.").wait_for()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DONE
    advisor_context.close()


def test_marketer_records_results_inline(browser_page, live_server, marketer, support_team):
    expect = _expect()
    # Noon, two calendar days ago in the reader's time zone: "2 days ago" at any hour.
    two_days_ago_noon = timezone.localtime(
        timezone.now(), ZoneInfo(marketer.time_zone or settings.TIME_ZONE)
    ).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=2)
    campaign = _announced(marketer, support_team, launch_at=two_days_ago_noon)
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(live_server.url + reverse("campaigns:detail", args=[campaign.pk]))
    expect(page.locator(".meta-countdown")).to_have_text("launched 2 days ago")

    page.get_by_label("Actual value of Commandes").fill("900")
    page.get_by_label("Actual value of Taux d'ouverture (%)").fill("42")
    page.get_by_role("button", name="Save results").click()

    expect(page.get_by_text("Results saved.")).to_be_visible()
    rows = page.locator("#results tbody tr")
    expect(rows.nth(0)).to_contain_text("75%")
    expect(rows.nth(1)).to_contain_text("120%")
    expect(page.locator("#timeline")).to_contain_text("Commandes: – → 900")
    assert list(campaign.kpis.values_list("actual", flat=True)) == [900, 42]
    shot(page, "campaign-page-06-results")

    page.get_by_label("Actual value of Commandes").fill("-3")
    page.get_by_label("Actual value of Commandes").evaluate("el => el.removeAttribute('min')")
    page.get_by_role("button", name="Save results").click()
    expect(page.get_by_text("Commandes: the actual value cannot be negative.")).to_be_visible()

    page.set_viewport_size(PHONE)
    assert _fits_the_screen(page)
    shot(page, "campaign-page-07-results-phone")
