"""axe-core (WCAG 2.1 A and AA rules) finds no violation on the main pages, filled with
the demo data, for each kind of person."""

import pytest
from django.core.management import call_command

from campaigns.models import Campaign
from demo.seed import DEMO_PASSWORD
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    found = []
    for violation in results.response["violations"]:
        targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
        found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def test_pages_have_no_wcag_aa_violations(browser_page, live_server):
    call_command("seed_demo", verbosity=0)
    campaign = Campaign.objects.filter(status=Campaign.Status.ANNOUNCED).order_by("pk").first()
    draft = Campaign.objects.filter(
        status=Campaign.Status.DRAFT, owner__email="marketer@example.com"
    ).first()
    stakeholder = campaign.stakeholders.select_related("team").first()
    pages = {
        "marketer@example.com": [
            "/campaigns/",
            "/campaigns/new/",
            f"/campaigns/{campaign.pk}/",
            "/campaigns/calendar/",
            f"/campaigns/{draft.pk}/announce/confirm/",
            f"/campaigns/{draft.pk}/edit/",
        ],
        "advisor@example.com": [
            "/feed/",
            "/notifications/",
            "/notifications/preferences/",
            "/accounts/profile/",
        ],
        "manager@example.com": [
            "/dashboard/",
            "/dashboard/teams/conseillers-clientele/",
            f"/dashboard/teams/{stakeholder.team.slug}/nudge-all/?campaign={campaign.pk}",
            "/notifications/",
            "/campaigns/",
        ],
    }
    page = browser_page
    found = {}
    for email, urls in pages.items():
        page.context.clear_cookies()
        home = "/feed/" if email == "advisor@example.com" else "/campaigns/"
        log_in(page, live_server, email, DEMO_PASSWORD, expect_path=home)
        for url in urls:
            response = page.goto(live_server.url + url)
            assert response is not None
            assert response.status == 200, url
            if problems := violations(page):
                found[url] = problems
    assert not found, found


def test_the_check_does_find_a_violation(browser_page):
    """The checker itself works: an unlabelled field and an image without text fail."""
    page = browser_page
    page.set_content('<html lang="en"><main><img src="x.png"><input type="text"></main></html>')
    found = " ".join(violations(page))
    assert "image-alt" in found
    assert "label" in found
