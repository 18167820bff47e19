"""Messages that never reached a team, on the overview and the team page.

| campaign          | status    | teams               | failed messages                          |
|-------------------|-----------|---------------------|------------------------------------------|
| Soldes            | announced | Ventes, Conseillers | Paul (e-mail), Multi (e-mail), chat      |
| Webinaire         | announced | Ventes              | Multi (in-app)                           |
| Vœux              | done      | Ventes              | Paul (e-mail): no longer counted         |
| Soldes            |           |                     | Olga, outside both teams (e-mail): never |

Multi belongs to both teams: her Soldes e-mail counts for each, her Webinaire notice
only for Ventes (Conseillers is not told about Webinaire). Ventes 3, Conseillers 2.
"""

import base64
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign
from dashboards import drilldown
from notifications import services as notifications
from notifications.models import Channel, FailureReason, Kind, Notification
from teams.models import Membership, Team
from tests.dashboards.test_overview import read_csv
from tests.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    make_manager,
    make_marketer,
)
from tests.support.browser import browser_page  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db
Status = Notification.Status
OVERVIEW = reverse("dashboards:overview")


def fail(campaign: Campaign, *, channel: str, reason: str, **addressee: object) -> Notification:
    row = Notification.objects.get(campaign=campaign, channel=channel, **addressee)
    Notification.objects.filter(pk=row.pk).update(status=Status.FAILED, failure_reason=reason)
    return row


@pytest.fixture
def world():
    ventes = TeamFactory(name="Ventes", slug="ventes")
    conseillers = TeamFactory(
        name="Conseillers", slug="conseillers", webhook_url="http://127.0.0.1:9/hook"
    )
    paul = MembershipFactory(team=ventes, user__full_name="Paul Vendeur").user
    multi = MembershipFactory(team=ventes, user__full_name="Multi Casquette").user
    MembershipFactory(team=conseillers, user=multi)
    MembershipFactory(team=conseillers, user__full_name="Zoé Conseil")
    lead = MembershipFactory(team=conseillers, role=Membership.Role.LEAD).user
    owner = make_marketer(full_name="Marie Marketing")
    soldes = announced_campaign(owner=owner, teams=[ventes, conseillers], title="Soldes")
    webinaire = announced_campaign(owner=owner, teams=[ventes], title="Webinaire")
    voeux = announced_campaign(owner=owner, teams=[ventes], title="Vœux")

    fail(soldes, channel=Channel.EMAIL, reason=FailureReason.BOUNCED, recipient=paul)
    fail(soldes, channel=Channel.EMAIL, reason=FailureReason.MAILBOX_UNAVAILABLE, recipient=multi)
    fail(soldes, channel=Channel.WEBHOOK, reason=FailureReason.WEBHOOK_GONE, team=conseillers)
    fail(webinaire, channel=Channel.IN_APP, reason=FailureReason.GAVE_UP, recipient=multi)
    fail(voeux, channel=Channel.EMAIL, reason=FailureReason.BOUNCED, recipient=paul)
    Campaign.objects.filter(pk=voeux.pk).update(status=Campaign.Status.DONE)
    olga = UserFactory(full_name="Olga Ailleurs")
    notifications.notifications_enqueue(
        campaign_id=soldes.pk,
        campaign_version=soldes.version,
        kind=Kind.FEEDBACK,
        payload={"title": soldes.title},
        user_ids=[olga.pk],
    )
    fail(soldes, channel=Channel.EMAIL, reason=FailureReason.BOUNCED, recipient=olga)
    return {
        "ventes": ventes,
        "conseillers": conseillers,
        "soldes": soldes,
        "webinaire": webinaire,
        "lead": lead,
        "paul": paul,
        "multi": multi,
    }


def team_rows(response) -> dict[str, int]:
    return {team.name: team.undelivered for team in response.context["teams"]}


def test_the_overview_counts_undelivered_messages_per_team(client, world):
    client.force_login(make_manager())
    response = client.get(OVERVIEW)

    assert team_rows(response) == {"Ventes": 3, "Conseillers": 2}
    body = response.content.decode()
    row = body.split(f'id="dash-team-{world["ventes"].pk}"')[1].split("</tr>")[0]
    assert "3 messages" in row
    assert reverse("dashboards:team", args=["ventes"]) + "#undelivered-title" in row


