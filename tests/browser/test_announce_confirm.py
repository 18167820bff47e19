"""Announcing in a real browser: the confirmation opens under the button with who will be
told, on which channel and by when, at desk and phone width; a double click announces once."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignEvent
from notifications.models import Notification
from tests.factories import (
    DEFAULT_PASSWORD,
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
)
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _campaign(marketer) -> Campaign:
    shops = TeamFactory(name="Boutiques", slug="boutiques")
    phone = TeamFactory(
        name="Téléconseil", slug="teleconseil", webhook_url="https://chat.example.com/hook"
    )
    for team, count in ((shops, 3), (phone, 2)):
        for _ in range(count):
            MembershipFactory(team=team)
    campaign = CampaignFactory(owner=marketer, title="Offre fidélité")
    for team in (shops, phone):
        StakeholderFactory(campaign=campaign, team=team)
    return campaign


@pytest.mark.parametrize("width", [1280, 390])
def test_marketer_sees_who_will_be_told_then_announces_once(
    browser_page, live_server, marketer, width
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    campaign = _campaign(marketer)
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")

    page.get_by_role("button", name="Announce", exact=True).click()

    panel = page.locator("#announce-confirm")
    panel.wait_for()
    # htmx put the panel under the button: still the campaign page.
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    assert "5 people will be told in 2 teams" in " ".join(panel.inner_text().split())
    phone_id = campaign.stakeholders.get(team__slug="teleconseil").team_id
    phone_row = panel.locator(f"#announce-team-{phone_id}").inner_text()
    assert "team chat" in phone_row
    assert "no team chat" not in phone_row
    assert panel.get_by_text("Acknowledgement due").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"announce-confirm-{width}")

    # A double click: the button is disabled while the first request runs, and a second
    # post would be refused by the service anyway.
    page.get_by_role("button", name="Announce now").dblclick()
    # Under load the second click can land once the first answer re-enabled the button:
    # the page then says "Already announced by…" instead. Either way, one announcement.
    page.get_by_text(
        re.compile(r"Announced\. The stakeholder teams are being notified\.|Already announced by")
    ).first.wait_for(timeout=20_000)

    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ANNOUNCED
    assert campaign.events.filter(kind=CampaignEvent.Kind.ANNOUNCED).count() == 1
    assert Notification.objects.filter(campaign=campaign, channel="in_app").count() == 5


def test_without_javascript_the_confirmation_is_a_page(browser_page, live_server, marketer):
    page = browser_page
    campaign = _campaign(marketer)
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/announce/confirm/")

    assert page.get_by_role("heading", name="Announce “Offre fidélité”?").is_visible()
    page.get_by_role("button", name="Announce now").click()
    page.get_by_text("Announced. The stakeholder teams are being notified.").wait_for()
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")


def test_a_late_announcement_asks_its_reason_once_and_refuses_without_it(
    browser_page, live_server, marketer
):
    campaign = _campaign(marketer)
    Campaign.objects.filter(pk=campaign.pk).update(launch_at=timezone.now() - timedelta(days=2))
    page = browser_page
    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")

    assert page.get_by_text("the next step asks why it is announced only now").is_visible()
    page.get_by_role("button", name="Announce", exact=True).click()
    panel = page.locator("#announce-confirm")
    panel.wait_for()
    # Asked once on the page: in the confirmation only.
    assert page.get_by_label("Why is it announced only now?").count() == 1

    # Without the reason: refused, said, nothing announced.
    panel.get_by_role("button", name="Announce now").click()
    page.get_by_text("Launch date is in the past.").first.wait_for()
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT

    page.get_by_label("This campaign already went out").check()
    page.get_by_label("Why is it announced only now?").fill("Envoyé par l'agence vendredi.")
    page.get_by_role("button", name="Announce now").click()
    page.get_by_text("Announced. The stakeholder teams are being notified.").wait_for()
    shot(page, "announce-late-done")

    announced = Campaign.objects.get(pk=campaign.pk)
    assert announced.status == Campaign.Status.ANNOUNCED
    assert announced.already_sent_reason == "Envoyé par l'agence vendredi."
