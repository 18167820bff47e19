"""The stakeholders' weekly feed: week bounds in the reader's time zone, filters, htmx,
inline acknowledgement, load more, CSV export, and a constant number of queries."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, Feedback, Stakeholder
from feed import selectors as feed
from feed.selectors import Week
from teams.roles import Actor
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
)

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
HTMX = {"HTTP_HX_REQUEST": "true"}


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def live(*, title: str, launch_at: datetime, teams=(), **kwargs) -> Campaign:
    """An announced campaign, written directly (faster than the service for many rows)."""
    campaign = CampaignFactory(
        title=title, launch_at=launch_at, status=Campaign.Status.ANNOUNCED, **kwargs
    )
    for team in teams:
        StakeholderFactory(campaign=campaign, team=team)
    return campaign


def feed_titles(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


# --- weeks and time zones -------------------------------------------------------------------


def test_week_parses_iso_weeks_and_refuses_the_rest():
    assert str(Week.parse("2026-W48")) == "2026-W48"
    assert Week.parse("2026-W48").monday.isoformat() == "2026-11-23"
    assert Week.parse("2026-W01").previous == Week(2025, 52)
    for bad in ("2026-W54", "2026-48", "W48", "2026-W4", "1800-W01", ""):
        with pytest.raises(ValueError):  # noqa: PT011
            Week.parse(bad)


def test_week_bounds_follow_dst_changes_in_paris():
    def hours(week: Week) -> timedelta:
        start, end = week.bounds(PARIS)
        return end.astimezone(UTC) - start.astimezone(UTC)

    assert hours(Week(2026, 43)) == timedelta(hours=169)  # clocks go back on Sunday 25th
    assert hours(Week(2026, 13)) == timedelta(hours=167)  # clocks go forward on 29 March
    spring_end = Week(2026, 13).bounds(PARIS)[1]
    assert spring_end.astimezone(UTC) == datetime(2026, 3, 29, 22, tzinfo=UTC)


def test_a_launch_at_half_past_midnight_on_monday_belongs_to_that_week(client, advisor):
    # 00:30 in Paris on Monday 23 November is still Sunday 22 November in UTC.
    live(title="Lundi matin", launch_at=paris(2026, 11, 23, 0, 30))
    client.force_login(advisor)
    assert "Lundi matin" in feed_titles(client, "/feed/2026-W48/")
    assert "Lundi matin" not in feed_titles(client, "/feed/2026-W47/")


def test_a_reader_in_new_york_sees_the_same_launch_in_the_previous_week(client, support_team):
    live(title="Lundi matin", launch_at=paris(2026, 11, 23, 0, 30))  # Sunday 18:30 in New York
    reader = MembershipFactory(team=support_team, user__time_zone="America/New_York").user
    client.force_login(reader)
    assert "Lundi matin" in feed_titles(client, "/feed/2026-W47/")
    assert "Lundi matin" not in feed_titles(client, "/feed/2026-W48/")


def test_week_edges_across_the_autumn_dst_change(client, advisor):
    live(title="Dimanche soir", launch_at=paris(2026, 10, 25, 23, 30))  # CET, 22:30 UTC
    live(title="Lundi minuit", launch_at=paris(2026, 10, 26, 0, 30))
    client.force_login(advisor)
    week_43 = feed_titles(client, "/feed/2026-W43/")
    week_44 = feed_titles(client, "/feed/2026-W44/")
    assert "Dimanche soir" in week_43
    assert "Dimanche soir" not in week_44
    assert "Lundi minuit" in week_44
    assert "Lundi minuit" not in week_43


def test_without_a_week_the_feed_shows_the_current_week_of_the_reader(client, advisor):
    live(title="Cette semaine", launch_at=paris(2026, 11, 25, 10))
    live(title="La semaine prochaine", launch_at=paris(2026, 12, 1, 10))
    client.force_login(advisor)
    with time_machine.travel(paris(2026, 11, 23, 0, 10), tick=False):
        page = feed_titles(client, "/feed/")
    assert "Cette semaine" in page
    assert "La semaine prochaine" not in page
    assert 'href="/feed/2026-W49/"' in page  # next week
    assert 'href="/feed/2026-W47/"' in page  # previous week


@pytest.mark.parametrize("value", ["2026-W54", "2026-11-23", "semaine"])
def test_a_bad_week_says_how_to_write_one(client, advisor, value):
    client.force_login(advisor)
    response = client.get(f"/feed/{value}/")
    assert response.status_code == 400
    assert "is not a week: use YYYY-Www, for example 2026-W48." in response.content.decode()
    assert client.get(f"/feed/{value}/export.csv").status_code == 400


# --- what the feed shows ------------------------------------------------------------------


def test_drafts_are_left_out_and_days_are_grouped_newest_first(client, advisor):
    live(title="Mardi", launch_at=paris(2026, 11, 24, 9))
    live(title="Jeudi", launch_at=paris(2026, 11, 26, 9))
    CampaignFactory(title="Brouillon", launch_at=paris(2026, 11, 25, 9))
    client.force_login(advisor)
    page = feed_titles(client, "/feed/2026-W48/")
    assert "Brouillon" not in page
    assert page.index("Thursday 26 November") < page.index("Jeudi") < page.index("Mardi")
    assert page.index("Tuesday 24 November") > page.index("Jeudi")


def test_an_item_names_the_owner_to_contact_and_the_reactions(client, advisor, support_team):
    campaign = live(
        title="Vœux 2027", launch_at=paris(2026, 11, 24, 9), teams=[support_team], audience="VIP"
    )
    for tag in ("positive", "positive", "negative", "question"):
        Feedback.objects.create(campaign=campaign, author=advisor, tag=tag, body="…")
    client.force_login(advisor)
    page = feed_titles(client, "/feed/2026-W48/")
    assert f'href="mailto:{campaign.owner.email}' in page
    assert "👍 2" in page
    assert "👎 1" in page
    assert "❓ 1" in page
    assert "VIP" in page
    assert "1,000 recipients" in page  # grouped as on the campaign page


def test_filters_narrow_the_week(client, advisor, support_team):
    other_team = TeamFactory(name="Ventes")
    live(title="Pour nous", launch_at=paris(2026, 11, 24, 9), teams=[support_team])
    live(
        title="Pour les ventes",
        launch_at=paris(2026, 11, 24, 10),
        teams=[other_team],
        channel=Campaign.Channel.SMS,
    )
    done = live(title="Terminée", launch_at=paris(2026, 11, 25, 9), teams=[other_team])
    Campaign.objects.filter(pk=done.pk).update(status=Campaign.Status.DONE)
    client.force_login(advisor)
    url = "/feed/2026-W48/"

    mine = feed_titles(client, url, teams="mine")
    assert "Pour nous" in mine
    assert "Pour les ventes" not in mine
    sms = feed_titles(client, url, channel="sms")
    assert "Pour les ventes" in sms
    assert "Pour nous" not in sms
    finished = feed_titles(client, url, status="done")
    assert "Terminée" in finished
    assert "Pour nous" not in finished
    bad = feed_titles(client, url, status="draft", channel="pigeon")
    assert "Some filters could not be read" in bad
    assert "Pour nous" in bad  # invalid filters filter nothing


def test_htmx_gets_the_days_fragment_not_the_page(client, advisor):
    live(title="Mardi", launch_at=paris(2026, 11, 24, 9))
    client.force_login(advisor)
    full = client.get("/feed/2026-W48/").content.decode()
    fragment = client.get("/feed/2026-W48/", **HTMX).content.decode()
    assert "<html" in full
    assert "<html" not in fragment
    assert 'id="feed-days"' not in fragment
    assert "Mardi" in fragment
    assert "HX-Request" in client.get("/feed/2026-W48/")["Vary"]


def test_talking_points_are_loaded_on_demand(client, advisor):
    campaign = live(title="Mardi", launch_at=paris(2026, 11, 24, 9), body="## Que dire\n\n- Merci")
    client.force_login(advisor)
    page = feed_titles(client, "/feed/2026-W48/")
    assert "Que dire" not in page
    assert f'hx-get="/feed/campaign/{campaign.pk}/body/"' in page
    body = client.get(f"/feed/campaign/{campaign.pk}/body/", **HTMX).content.decode()
    assert "<h2>Que dire</h2>" in body
    draft = CampaignFactory()
    assert client.get(f"/feed/campaign/{draft.pk}/body/").status_code == 404


def test_load_more_walks_the_week_in_pages(client, advisor, settings):
    start = paris(2026, 11, 23, 8)
    for n in range(23):
        live(title=f"Campagne n°{n:02d}", launch_at=start + timedelta(hours=6 * n))
    client.force_login(advisor)
    first = client.get("/feed/2026-W48/")
    page = first.content.decode()
    assert page.count('class="feed-item"') == 20
    cursor = first.context["page"].next_cursor
    assert cursor
    assert "Load more" in page
    more = client.get("/feed/2026-W48/", {"cursor": cursor}, **HTMX).content.decode()
    assert more.count('class="feed-item"') == 3
    assert "Campagne n°00" in more
    assert "Load more" not in more
    # Without JavaScript the link opens the rest of the week as a page of its own.
    plain = feed_titles(client, "/feed/2026-W48/", cursor=cursor)
    assert "Back to the start of the week" in plain
    # A cursor made for another week is ignored: the first page again.
    other = feed_titles(client, "/feed/2026-W49/", cursor=cursor)
    assert "Campagne" not in other


# --- inline acknowledgement -----------------------------------------------------------------


@pytest.fixture
def monday_morning():
    """The inline acknowledgement tests announce for Tuesday 24 November 2026: they run on
    the Monday before, whatever today's date."""
    with time_machine.travel(paris(2026, 11, 23, 8), tick=True):
        yield


