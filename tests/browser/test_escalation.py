"""A lead opens the escalation in the inbox, sees who has not acknowledged, and nudges
them in one click (desk and phone width)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Stakeholder
from campaigns.services import campaigns_send_due_reminders_and_escalations
from notifications.models import Channel, Kind, Notification
from teams.models import Membership, Team
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, TeamFactory, announced_campaign
from tests.support.browser import log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_lead_opens_the_escalation_and_nudges(browser_page, live_server, width):
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    team = TeamFactory(name="Boutiques", slug="boutiques", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    lead = MembershipFactory(
        team=team,
        role=Membership.Role.LEAD,
        user__full_name="Léa Lead",
        user__email="lea@example.test",
    ).user
    for name in ("Bruno Retard", "Chloé Retard"):
        MembershipFactory(team=team, user__full_name=name)
    campaign = announced_campaign(
        teams=[team], title="Soldes d'hiver", launch_at=timezone.now() + timedelta(days=5)
    )
    Stakeholder.objects.filter(campaign=campaign).update(
        due_at=timezone.now() - timedelta(minutes=5)
    )
    campaigns_send_due_reminders_and_escalations()

    log_in(page, live_server, lead.email, DEFAULT_PASSWORD, expect_path="/feed/")
    page.goto(f"{live_server.url}/notifications/")
    notice = page.locator("li.kind-escalation")
    notice.wait_for()
    text = " ".join(notice.inner_text().split())
    assert "Not acknowledged yet: Bruno Retard, Chloé Retard, Léa Lead." in text
    assert notice.get_by_role("link", name="See the team's pending acknowledgements").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"escalation-inbox-{width}")

    notice.get_by_role("button", name="Nudge them").click()
    notice.get_by_text("3 people nudged.").wait_for()
    shot(page, f"escalation-nudged-{width}")

    nudged = Notification.objects.filter(
        kind=Kind.REMINDER, channel=Channel.IN_APP, dispatch__payload__nudged_by="Léa Lead"
    )
    assert nudged.count() == 3

    notice.get_by_role("link", name="See the team's pending acknowledgements").click()
    page.wait_for_url(f"{live_server.url}/dashboard/teams/boutiques/")
    assert page.get_by_role("heading", name="Boutiques").is_visible()