def test_a_lead_sees_only_their_teams_count(client, world):
    client.force_login(world["lead"])
    assert team_rows(client.get(OVERVIEW)) == {"Conseillers": 2}


def test_the_filters_narrow_the_count_as_they_narrow_the_other_figures(client, world):
    client.force_login(make_manager())
    by_owner = client.get(OVERVIEW, {"owner": world["soldes"].owner_id})
    assert team_rows(by_owner) == {"Ventes": 3, "Conseillers": 2}
    by_team = client.get(OVERVIEW, {"team": world["conseillers"].pk})
    assert team_rows(by_team) == {"Conseillers": 2}
    assert team_rows(client.get(OVERVIEW, {"channel": "sms"})) == {}


def test_a_team_with_nothing_else_to_show_still_gets_its_row(client, world):
    # Every acknowledgement is in, nothing overdue, announced long ago: only the failures.
    Notification.objects.filter(status=Status.FAILED).exclude(team=world["conseillers"]).delete()
    client.force_login(make_manager())
    response = client.get(
        OVERVIEW, {"period": "custom", "date_from": "2000-01-01", "date_to": "2000-01-02"}
    )
    assert team_rows(response) == {"Conseillers": 1}


def test_the_csv_export_has_the_count(client, world):
    client.force_login(make_manager())
    response = client.get(OVERVIEW, {"format": "csv", "table": "teams"})
    header, *rows = read_csv(response)
    column = header.index("Undelivered messages now")
    assert {row[0]: row[column] for row in rows} == {"Conseillers": "2", "Ventes": "3"}


def test_the_team_page_lists_who_did_not_get_what(client, world):
    client.force_login(make_manager())
    response = client.get(reverse("dashboards:team", args=["conseillers"]))

    page = response.context["undelivered"]
    assert page.total == 2
    who = {(n.campaign.title, n.recipient.full_name if n.recipient else "chat") for n in page.rows}
    assert who == {("Soldes", "Multi Casquette"), ("Soldes", "chat")}
    body = response.content.decode()
    section = body.split('id="undelivered-title"')[1].split("</section>")[0]
    assert "2 messages about announced campaigns could not be delivered" in section
    assert "Multi Casquette" in section
    assert "The team's chat" in section
    assert "The team chat webhook no longer exists" in section
    assert reverse("campaigns:detail", args=[world["soldes"].pk]) + "#delivery-failures" in section


def test_the_team_page_says_when_nothing_failed(client):
    team = TeamFactory(name="Calme", slug="calme")
    MembershipFactory(team=team)
    announced_campaign(teams=[team])
    client.force_login(make_manager())
    body = client.get(reverse("dashboards:team", args=["calme"])).content.decode()
    assert "No message about an announced campaign failed to reach this team." in body


def test_the_team_page_lists_the_first_rows_and_counts_them_all(world):
    page = drilldown.team_undelivered(team=world["ventes"], limit=2)
    assert (len(page.rows), page.total) == (2, 3)
    # Soonest launch first (Soldes and Webinaire launch at the same time: by campaign).
    assert [n.campaign.title for n in page.rows] == ["Soldes", "Soldes"]


def test_the_team_pages_stamp_counts_what_the_page_lists_as_it_changes(world):
    # Its SQL is built once per team and kept: it must hold the team, and nothing else.
    ventes, conseillers = world["ventes"], world["conseillers"]
    assert drilldown.team_undelivered_count(team=ventes) == 3
    assert drilldown.team_undelivered_count(team=conseillers) == 2
    fail(
        world["webinaire"],
        channel=Channel.EMAIL,
        reason=FailureReason.BOUNCED,
        recipient=world["paul"],
    )
    Membership.objects.filter(team=conseillers, user=world["multi"]).delete()
    assert drilldown.team_undelivered_count(team=ventes) == 4
    assert drilldown.team_undelivered_count(team=conseillers) == 1
    for team in (ventes, conseillers):
        assert (
            drilldown.team_undelivered_count(team=team)
            == drilldown.team_undelivered(team=team).total
        )


