"""What changed, in a real browser: a marketer edits an announced campaign, the campaign
page shows the new version's changes (before → after, the body's changed passage), and
the advisor's acknowledgement page shows them above the button; desktop and 390 px."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign
from notifications.tokens import ack_token_make
from tests.browser.test_accessibility import violations
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, StakeholderFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
BODY = (
    "## Ce que les clients reçoivent\n\nUn e-mail avec un code promo personnel.\n\n"
    "## Points clés\n\n- Code valable 15 jours\n- Non cumulable avec les remises pro\n\n"
    "## FAQ\n\nLe code s'utilise en boutique et en ligne."
)


def _expect():
    from playwright.sync_api import expect

    return expect


def _fits_the_screen(page) -> bool:
    return page.evaluate(
        "(() => { const main = document.querySelector('main');"
        " return main.scrollWidth <= main.clientWidth; })()"
    )


def test_an_edit_after_announcement_shows_what_changed(
    browser_page, live_server, marketer, advisor, support_team
):
    expect = _expect()
    campaign = CampaignFactory(
        owner=marketer,
        title="Soldes d'hiver 2027",
        audience="Clients actifs",
        launch_at=timezone.now() + timedelta(days=10),
        body=BODY,
    )
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    page_url = live_server.url + reverse("campaigns:detail", args=[campaign.pk])

    # The marketer corrects the offer's length and the audience on the form.
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(live_server.url + reverse("campaigns:edit", args=[campaign.pk]))
    page.get_by_label("Audience").fill("Clients actifs et <inactifs>")
    page.get_by_label("Body").fill(BODY.replace("valable 15 jours", "valable 30 jours"))
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(page_url)

    changes = page.locator("#changes")
    expect(changes.get_by_role("heading", name="What changed in version 2")).to_be_visible()
    audience = changes.locator(".change-audience")
    expect(audience.locator("del")).to_have_text("before: Clients actifs")
    expect(audience.locator("ins")).to_have_text("after: Clients actifs et <inactifs>")
    body = changes.locator(".change-body")
    expect(body.locator("del")).to_have_text("15")
    expect(body.locator("ins")).to_have_text("30")
    expect(body).not_to_contain_text("FAQ")  # only the passage that changed
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Audience: Clients actifs → Clients actifs et <inactifs>")
    assert Campaign.objects.get(pk=campaign.pk).version == 2
    assert not violations(page)
    shot(page, "what-changed-campaign-page")

    # The advisor opens the e-mail's link: the changes sit above the Acknowledge button.
    token = ack_token_make(user_id=advisor.pk, campaign_id=campaign.pk, version=2)
    phone = page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    mobile = phone.new_page()
    mobile.set_default_timeout(10_000)
    log_in(mobile, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    mobile.goto(live_server.url + reverse("campaigns:acknowledge_link", args=[token]))
    ack_changes = mobile.locator("#changes")
    expect(ack_changes).to_contain_text("Since version 1, which you acknowledged.")
    expect(ack_changes.locator(".change-body ins")).to_have_text("30")
    assert _fits_the_screen(mobile)
    assert not violations(mobile)
    shot(mobile, "what-changed-ack-page-phone")
    mobile.get_by_role("button", name="Acknowledge").click()
    expect(mobile.get_by_role("status")).to_contain_text("Acknowledged for")
    phone.close()

    # The campaign page at phone width: the diff wraps instead of widening the page.
    phone = page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    mobile = phone.new_page()
    log_in(mobile, live_server, marketer.email, DEFAULT_PASSWORD)
    mobile.goto(page_url)
    expect(mobile.locator("#changes")).to_be_visible()
    assert _fits_the_screen(mobile)
    shot(mobile, "what-changed-campaign-page-phone")
    phone.close()


def test_a_team_pending_at_the_override_acknowledges_late(
    browser_page, live_server, marketer, manager, advisor, support_team
):
    """Item "done that reads right": a closed campaign launching later says so, and the
    advisor whose team never acknowledged can still do it, late, from the page."""
    expect = _expect()
    campaign = CampaignFactory(
        owner=marketer, title="Carte de vœux 2027", launch_at=timezone.now() + timedelta(days=3)
    )
    StakeholderFactory(campaign=campaign, team=support_team)
    services.campaign_announce(actor=marketer, campaign_id=campaign.pk)
    services.campaign_override_done(
        actor=manager, campaign_id=campaign.pk, reason="Équipe prévenue en réunion."
    )

    phone = browser_page.context.browser.new_context(viewport=PHONE, locale="en-GB")
    for page in (browser_page, phone.new_page()):
        page.set_default_timeout(10_000)
        page.context.clear_cookies()
        log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
        page.goto(live_server.url + reverse("campaigns:detail", args=[campaign.pk]))
        expect(page.locator("#campaign-summary")).to_contain_text("Closed — launches in")
        expect(page.locator("#my-acknowledgement")).to_contain_text(
            "You can still acknowledge it (late)."
        )
        assert _fits_the_screen(page)
        assert not violations(page)
    shot(page, "late-acknowledgement-phone")
    page.locator("#my-acknowledgement").get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#timeline")).to_contain_text("acknowledged late, after the override")
    expect(page.locator("#my-acknowledgement")).not_to_contain_text("You can still acknowledge")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DONE
    browser_page.reload()
    expect(browser_page.locator("#timeline")).to_contain_text("acknowledged late")
    shot(browser_page, "late-acknowledgement")
    phone.close()