@pytest.mark.usefixtures("monday_morning")
def test_inline_acknowledge_re_renders_the_item(client, advisor, support_team):
    campaign = announced_campaign(teams=[support_team], launch_at=paris(2026, 11, 24, 9))
    client.force_login(advisor)
    page = feed_titles(client, f"/feed/{Week.of(campaign.launch_at.astimezone(PARIS).date())}/")
    assert 'data-ack="waiting"' in page
    response = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {"version": campaign.version, "team": support_team.pk, "next": "/feed/2026-W48/"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("\n") or "<html" not in html
    assert f'id="feed-item-{campaign.pk}"' in html
    assert 'data-ack="done"' in html
    assert "Conseillers clientèle: acknowledged" in html
    stakeholder = Stakeholder.objects.get(campaign=campaign, team=support_team)
    assert stakeholder.acknowledged_version == campaign.version


@pytest.mark.usefixtures("monday_morning")
def test_inline_acknowledge_without_javascript_goes_back_to_the_feed(client, advisor, support_team):
    campaign = announced_campaign(teams=[support_team], launch_at=paris(2026, 11, 24, 9))
    client.force_login(advisor)
    response = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {
            "version": campaign.version,
            "team": support_team.pk,
            "next": "/feed/2026-W48/?teams=mine",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/feed/2026-W48/?teams=mine"
    evil = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {"version": campaign.version, "next": "https://evil.example/"},
    )
    assert evil["Location"] == "/feed/"  # not the other site: this week's feed


@pytest.mark.usefixtures("monday_morning")
def test_an_every_member_team_waits_for_the_others(client, advisor, support_team):
    support_team.ack_policy = "every"
    support_team.save(update_fields=["ack_policy"])
    MembershipFactory(team=support_team)  # a colleague who has not acknowledged yet
    campaign = announced_campaign(teams=[support_team], launch_at=paris(2026, 11, 24, 9))
    client.force_login(advisor)
    html = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {"version": campaign.version, "team": support_team.pk},
        **HTMX,
    ).content.decode()
    assert "you acknowledged, waiting for the rest of the team" in html
    assert "Acknowledge</button>" not in html


