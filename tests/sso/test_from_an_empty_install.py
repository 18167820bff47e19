"""The issue's "done when", as one journey in Chromium against the loopback OpenID
Connect provider: from an empty install, the first manager (manage.py add_manager) signs
in from their one-time link, creates a team and imports its people from a CSV file; a
campaign is announced to them; an advisor signs in with the company account (matched to
the imported one) and acknowledges from the e-mail in one tap. Nobody opens /admin/."""

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from campaigns.models import Stakeholder
from notifications.channels import build_email
from notifications.models import Channel, Notification
from teams.models import Team
from tests.factories import make_marketer
from tests.support.browser import shot
from tests.support.servers import announce, campaign_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "email,name,team,role\n"
    "sophie.martin@example.com,Sophie Martin,Conseillers clientèle,member\n"
    "nathalie.dubois@example.com,Nathalie Dubois,Conseillers clientèle,lead\n"
)


def test_from_an_empty_install_to_a_one_tap_acknowledgement(
    browser_page, live_server, sso, tmp_path
):
    from playwright.sync_api import expect

    page = browser_page
    visited: list[str] = []
    page.on("request", lambda request: visited.append(urlsplit(request.url).path))

    # 1. The first manager, from the command line, signs in from the printed link.
    out = StringIO()
    call_command("add_manager", "claire.fontaine@example.com", name="Claire Fontaine", stdout=out)
    link = out.getvalue().split("Their sign-in link (one use): ")[1].strip()
    page.goto(live_server.url + urlsplit(link).path)
    page.get_by_label("Password", exact=True).fill("lantern-harbour-97")
    page.get_by_label("The same password again").fill("lantern-harbour-97")
    page.get_by_role("button", name="Set my password and sign in").click()
    expect(page.locator("details.dropdown summary")).to_have_text("Claire Fontaine")

    # 2. A team, in the app.
    page.goto(live_server.url + reverse("teams:directory"))
    page.get_by_role("button", name="New team").click()  # a link styled as a button
    page.get_by_label("Name").fill("Conseillers clientèle")
    page.get_by_role("button", name="Create the team").click()
    expect(page.get_by_role("heading", name="Conseillers clientèle")).to_be_visible()
    team = Team.objects.get(name="Conseillers clientèle")

    # 3. Its people, from a CSV file: preview, then import.
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.goto(live_server.url + reverse("teams:import"))
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("status")).to_contain_text("2 changes are ready to import.")
    shot(page, "people-import-preview")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported: 2 new people")).to_be_visible()
    sophie = User.objects.get(email="sophie.martin@example.com")
    assert list(sophie.teams.all()) == [team]

    # 4. A campaign is announced to the team.
    campaign = announce(campaign_for(owner=make_marketer(), teams=[team], title="Vœux 2027"))

    # 5. Sophie signs in with the company account: the imported account is hers.
    advisor = page.context.browser.new_context(locale="en-GB")
    sophie_page = advisor.new_page()
    sophie_page.set_default_timeout(10_000)
    sophie_page.goto(live_server.url + reverse("account_login"))
    sophie_page.get_by_role("button", name="Sign in with Company").click()
    sophie_page.get_by_label("Username").fill("sophie")
    sophie_page.get_by_label("Password").fill("provider-pass-1")
    sophie_page.get_by_role("button", name="Sign in to the company").click()
    sophie_page.wait_for_url(re.compile(re.escape(live_server.url) + r"/feed/.*"))
    assert User.objects.filter(email="sophie.martin@example.com").count() == 1
    advisor.close()

    # 6. From the e-mail, in a browser with no session: one tap.
    row = Notification.objects.get(campaign=campaign, recipient=sophie, channel=Channel.EMAIL)
    ack_path = re.search(r"/campaigns/ack/\S+/", build_email(row).body).group(0)
    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    tap = phone.new_page()
    tap.goto(live_server.url + ack_path)
    tap.get_by_role("button", name="Acknowledge").click()
    expect(tap.get_by_role("status")).to_contain_text("Acknowledged for Conseillers clientèle")
    phone.close()
    assert Stakeholder.objects.get(campaign=campaign).acknowledged_by == sophie
    assert not any(path.startswith("/admin/") for path in visited)
