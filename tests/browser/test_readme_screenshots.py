"""The README's screenshots are taken here, from the demo data, as the people who use each
page see it. Every run takes them again (test-artifacts/screenshots/readme/); with
PASSERELLE_UPDATE_SCREENSHOTS=1 they also replace the ones in docs/screenshots/ that the
README shows, so refreshing them after a change to a page is one command (README,
"Screenshots")."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from campaigns.models import Campaign
from demo.seed import DEMO_PASSWORD
from tests.support.browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "docs" / "screenshots"
README_SHOTS = ("campaign-page", "feed", "dashboard")


def test_the_readme_shows_each_screenshot_and_each_exists():
    readme = (ROOT / "README.md").read_text()
    for name in README_SHOTS:
        assert f"docs/screenshots/{name}.png" in readme, name
        assert (PUBLISHED / f"{name}.png").stat().st_size > 10_000, name


def test_the_readme_screenshots_are_taken_from_the_demo(browser_page, live_server):
    call_command("seed_demo", verbosity=0)
    # The announced campaign with a second version: it shows "what changed" as well.
    campaign = (
        Campaign.objects.filter(status=Campaign.Status.ANNOUNCED).order_by("-version", "pk").first()
    )
    assert campaign is not None
    taken = ARTIFACTS / "readme"
    taken.mkdir(parents=True, exist_ok=True)
    page = browser_page
    shots = [
        ("marketer@example.com", "/campaigns/", f"/campaigns/{campaign.pk}/", "campaign-page"),
        ("advisor@example.com", "/feed/", "/feed/", "feed"),
        ("manager@example.com", "/campaigns/", "/dashboard/", "dashboard"),
    ]
    for email, home, url, name in shots:
        page.context.clear_cookies()
        log_in(page, live_server, email, DEMO_PASSWORD, expect_path=home)
        response = page.goto(live_server.url + url)
        assert response is not None
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")
        # A screenshot of an error page or an empty list would be worse than none.
        assert page.locator("main h1").count() == 1, url
        assert not re.search(r"\b(No campaign|Nothing here)\b", page.inner_text("main")), url
        page.screenshot(path=str(taken / f"{name}.png"), full_page=False)
    if os.environ.get("PASSERELLE_UPDATE_SCREENSHOTS") == "1":
        PUBLISHED.mkdir(parents=True, exist_ok=True)
        for name in README_SHOTS:
            shutil.copyfile(taken / f"{name}.png", PUBLISHED / f"{name}.png")
