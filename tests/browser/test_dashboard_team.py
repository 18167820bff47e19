import re
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Stakeholder
from notifications.models import Kind, Notification
from teams.models import Team
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    TeamFactory,
    announced_campaign,
    make_manager,
)
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_nudges_a_person_without_reload(browser_page, live_server):
    page = browser_page
    make_manager(email="boss@example.test", full_name="Manon Manager")
    team = TeamFactory(name="Ventes", slug="ventes", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    person = MembershipFactory(team=team, user__full_name="Paul Pending").user
    MembershipFactory(team=team, user__full_name="Zoé Zen")
    campaign = announced_campaign(teams=[team], title="Vœux 2027")
    # Some history for the trend chart: on time two weeks ago, late last week.
    now = timezone.now()
    for weeks_ago, acknowledged_early in ((2, True), (1, False)):
        past = announced_campaign(teams=[team], title=f"Past {weeks_ago}")
        due = now - timedelta(weeks=weeks_ago)
        Stakeholder.objects.filter(campaign=past).update(
            due_at=due,
            acknowledged_version=past.version,
            acknowledged_at=due + timedelta(hours=-1 if acknowledged_early else 1),
        )

    log_in(page, live_server, "boss@example.test", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/teams/ventes/")
    page.evaluate("window.notReloaded = true")
    # The button says nothing but its name and value: htmx sends them with the page's one
    # form's token, and disables the button while the nudge is on its way.
    page.evaluate(
        "document.addEventListener('htmx:beforeSend', (e) => {"
        " window.sentWhileDisabled = e.detail.elt.disabled; })"
    )
    cell = page.locator(f"#nudge-{campaign.pk}-{person.pk}")
    with page.expect_request(lambda request: request.method == "POST") as sent:
        cell.get_by_role("button", name="Nudge").click()
    posted = parse_qs(sent.value.post_data or "")
    assert posted["nudge"] == [f"{campaign.pk}-{person.pk}"]
    assert posted["csrfmiddlewaretoken"][0]
    assert sent.value.url.endswith("/dashboard/teams/ventes/nudge/")

    page.locator(f"#nudge-{campaign.pk}-{person.pk}").get_by_role(
        "button", name="Nudged"
    ).wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert page.evaluate("window.sentWhileDisabled") is True
    assert page.get_by_role("img", name="Ventes: acknowledged on time, per week").is_visible()
    assert page.locator("svg.chart-line text", has_text="100%").count() >= 1
    shot(page, "dashboard-team-nudged")


def test_manager_filters_the_dashboard_opens_a_team_and_nudges(browser_page, live_server):
    page = browser_page
    make_manager(email="boss@example.test", full_name="Manon Manager")
    ventes = TeamFactory(name="Ventes", slug="ventes")
    support = TeamFactory(name="Support", slug="support")
    paul = MembershipFactory(team=ventes, user__full_name="Paul Pending").user
    MembershipFactory(team=support, user__full_name="Sam Support")
    greeting = announced_campaign(teams=[ventes], title="Vœux par e-mail", channel="email")
    reminder = announced_campaign(teams=[support], title="Relance SMS", channel="sms")

    log_in(page, live_server, "boss@example.test", DEFAULT_PASSWORD)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    expect(page.locator(f"#dash-campaign-{reminder.pk}")).to_be_visible()

    # Filtering swaps the figures in place and keeps the filter in the address bar.
    page.get_by_label("Channel").select_option("email")
    expect(page).to_have_url(re.compile(r"channel=email"))
    expect(page.locator(f"#dash-campaign-{reminder.pk}")).to_have_count(0)
    expect(page.locator(f"#dash-campaign-{greeting.pk}")).to_be_visible()
    expect(page.locator(f"#dash-team-{support.pk}")).to_have_count(0)
    shot(page, "dashboard-filtered")

    page.locator(f"#dash-team-{ventes.pk}").get_by_role("link", name="Ventes").click()
    page.wait_for_url(f"{live_server.url}/dashboard/teams/ventes/")
    expect(page.locator("#pending-totals")).to_contain_text("1 campaign waits")
    # By keyboard: focus the Nudge button, press Enter; focus lands on the answer.
    page.locator(f"#nudge-{greeting.pk}-{paul.pk}").get_by_role("button", name="Nudge").focus()
    page.keyboard.press("Enter")
    answer = page.locator(f"#nudge-{greeting.pk}-{paul.pk}")
    expect(answer.get_by_role("button", name="Nudged")).to_be_visible()
    expect(answer).to_be_focused()

    # The nudge is real: Paul has a reminder in his outbox.
    reminders = Notification.objects.filter(recipient=paul, campaign=greeting, kind=Kind.REMINDER)
    assert reminders.exists()


PHONE = {"width": 390, "height": 844}

# Every box inside <main> that scrolls (or clips) sideways because its content is wider:
# what a phone user would have to discover by swiping. Tables scroll on purpose.
_SIDEWAYS = """
() => [...document.querySelectorAll('main *')]
  .filter((el) => el instanceof HTMLElement && !el.closest('.visually-hidden'))
  .filter((el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX))
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .filter((el) => !el.closest('table, details:not([open]), .overflow-auto'))
  .map((el) => el.tagName.toLowerCase() + '.' + [...el.classList].join('.'))
"""


def test_the_dashboard_bar_chart_fits_a_phone(browser_page, live_server):
    page = browser_page
    make_manager(email="boss@example.test", full_name="Manon Manager")
    teams = [
        TeamFactory(name=name)
        for name in ("Conseillers clientèle", "Ventes", "Service après-vente et réclamations")
    ]
    for team in teams:
        announced_campaign(teams=[team], title=f"Soldes {team.name}")
    page.set_viewport_size(PHONE)
    log_in(page, live_server, "boss@example.test", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")

    chart = page.get_by_role("img", name="On-time acknowledgement rate per team")
    expect(chart).to_have_count(1)  # the wide drawing is hidden, not read twice
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    # Labels sit above their bars, at a readable size once scaled to the screen.
    label = chart.locator("text", has_text="Conseillers clientèle")
    text_box = label.bounding_box()
    assert text_box is not None
    assert text_box["height"] >= 12
    assert page.evaluate(_SIDEWAYS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "dashboard-phone")

    # The team page's weekly line keeps its size and scrolls inside its box: a cue says so.
    page.goto(f"{live_server.url}/dashboard/teams/{teams[0].slug}/")
    expect(page.locator(".chart-scroll-cue")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # It opens on the latest weeks (the line's right end in view), what a manager looks
    # for; the cue points back to the earlier ones.
    assert (
        page.evaluate(
            "(() => { const figure = document.querySelector('figure.chart-figure');"
            " const line = figure.querySelector('svg.chart-line');"
            " return Math.round(line.getBoundingClientRect().right"
            " - figure.getBoundingClientRect().right); })()"
        )
        <= 1
    )
    expect(page.locator(".chart-scroll-cue")).to_contain_text("earlier weeks")

    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.locator(".chart-scroll-cue")).to_be_hidden()
    page.goto(f"{live_server.url}/dashboard/")
    expect(chart).to_have_count(1)
    assert page.locator("svg.chart-wide").is_visible()
    assert not page.locator("svg.chart-narrow").is_visible()


def test_a_lead_opens_a_long_row_and_nudges_one_of_its_people(browser_page, live_server):
    """Past 4 people a row is read when opened: the list arrives in place, and its buttons
    nudge as the short rows' do."""
    page = browser_page
    make_manager(email="boss@example.test", full_name="Manon Manager")
    team = TeamFactory(name="Ventes", slug="ventes", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    people = [MembershipFactory(team=team, user__full_name=f"Personne {n}").user for n in range(6)]
    campaign = announced_campaign(teams=[team], title="Vœux 2027")

    log_in(page, live_server, "boss@example.test", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/teams/ventes/")
    page.evaluate("window.notReloaded = true")
    lists_read = []
    page.on(
        "request",
        lambda r: (
            lists_read.append(r.url) if "/nudge-all/" in r.url and r.method == "GET" else None
        ),
    )
    row = page.locator(f"#pending-{campaign.pk}")
    expect(row.locator(".nudge")).to_have_count(0)
    with page.expect_response(lambda r: "/nudge-all/" in r.url and r.request.method == "GET"):
        row.get_by_text("6 people").click()
    expect(row.get_by_role("button", name="Nudge")).to_have_count(6)
    expect(row.get_by_role("link", name="See who, and nudge them")).to_have_count(0)

    cell = row.locator(f"#nudge-{campaign.pk}-{people[2].pk}")
    with page.expect_request(lambda request: request.method == "POST") as sent:
        cell.get_by_role("button", name="Nudge").click()
    assert parse_qs(sent.value.post_data or "")["nudge"] == [f"{campaign.pk}-{people[2].pk}"]
    expect(cell.get_by_role("button", name="Nudged")).to_be_visible()
    # Closing and opening the row again keeps what it shows: read once.
    row.get_by_text("6 people").click()
    row.get_by_text("6 people").click()
    expect(row.get_by_role("button", name="Nudged")).to_have_count(1)
    page.wait_for_timeout(300)  # time for a second read to leave, were there one
    assert len(lists_read) == 1, lists_read
    assert page.evaluate("window.notReloaded") is True
    reminded = Notification.objects.filter(kind=Kind.REMINDER).values_list("recipient", flat=True)
    assert set(reminded) == {people[2].pk}
    shot(page, "dashboard-team-long-row-opened")


def test_a_long_row_that_cannot_be_read_keeps_its_link_to_the_nudge_them_page(
    browser_page, live_server
):
    """When reading the list fails (the server or the network), the row keeps its link,
    which opens the "Nudge them" page listing the same people: nothing is lost."""
    page = browser_page
    make_manager(email="boss@example.test", full_name="Manon Manager")
    team = TeamFactory(name="Ventes", slug="ventes", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    for n in range(6):
        MembershipFactory(team=team, user__full_name=f"Personne {n}")
    campaign = announced_campaign(teams=[team], title="Vœux 2027")

    log_in(page, live_server, "boss@example.test", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/teams/ventes/")
    page.route("**/nudge-all/**", lambda route: route.abort())
    row = page.locator(f"#pending-{campaign.pk}")
    with page.expect_event("requestfailed"):
        row.get_by_text("6 people").click()
    link = row.get_by_role("link", name="See who, and nudge them")
    expect(link).to_be_visible()
    expect(row.get_by_role("button", name="Nudge")).to_have_count(0)
    shot(page, "dashboard-team-long-row-unreadable")

    page.unroute("**/nudge-all/**")
    link.click()
    expect(page.get_by_role("heading", name=re.compile("Nudge Ventes about"))).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text="Personne 5")).to_have_count(1)
    expect(page.get_by_role("button", name="Nudge them")).to_be_visible()