def test_query_counts_do_not_grow_with_teams_and_failures(
    client, world, django_assert_max_num_queries
):
    client.force_login(make_manager())
    ventes_url = reverse("dashboards:team", args=["ventes"])
    client.get(OVERVIEW)  # warm the session and the content types
    with CaptureQueriesContext(connection) as overview_small:
        client.get(OVERVIEW)
    with CaptureQueriesContext(connection) as team_small:
        client.get(ventes_url)

    for index in range(4):
        team = TeamFactory(slug=f"more-{index}")
        members = [MembershipFactory(team=team).user for _ in range(3)]
        MembershipFactory(team=world["ventes"], user=members[0])
        campaign = announced_campaign(teams=[team, world["ventes"]])
        for person in members:
            fail(campaign, channel=Channel.EMAIL, reason=FailureReason.BOUNCED, recipient=person)
    assert Team.objects.count() == 6

    with django_assert_max_num_queries(len(overview_small.captured_queries)):
        response = client.get(OVERVIEW)
    assert team_rows(response)["Ventes"] == 3 + 4
    with django_assert_max_num_queries(len(team_small.captured_queries)):
        response = client.get(ventes_url)
    assert response.context["undelivered"].total == 7


# --- end to end: the provider's bounce report, then the dashboards --------------------------


def test_a_bounce_reported_by_the_provider_shows_on_both_pages(client, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": ["postmark:s3cret"]}
    team = TeamFactory(name="Agences", slug="agences")
    person = MembershipFactory(team=team, user__full_name="Bea Rebond").user
    campaign = announced_campaign(teams=[team], title="Relance fidélité")
    row = Notification.objects.get(campaign=campaign, channel=Channel.EMAIL, recipient=person)
    Notification.objects.filter(pk=row.pk).update(
        status=Status.SENT, provider_message_id="2706ee8a-737c-4285-b032-ccd317af53ed"
    )

    response = client.post(
        "/anymail/postmark/tracking/",
        data=json.dumps(
            {
                "RecordType": "Bounce",
                "Type": "HardBounce",
                "MessageID": "2706ee8a-737c-4285-b032-ccd317af53ed",
                "Email": person.email,
                "Description": "Unknown user",
                "BouncedAt": "2026-03-02T16:28:50Z",
            }
        ),
        content_type="application/json",
        headers={"Authorization": "Basic " + base64.b64encode(b"postmark:s3cret").decode()},
    )
    assert response.status_code == 200

    client.force_login(make_manager())
    assert team_rows(client.get(OVERVIEW)) == {"Agences": 1}
    body = client.get(reverse("dashboards:team", args=["agences"])).content.decode()
    section = body.split('id="undelivered-title"')[1].split("</section>")[0]
    assert "Bea Rebond" in section
    assert "Bounced by the recipient&#x27;s mail server" in section


# --- how it looks ------------------------------------------------------------------------


@pytest.mark.browser
def test_screenshots_of_undelivered_messages(browser_page, live_server, world):  # noqa: F811
    from playwright.sync_api import expect

    from tests.support.browser import log_in, shot

    Notification.objects.filter(campaign=world["soldes"], recipient=world["paul"]).update(
        last_error="Postmark reported bounced (bounced): The server was unable to deliver your "
        "message (ex: unknown user, mailbox not found).; smtp;550 5.1.1 The email account "
        "that you tried to reach does not exist."
    )
    manager = make_manager(email="boss@example.test", full_name="Béatrice Patron")
    page = browser_page
    log_in(page, live_server, manager.email, DEFAULT_PASSWORD)

    page.goto(f"{live_server.url}{OVERVIEW}")
    ventes_row = page.locator(f"#dash-team-{world['ventes'].pk}")
    expect(ventes_row.get_by_role("link", name="3 messages")).to_be_visible()
    shot(page, "dashboard-undelivered-01-overview")

    ventes_row.get_by_role("link", name="3 messages").click()
    expect(page.get_by_role("heading", name="Messages that never reached the team")).to_be_visible()
    expect(page.locator("table.team-undelivered-list tbody tr")).to_have_count(3)
    shot(page, "dashboard-undelivered-02-team")

    page.locator("table.team-undelivered-list").get_by_role("link", name="Soldes").first.click()
    failures = page.locator("#delivery-failures")
    expect(failures).to_contain_text("4 messages could not be delivered.")
    failures.get_by_text("Who did not get it").click()
    expect(failures.get_by_role("button", name="Send again")).to_have_count(4)
    shot(page, "dashboard-undelivered-03-campaign")
