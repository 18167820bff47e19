"""The campaign form in a real browser: inline errors without reload, the Markdown preview,
default teams per channel, KPI rows, an attachment and a duplicate; on a desktop and on a
390 px phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Attachment, Campaign, ChannelDefaultTeam
from tests.campaigns.files import png
from tests.factories import DEFAULT_PASSWORD, CampaignFactory, TeamFactory
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def teams():
    teams = {
        name: TeamFactory(name=name)
        for name in ("Communication", "Conseillers clientèle", "Ventes")
    }
    ChannelDefaultTeam.objects.create(channel="email", team=teams["Ventes"])
    ChannelDefaultTeam.objects.create(channel="email", team=teams["Conseillers clientèle"])
    ChannelDefaultTeam.objects.create(channel="sms", team=teams["Conseillers clientèle"])
    return teams


def _settled(page) -> None:
    # The channel select itself is swapped back in out of band: choosing again before
    # htmx has processed the new element would change a select nobody listens to yet.
    # A function, not a bare expression: Playwright evaluates an expression with eval(),
    # which the page's Content-Security-Policy refuses.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        " && !!htmx.find('#id_channel[hx-get]')"
        " && htmx.find('#id_channel')['htmx-internal-data'] !== undefined"
    )


def _no_page_reload_since_marked(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_marketer_fills_previews_saves_attaches_and_duplicates(
    browser_page, live_server, marketer, teams, storage
):
    page = browser_page
    launch_at = timezone.localtime() + timedelta(days=12)
    launch = launch_at.strftime("%Y-%m-%dT%H:%M")
    CampaignFactory(
        title="Newsletter de décembre",
        audience="Clients et prospects actifs (base CRM)",
        launch_at=launch_at + timedelta(days=1),
    )

    log_in(page, live_server, marketer.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/campaigns/new/")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # Choosing a channel checks its usual teams; the marketer can still change them.
    page.get_by_label("Title").fill("Carte de vœux 2027")
    page.get_by_label("Channel").select_option("email")
    page.get_by_text("Checked for E-mail: Conseillers clientèle, Ventes.").wait_for()
    _settled(page)
    assert page.get_by_label("Ventes").is_checked()
    assert page.get_by_label("Conseillers clientèle").is_checked()
    assert not page.get_by_label("Communication").is_checked()
    page.get_by_label("Channel").select_option("sms")
    page.get_by_text("Checked for SMS: Conseillers clientèle.").wait_for()
    _settled(page)
    assert not page.get_by_label("Ventes").is_checked()
    page.get_by_label("Channel").select_option("email")
    page.get_by_text("Checked for E-mail").wait_for()
    page.get_by_label("Communication").check()

    # An inline error as the field is left, without a reload; it goes once fixed.
    recipients = page.get_by_label("Estimated recipients")
    recipients.fill("-5")
    recipients.press("Tab")
    error = page.locator("#field-estimated_recipients .field-error")
    error.wait_for()
    assert error.inner_text() == "Estimated recipients cannot be negative."
    assert page.get_by_label("Estimated recipients").get_attribute("aria-invalid") == "true"
    assert _no_page_reload_since_marked(page)
    shot(page, "form-01-inline-error")
    page.get_by_label("Estimated recipients").fill("40000")
    page.get_by_label("Estimated recipients").press("Tab")
    error.wait_for(state="detached")

    # The contact-pressure warning follows audience and launch date, even after the
    # inline checks have replaced those inputs.
    page.get_by_label("Audience").fill("Clients fidèles")
    page.get_by_label("Audience").press("Tab")
    page.get_by_label("Launch date").fill(launch)
    page.get_by_label("Launch date").press("Tab")
    page.get_by_label("Audience").fill("Clients et prospects actifs")
    page.get_by_label("Audience").press("Tab")
    page.locator("#contact-pressure").get_by_text("Newsletter de décembre").wait_for()
    page.get_by_label("Summary").fill("Nos vœux envoyés à toute la base clients.")
    page.get_by_label("Body").fill(
        "## Points clés\n\n- Aucune offre commerciale\n- Répondre avec **bienveillance**"
    )
    page.get_by_label("Objective").fill("Entretenir la relation.")

    # The Markdown preview, without a reload.
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#body-preview")
    preview.get_by_role("heading", name="Points clés").wait_for()
    assert preview.locator("strong").inner_text() == "bienveillance"
    assert _no_page_reload_since_marked(page)

    # KPI rows: two empty ones to start with, "Add a KPI" appends a third.
    page.locator("#id_kpis-0-name").fill("Taux d'ouverture (%)")
    page.locator("#id_kpis-0-target").fill("35")
    page.locator("#id_kpis-1-name").fill("Clics vers la vidéo")
    page.locator("#id_kpis-1-target").fill("2500")
    page.get_by_role("button", name="Add a KPI").click()
    page.locator("#id_kpis-2-name").wait_for()
    assert page.locator("#id_kpis-TOTAL_FORMS").input_value() == "3"
    page.locator("#id_kpis-2-name").fill("Désinscriptions (maximum)")
    page.locator("#id_kpis-2-target").fill("150")
    assert _no_page_reload_since_marked(page)
    shot(page, "form-02-new-campaign-desktop")

    page.set_viewport_size(PHONE)
    shot(page, "form-03-new-campaign-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save and add files").click()
    page.get_by_text("Draft saved. Add its files below.").wait_for()
    campaign = Campaign.objects.get(title="Carte de vœux 2027")
    assert campaign.estimated_recipients == 40000
    assert set(campaign.teams.values_list("name", flat=True)) == {
        "Ventes",
        "Conseillers clientèle",
        "Communication",
    }
    assert list(campaign.kpis.values_list("name", "target")) == [
        ("Taux d'ouverture (%)", 35),
        ("Clics vers la vidéo", 2500),
        ("Désinscriptions (maximum)", 150),
    ]

    # An attachment: a refused file first, then a real image.
    page.evaluate("window.__sameDocument = true")
    upload = page.get_by_label("Add a file")
    upload.set_input_files(
        files=[{"name": "virus.png", "mimeType": "image/png", "buffer": b"MZ not an image"}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("“virus.png” was refused: its content is not a PNG file.").wait_for()
    page.get_by_label("Add a file").set_input_files(
        files=[{"name": "visuel-voeux.png", "mimeType": "image/png", "buffer": png(320, 200)}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("“visuel-voeux.png” attached.").wait_for()
    thumbnail = page.locator("#attachments img")
    thumbnail.wait_for()
    page.wait_for_function("() => document.querySelector('#attachments img').naturalWidth > 0")
    assert _no_page_reload_since_marked(page)
    assert Attachment.objects.get().original_name == "visuel-voeux.png"
    shot(page, "form-04-edit-with-attachment")
    page.set_viewport_size(PHONE)
    shot(page, "form-05-edit-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size({"width": 1280, "height": 900})

    # Saved teams are kept on the edit page (not replaced by the channel's defaults).
    assert page.get_by_label("Communication").is_checked()
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Changes saved.").wait_for()
    assert page.locator("#attachments").get_by_role("link", name="visuel-voeux.png").is_visible()

    # Duplicate from the campaign page: next year's card.
    page.get_by_role("button", name="Duplicate").click()
    page.get_by_text("Copied as a new draft").wait_for()
    assert re.search(r"/campaigns/\d+/edit/$", page.url)
    assert page.get_by_label("Title").input_value() == "Carte de vœux 2027 (copy)"
    assert page.get_by_label("Launch date").input_value() == ""
    assert page.locator("#id_kpis-1-target").input_value() == "2500"
    shot(page, "form-06-duplicate")
    copy = Campaign.objects.get(title="Carte de vœux 2027 (copy)")
    assert copy.status == Campaign.Status.DRAFT
    assert copy.launch_at is None


def test_plain_post_without_javascript_shows_every_error(
    browser_page, live_server, marketer, teams
):
    """With JavaScript off, a bad form comes back whole, every error next to its field."""
    context = browser_page.context.browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    log_in_without_js(page, live_server, marketer.email)
    page.goto(f"{live_server.url}/campaigns/new/")
    page.get_by_label("Estimated recipients").fill("-5")
    page.get_by_label("Body").fill("Bonjour <script>alert(1)</script>")
    page.get_by_role("button", name="Save draft", exact=True).click()

    page.get_by_text("Nothing was saved. Please correct the following:").wait_for()
    assert page.locator("#field-title .field-error").inner_text() == "Title is required."
    assert (
        "cannot be negative"
        in page.locator("#field-estimated_recipients .field-error").inner_text()
    )
    assert "must not contain" in page.locator("#field-body .field-error").inner_text()
    shot(page, "form-07-no-js-errors")
    page.get_by_role("button", name="Preview").click()
    page.locator("#body-preview").get_by_text("Bonjour").wait_for()
    assert not Campaign.objects.exists()
    context.close()


def log_in_without_js(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/campaigns/")