@pytest.mark.usefixtures("monday_morning")
def test_a_stale_version_is_explained_in_the_item(client, advisor, support_team):
    campaign = announced_campaign(teams=[support_team], launch_at=paris(2026, 11, 24, 9))
    client.force_login(advisor)
    response = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {"version": campaign.version + 1, "team": support_team.pk},
        **HTMX,
    )
    html = response.content.decode()
    assert "This campaign changed since" in html
    assert 'data-ack="waiting"' in html


# --- query count ----------------------------------------------------------------------------


def _fill_week(count: int, teams) -> None:
    for n in range(count):
        campaign = live(
            title=f"Campagne {n}",
            launch_at=paris(2026, 11, 23, 9) + timedelta(hours=n),
            teams=teams,
        )
        Feedback.objects.create(campaign=campaign, author=campaign.owner, tag="positive", body="!")


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_feed_costs_the_same_queries_for_3_or_20_campaigns(
    client, advisor, support_team, django_assert_max_num_queries
):
    sales = TeamFactory(name="Ventes")
    MembershipFactory(team=sales, user=advisor)  # a reader in two teams
    client.force_login(advisor)
    url = "/feed/2026-W48/"
    _fill_week(3, [support_team, sales, TeamFactory()])
    few = _queries(client, url)
    _fill_week(17, [support_team, sales, *[TeamFactory() for _ in range(4)]])
    with django_assert_max_num_queries(few):
        page = client.get(url)
    assert page.content.decode().count('class="feed-item"') == 20
    with django_assert_max_num_queries(few):
        b"".join(client.get(url + "export.csv").streaming_content)
    with django_assert_max_num_queries(few):
        assert client.get(url + "export.xlsx").status_code == 200


def test_feed_selector_queries_do_not_grow_with_teams(
    advisor, support_team, django_assert_num_queries
):
    _fill_week(5, [support_team, *[TeamFactory() for _ in range(6)]])
    # the reader's teams, campaigns + owners, the reader's stakeholder rows, the tallies
    with django_assert_num_queries(4):
        page = feed.feed_week(
            viewer=Actor.of(advisor), week=Week(2026, 48), filters=feed.FeedFilters(), tz=PARIS
        )
        items = list(page.items)
        assert len(items) == 5
        assert all(len(item.my_stakeholders) == 1 for item in items)
        assert all(item.tally.positive == 1 for item in items)


