"""The audit page in Chromium: reached from the dashboard, filtered with htmx."""

import re

import pytest
from django.db import transaction

from audit.models import AuditAction
from audit.services import record_audit_event
from campaigns.services import campaign_override_done
from notifications.subscriptions import subscription_token_regenerate
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    make_manager,
)
from tests.support.browser import browser_page  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
def test_screenshot_of_the_audit_log(browser_page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    from tests.support.browser import log_in, shot

    manager = make_manager(email="boss@example.test", full_name="Manon Manager")
    admin = UserFactory(full_name="Ada Admin", is_staff=True, is_superuser=True)
    ventes = TeamFactory(name="Ventes")
    alice = MembershipFactory(team=ventes, user__full_name="Alice Martin").user
    with transaction.atomic():
        record_audit_event(
            actor=admin,
            action=AuditAction.TEAM_CREATED,
            target=ventes,
            details={"via": "admin", "name": {"new": "Ventes"}, "kind": {"new": "sales"}},
        )
        record_audit_event(
            actor=admin,
            action=AuditAction.WEBHOOK_SET,
            target=ventes,
            details={"via": "admin", "webhook_url": {"new": "https://hooks.slack.com/x/y/z"}},
        )
        record_audit_event(
            actor=admin,
            action=AuditAction.MEMBERSHIP_ADDED,
            target=ventes,
            details={"via": "admin", "user_id": alice.pk, "role": "member"},
        )
        record_audit_event(
            actor=admin,
            action=AuditAction.ROLE_CHANGED,
            target=ventes,
            details={"via": "admin", "user_id": alice.pk, "role": {"old": "member", "new": "lead"}},
        )
    subscription_token_regenerate(user=alice)
    campaign = announced_campaign(title="Soldes d'hiver", teams=[TeamFactory(name="Support")])
    campaign_override_done(actor=manager, campaign_id=campaign.pk, reason="Launch moved up")

    page = browser_page
    log_in(page, live_server, manager.email, DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.locator("#audit-rows tr")).to_have_count(6)
    expect(page.locator("#audit-rows")).to_contain_text("Alice Martin")
    expect(page.locator("#audit-rows")).not_to_contain_text("/x/y/z")
    shot(page, "audit-01-log")

    page.get_by_label("What").select_option(label="Role changed")
    expect(page).to_have_url(re.compile(r"action=role_changed"))
    expect(page.locator("#audit-rows tr")).to_have_count(1)
    expect(page.locator("#audit-rows")).to_contain_text("member → lead")
    shot(page, "audit-02-filtered")
