"""The main journey in a real browser: register, announce, acknowledge, close."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, TeamFactory
from tests.support.browser import log_in, log_out, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_announces_advisor_acknowledges_marketer_closes(
    browser_page, live_server, marketer
):
    page = browser_page
    team = TeamFactory(name="Conseillers clientèle", slug="conseillers")
    advisor = MembershipFactory(
        team=team, user__email="advisor@example.test", user__full_name="Alice Conseil"
    ).user
    launch = (timezone.localtime() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")

    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    shot(page, "01-campaign-list-empty")
    page.get_by_role("button", name="New campaign").click()
    page.get_by_label("Title").fill("Carte de vœux 2027")
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("Audience").fill("Clients et prospects actifs")
    page.get_by_label("Estimated recipients").fill("40000")
    page.get_by_label("Launch date").fill(launch)
    page.get_by_label("Summary").fill("Nos vœux envoyés à toute la base clients.")
    page.get_by_label("Body").fill(
        "## Points clés\n\n- Aucune offre commerciale\n- Répondre avec bienveillance"
    )
    page.get_by_label("Conseillers clientèle").check()
    shot(page, "02-new-campaign-form")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Announce").click()
    page.get_by_role("button", name="Announce now").click()
    page.get_by_text("Announced. The stakeholder teams are being notified.").wait_for()
    assert page.locator("#stakeholders").get_by_text("Pending").is_visible()
    mark_done = page.get_by_role("button", name="Mark as done")
    assert mark_done.is_disabled()
    assert page.get_by_text("Waiting for Conseillers clientèle").is_visible()
    shot(page, "03-campaign-announced-pending")
    log_out(page)

    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    assert page.locator("#unread-count").inner_text() == "1"
    page.get_by_role("link", name="Inbox").click()
    shot(page, "04-advisor-inbox")
    page.get_by_role("link", name="New campaign: Carte de vœux 2027", exact=False).click()
    page.get_by_label("Note for the campaign owner (optional)").fill(
        "Les clients vont demander s'il y a un code promo."
    )
    shot(page, "05-advisor-campaign-page")
    page.get_by_role("button", name="Acknowledge").click()
    page.get_by_text("Acknowledged for Conseillers clientèle").wait_for()
    log_out(page)

    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.get_by_role("link", name="Carte de vœux 2027").click()
    assert page.locator("#stakeholders").get_by_text("Acknowledged").is_visible()
    assert page.get_by_role("button", name="Mark as done").is_enabled()
    shot(page, "06-campaign-acknowledged")
    page.get_by_role("button", name="Mark as done").click()
    page.get_by_text("Campaign marked as done.").wait_for()
    shot(page, "07-campaign-done")
    assert Campaign.objects.get(title="Carte de vœux 2027").status == Campaign.Status.DONE