# --- CSV export -----------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # so Excel reads the accents as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_csv_export_lists_the_week_with_local_times_and_my_acknowledgement(
    client, advisor, support_team
):
    with time_machine.travel(paris(2026, 11, 20, 12)):
        campaign = announced_campaign(
            teams=[support_team], launch_at=paris(2026, 11, 23, 0, 30), title="Lundi matin"
        )
        services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk)
    live(title="Autre", launch_at=paris(2026, 11, 25, 14), channel=Campaign.Channel.SMS)
    client.force_login(advisor)
    response = client.get("/feed/2026-W48/export.csv")
    assert 'filename="passerelle-2026-W48.csv"' in response["Content-Disposition"]
    header, *rows = _csv_rows(response)
    assert header[0] == "Launch date"
    assert header[-1] == "My team's acknowledgement"
    assert [row[1] for row in rows] == ["Autre", "Lundi matin"]
    lundi = rows[1]
    assert lundi[0] == "2026-11-23 00:30"
    assert lundi[2] == "E-mail"
    assert lundi[3] == "Announced"
    assert lundi[7] == campaign.owner.email
    assert lundi[8] == "Conseillers clientèle: acknowledged"
    only_sms = _csv_rows(client.get("/feed/2026-W48/export.csv", {"channel": "sms"}))
    assert [row[1] for row in only_sms[1:]] == ["Autre"]


def test_csv_export_defuses_formulas(client, advisor):
    live(
        title='=HYPERLINK("http://evil")',
        audience="+33 clients",
        launch_at=paris(2026, 11, 24, 9),
        owner=UserFactory(full_name="@dmin -1"),
    )
    client.force_login(advisor)
    _header, row = _csv_rows(client.get("/feed/2026-W48/export.csv"))
    assert row[1] == '\'=HYPERLINK("http://evil")'
    assert row[4] == "'+33 clients"
    assert row[6] == "'@dmin -1"


def test_xlsx_export_has_the_same_rows_with_typed_cells(client, advisor, support_team):
    import openpyxl

    with time_machine.travel(paris(2026, 11, 20, 12)):
        announced_campaign(
            teams=[support_team],
            launch_at=paris(2026, 11, 23, 0, 30),
            title="=Lundi matin",
            estimated_recipients=1500,
        )
    client.force_login(advisor)
    page = client.get("/feed/2026-W48/").content.decode()
    assert 'href="/feed/2026-W48/export.xlsx"' in page
    response = client.get("/feed/2026-W48/export.xlsx")
    assert response["Content-Type"].endswith("spreadsheetml.sheet")
    assert 'filename="passerelle-2026-W48.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, row = sheet.iter_rows()
    assert header[0].value == "Launch date"
    assert row[0].value == datetime(2026, 11, 23, 0, 30)  # the reader's local time
    assert row[0].is_date
    assert (row[1].value, row[1].data_type) == ("=Lundi matin", "s")  # text, not a formula
    assert (row[5].value, row[5].data_type) == (1500, "n")
    assert row[8].value == "Conseillers clientèle: waiting"


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_export_is_safe_when_split_on_either_separator(client, advisor, separator):
    """French Excel splits the file on `;`, ignoring quotes that do not open a field."""
    live(
        title="Promo;=2+5",
        audience="Tous, -HYPERLINK()",
        launch_at=paris(2026, 11, 24, 9),
        owner=UserFactory(full_name="Zoé; @SUM(A1)"),
    )
    client.force_login(advisor)
    response = client.get("/feed/2026-W48/export.csv")
    text = b"".join(response.streaming_content).decode().removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    cells = [cell.lstrip(' "') for row in rows for cell in row]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]
    if separator == ",":
        assert rows[1][1] == "Promo;'=2+5"  # whole, and visibly defused


# --- access and home ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/feed/", "/feed/2026-W48/", "/feed/2026-W48/export.csv", "/feed/campaign/1/body/"]
)
def test_login_required(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_acknowledge_requires_login(client):
    response = client.post("/feed/acknowledge/1/", {"version": 1})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_stakeholders_land_on_the_feed_and_marketers_on_the_list(client, advisor, marketer):
    client.force_login(advisor)
    assert client.get("/")["Location"] == "/feed/"
    page = client.get("/feed/").content.decode()
    assert 'href="/feed/" aria-current="page"' in page
    client.force_login(marketer)
    assert client.get("/")["Location"] == "/campaigns/"
