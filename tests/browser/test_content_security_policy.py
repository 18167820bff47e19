"""Under the Content-Security-Policy, the htmx interactions still work in Chromium: the
inbox's mark-read and "older notifications" (formerly hx-on handlers), acknowledging, the
feed's filters and its in-place acknowledgement. The browser_page fixture fails the test
on any violation; the last test shows that watch does catch one."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, Stakeholder
from feed.selectors import Week
from notifications import services as notifications
from notifications.models import Kind, Notification
from tests.factories import (
    DEFAULT_PASSWORD,
    CampaignFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
)
from tests.support.browser import csp_violations, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def inbox(advisor, support_team, marketer):
    """One announcement the advisor can acknowledge, under 35 older notes about as many
    campaigns (notes about one campaign fold into one card): two pages."""
    start = timezone.now() - timedelta(days=2)
    for i in range(35):
        older = CampaignFactory(owner=marketer)
        with transaction.atomic():
            notifications.notifications_enqueue(
                campaign_id=older.pk,
                campaign_version=1,
                kind=Kind.FEEDBACK,
                user_ids=[advisor.pk],
                payload={"title": f"Note {i:02d}", "path": "/"},
                occurrence=f"note-{i}",
            )
    Notification.objects.filter(recipient=advisor).update(created_at=start)
    launch = timezone.now() + timedelta(hours=1)
    campaign = announced_campaign(
        owner=marketer, teams=[support_team], title="Relance SMS soldes", launch_at=launch
    )
    other = CampaignFactory(
        owner=marketer,
        title="Offre parrainage",
        launch_at=launch,
        status=Campaign.Status.ANNOUNCED,
    )
    StakeholderFactory(campaign=other, team=TeamFactory(name="Ventes"))
    return campaign


def unread_badge(page) -> str:
    return page.locator("#unread-count").inner_text()


def test_inbox_and_feed_interactions_work_under_the_policy(
    browser_page, live_server, advisor, support_team, inbox
):
    page = browser_page
    log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
    response = page.goto(f"{live_server.url}/notifications/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    # htmx and the page script carry this response's nonce (Chromium hides nonce values
    # from the DOM, so the served HTML is read) and did run.
    assert response.text().count(f'nonce="{nonce}"') >= 2
    assert page.evaluate("() => typeof window.htmx") == "object"
    page.evaluate("() => { window.__sameDocument = true; }")

    expect(page.locator("li.inbox-item")).to_have_count(30)
    before = int(unread_badge(page))
    first = page.locator("li.inbox-item.is-unread").first
    first_id = first.get_attribute("id")
    first.get_by_role("button", name="Mark as read").click()
    item = page.locator(f"#{first_id}")
    expect(item).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(item.get_by_role("button", name="Mark as read")).to_have_count(0)
    expect(page.locator("#unread-count")).to_have_text(str(before - 1))
    assert Notification.objects.get(pk=first_id.split("-")[-1]).read_at is not None

    page.get_by_role("link", name="Older notifications").click()
    expect(page.locator("li.inbox-item")).to_have_count(36)
    expect(page.get_by_role("link", name="Older notifications")).to_have_count(0)
    assert page.evaluate("() => window.__sameDocument === true"), "the page reloaded"
    shot(page, "csp-01-inbox")

    # The inbox's Acknowledge is a plain form: it posts and comes back to the inbox.
    page.get_by_role("button", name="Acknowledge").first.click()
    page.wait_for_url(f"{live_server.url}/notifications/")
    expect(page.locator(".pill-ok").first).to_be_visible()
    assert Stakeholder.objects.get(campaign=inbox, team=support_team).acknowledged_version

    # The launch week's feed: an hour from now may already be next week.
    page.goto(f"{live_server.url}/feed/{Week.of(timezone.localdate(inbox.launch_at))}/")
    page.evaluate("() => { window.__sameDocument = true; }")
    expect(page.get_by_role("link", name="Offre parrainage")).to_be_visible()
    page.get_by_label("Teams").select_option("mine")
    expect(page.get_by_role("link", name="Offre parrainage")).to_have_count(0)
    expect(page.get_by_role("link", name="Relance SMS soldes")).to_be_visible()
    assert "teams=mine" in page.url
    item = page.locator(f"#feed-item-{inbox.pk}")
    item.get_by_text("Talking points").click()
    expect(item.locator(".feed-body")).not_to_be_empty()
    assert page.evaluate("() => window.__sameDocument === true"), "the page reloaded"
    shot(page, "csp-02-feed")


def test_the_watch_reports_what_the_policy_blocks(browser_page, live_server, advisor):
    """The fixture's watch does catch violations, on its first page and on a context the
    test opens itself: an inline style and an inline script are both reported (then
    forgotten, so this deliberate breach does not fail the test)."""
    second = browser_page.context.browser.new_context()
    for page in (browser_page, second.new_page()):
        log_in(page, live_server, advisor.email, DEFAULT_PASSWORD, expect_path="/feed/")
        page.evaluate(
            """() => {
            document.body.insertAdjacentHTML('beforeend', '<p style="color: red">x</p>');
            const script = document.createElement('script');
            script.textContent = 'window.__ran = true';
            document.body.append(script);
        }"""
        )
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__ran === undefined"), "the inline script ran"
        blocked = "\n".join(csp_violations(page))
        assert "style-src" in blocked
        assert "script-src" in blocked
        csp_violations(page).clear()
    second.close()


def test_the_admin_scripts_run_under_the_policy(browser_page, live_server):
    """Django's admin keeps its behaviour (prepopulated slug, inline rows, the action
    bar's counter) under the policy: its scripts are files and its data is JSON."""
    UserFactory(email="root@example.test", is_staff=True, is_superuser=True)
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/")
    page.locator("#id_username").fill("root@example.test")
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/teams/team/add/")
    page.locator("#id_name").press_sequentially("Équipe Ventes Sud")  # prepopulate.js: keyup
    expect(page.locator("#id_slug")).to_have_value("equipe-ventes-sud")
    rows = page.locator(".dynamic-memberships, .dynamic-membership_set")
    before = rows.count()
    page.locator(".add-row a").first.click()
    expect(rows).to_have_count(before + 1)
    shot(page, "csp-03-admin-team-add")

    TeamFactory(name="Ventes Nord")
    page.goto(f"{live_server.url}/admin/teams/team/")
    page.locator("input.action-select").first.check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
