"""The overview page: who may see it, the page and its fragment, CSV, query counts."""

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from teams.models import Membership, Team
from tests.dashboards.refreshes import refreshes_queued, run_refreshes
from tests.dashboards.world import NOW, T0, build_world
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

URL = reverse("dashboards:overview")
pytestmark = pytest.mark.django_db


@pytest.fixture
def traveller():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(traveller):
    return build_world(traveller)


def test_anonymous_people_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("make", [make_marketer, UserFactory])
def test_people_who_are_neither_managers_nor_leads_get_403(client, make):
    user = make()
    MembershipFactory(user=user)  # a plain member is not enough
    client.force_login(user)
    assert client.get(URL).status_code == 403
    for table in ("teams", "campaigns"):  # nor can they export the tables
        assert client.get(URL, {"format": "csv", "table": table}).status_code == 403


def test_a_manager_sees_every_team(client, world):
    client.force_login(make_manager())
    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        assert f"dash-team-{getattr(world, name.lower()).pk}" in body
    assert 'id="fig-announced">4<' in body
    assert 'id="fig-full-share">50%<' in body
    assert 'id="fig-median">3.0 h<' in body
    assert reverse("dashboards:overview") in body  # the nav link


def test_a_lead_sees_only_their_teams_and_can_only_pick_them(client, world):
    client.force_login(world.alpha_lead)
    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert f"dash-team-{world.alpha.pk}" in body
    assert f"dash-team-{world.bravo.pk}" not in body
    assert 'id="fig-announced">2<' in body
    assert list(response.context["form"].fields["team"].queryset) == [world.alpha]
    # another team in the URL is refused by the form and ignored
    response = client.get(URL, {"team": world.bravo.pk})
    assert response.context["form"].errors["team"]
    assert f"dash-team-{world.bravo.pk}" not in response.content.decode()


def log_in(client, user) -> None:
    """Through the login form, which decides whether the nav shows the dashboard."""
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302


def test_the_nav_link_shows_for_leads_and_managers_only(client, world):
    member = UserFactory()
    MembershipFactory(user=member, team=world.alpha)
    feed = reverse("feed:this_week")
    link = f'href="{URL}"'
    log_in(client, member)
    assert link not in client.get(feed).content.decode()
    log_in(client, world.alpha_lead)
    assert link in client.get(feed).content.decode()
    log_in(client, make_manager())
    assert link in client.get(feed).content.decode()


def test_the_nav_link_follows_a_new_lead_once_they_open_the_dashboard(client, world):
    member = UserFactory()
    log_in(client, member)
    MembershipFactory(user=member, team=world.alpha, role=Membership.Role.LEAD)
    assert f'href="{URL}"' in client.get(URL).content.decode()


def test_filters_stay_in_the_url_and_htmx_gets_the_fragment(client, world):
    client.force_login(make_manager())
    params = {"period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-03"}
    response = client.get(URL, {**params, "channel": "sms"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="dashboard-figures">')
    assert 'id="fig-announced">1<' in body
    assert "channel=sms" in body  # the CSV links keep the filters
    assert response["Vary"].count("HX-Request")


def test_custom_period_without_dates_falls_back_with_an_error(client, world):
    client.force_login(make_manager())
    response = client.get(URL, {"period": "custom"})
    assert response.status_code == 200
    assert response.context["form"].errors["date_from"]
    assert response.context["filters"].period.last == NOW.date()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "0001-01-01", "date_to": "2026-03-01"}, "between 1900 and 2999"),
        ({"date_from": "2026-03-01", "date_to": "9999-12-31"}, "between 1900 and 2999"),
        ({"date_from": "2026-03-05", "date_to": "2026-03-01"}, "on or after the start date"),
        ({"date_from": "not a date", "date_to": "2026-03-01"}, "Enter a valid date"),
    ],
)
def test_bad_custom_dates_are_explained_in_the_fragment_htmx_swaps(client, world, params, message):
    client.force_login(make_manager())
    query = {"period": "custom", **params}
    fragment = client.get(URL, query, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert 'class="dash-filter-errors" role="alert"' in html  # inside the swapped part
    assert message in html
    assert fragment.context["filters"].period.last == NOW.date()  # the default period
    csv_export = client.get(URL, {**query, "format": "csv", "table": "teams"})
    assert csv_export.status_code == 200


def test_a_corrected_filter_clears_its_message(client, world):
    client.force_login(make_manager())
    bad = {"period": "custom", "date_from": "2026-03-07", "date_to": "2026-03-01"}
    html = client.get(URL, bad, headers={"HX-Request": "true"}).content.decode()
    assert "dash-filter-errors" in html
    good = {"period": "custom", "date_from": "2026-03-01", "date_to": "2026-03-07"}
    html = client.get(URL, good, headers={"HX-Request": "true"}).content.decode()
    assert "dash-filter-errors" not in html
    # Dates left in the URL after choosing another period are not complained about.
    other = {**bad, "period": "week"}
    html = client.get(URL, other, headers={"HX-Request": "true"}).content.decode()
    assert "dash-filter-errors" not in html


def read_csv(response, delimiter: str = ",") -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # so Excel reads "clientèle" as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


def test_csv_export_of_teams_and_campaigns(client, world):
    client.force_login(make_manager())
    teams = read_csv(client.get(URL, {"format": "csv", "table": "teams"}))
    assert teams[0][0] == "Team"
    assert teams[0][6] == "Undelivered messages now"
    assert teams[0][7] == "On-time rate (%), week 2025-W51"
    assert teams[0][-1] == "On-time rate (%), week 2026-W10"
    assert teams[1] == ["Alpha", "2", "2", "100", "1.5", "0", "0", *[""] * 11, "100"]
    assert [row[0] for row in teams[1:]] == ["Alpha", "Bravo", "Charlie", "Delta"]

    response = client.get(URL, {"format": "csv", "table": "campaigns", "channel": "sms"})
    assert response["Content-Type"].startswith("text/csv")
    campaigns = read_csv(response)
    assert len(campaigns) == 2
    assert campaigns[1][0] == world.c4.title
    assert campaigns[1][-1] == "Delta: 0/1"


def test_xlsx_export_of_teams_and_campaigns_has_numbers_and_dates(client, world):
    import openpyxl

    client.force_login(make_manager())
    html = client.get(URL).content.decode()
    assert "format=xlsx&amp;table=teams" in html
    assert "format=xlsx&amp;table=campaigns" in html
    response = client.get(URL, {"format": "xlsx", "table": "teams"})
    assert 'filename="passerelle-dashboard-teams.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, alpha, *_others = sheet.iter_rows(values_only=True)
    assert header[0] == "Team"
    assert alpha == ("Alpha", 2, 2, 100, 1.5, 0, 0, *[None] * 11, 100)

    response = client.get(URL, {"format": "xlsx", "table": "campaigns", "channel": "sms"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    _header, row = sheet.iter_rows()
    assert row[0].value == world.c4.title
    assert row[2].is_date
    assert row[2].value == timezone.localtime(world.c4.launch_at).replace(tzinfo=None)
    assert (row[3].value, row[3].data_type) == (1, "n")


def test_french_csv_has_semicolons_and_decimal_commas(client, world):
    client.force_login(make_manager(language="fr"))
    teams = read_csv(client.get(URL, {"format": "csv", "table": "teams"}), delimiter=";")
    assert teams[0][0] == "Équipe"
    assert teams[1][:7] == ["Alpha", "2", "2", "100", "1,5", "0", "0"]


def test_each_team_shows_its_last_12_weeks(client, world):
    """By due date: Alpha met both (c1, c2), Charlie's second member came after c2's
    launch, Delta never acknowledged c4; all were due in the week of 2 March (W10)."""
    client.force_login(make_manager())
    response = client.get(URL)
    trends = {team.name: team.trend for team in response.context["teams"]}
    assert [week.rate for week in trends["Alpha"]] == [None] * 11 + [100]
    assert [week.rate for week in trends["Charlie"]] == [None] * 11 + [0]
    assert (trends["Delta"][-1].due, trends["Delta"][-1].on_time) == (1, 0)
    assert trends["Alpha"][0].label == "2025-W51"
    assert trends["Alpha"][-1].label == "2026-W10"

    html = response.content.decode()
    spark = re.search(r'<td class="dash-spark"><svg[^>]*aria-label="Alpha: ([^"]*)"', html)
    assert spark is not None
    assert spark.group(1).endswith("W09: no data, W10: 100%")
    assert "Weekly on-time rates as a table" in html


def test_overrides_are_listed_with_their_reason(client, world):
    manager = make_manager()
    services.campaign_override_done(
        actor=manager, campaign_id=world.c4.pk, reason="Delta was on a team day; told by phone"
    )
    client.force_login(manager)
    response = client.get(URL)
    assert response.context["headline"].overrides == 1
    [event] = response.context["overrides"]
    assert event.campaign == world.c4
    html = response.content.decode()
    assert f'id="dash-override-{event.pk}"' in html
    assert "Delta was on a team day; told by phone" in html
    assert manager.display_name in html


def test_launched_campaigns_with_uninformed_teams_offer_the_override_to_managers(client, world):
    """c4 launched at T0 + 1 day and Delta never acknowledged: blocked, and only a
    manager may close it by override."""
    client.force_login(make_manager())
    rows = {row.campaign: row for row in client.get(URL).context["campaigns"]}
    assert rows[world.c4].launched_uninformed
    assert not rows[world.c1].launched_uninformed  # every team acknowledged
    html = client.get(URL).content.decode()
    override_link = f'href="/campaigns/{world.c4.pk}/?override=1#override-details"'
    assert override_link in html
    assert "Launched, 1 team has not acknowledged" in html
    # The link lands on the override form, already open.
    detail = client.get(f"/campaigns/{world.c4.pk}/", {"override": "1"}).content.decode()
    assert re.search(r'<details class="override" id="override-details"[^>]* open>', detail)

    delta_lead = MembershipFactory(team=world.delta, role=Membership.Role.LEAD).user
    client.force_login(delta_lead)
    html = client.get(URL).content.decode()
    assert "Launched, 1 team has not acknowledged" in html  # the lead sees the problem…
    assert "#override-details" not in html  # …but closing it is a manager's call


def test_csv_follows_the_readers_language_and_time_zone_while_it_streams(client, world):
    """The rows are written after the view returned: labels and times must still be in
    the reader's language and time zone (c4 launches 3 March 2026 09:00 UTC)."""
    manager = make_manager(language="fr", time_zone="America/New_York")
    client.force_login(manager)
    response = client.get(URL, {"format": "csv", "table": "campaigns", "channel": "sms"})
    rows = read_csv(response, delimiter=";")  # French Excel's separator
    assert rows[0][0] == "Campagne"
    assert rows[1][1] == "SMS"
    assert rows[1][2] == "2026-03-03 04:00"  # New York, not UTC or Paris

    announced_campaign(teams=[world.alpha], channel="event", launch_at=NOW + timedelta(days=2))
    response = client.get(URL, {"format": "csv", "table": "campaigns", "channel": "event"})
    assert read_csv(response, delimiter=";")[1][1] == "Événement"


def test_csv_is_safe_from_formula_injection(client, traveller):
    announced_campaign(
        title='=HYPERLINK("http://evil")',
        teams=[TeamFactory(name="+Team")],
        launch_at=T0 + timedelta(days=1),
    )
    client.force_login(make_manager())
    rows = read_csv(client.get(URL, {"format": "csv", "table": "campaigns"}))
    assert rows[1][0].startswith("'=")
    assert rows[1][-1].startswith("'+Team")
    teams = read_csv(client.get(URL, {"format": "csv", "table": "teams"}))
    assert teams[1][0] == "'+Team"


def _seed(campaigns: int, teams: int) -> None:
    all_teams = [TeamFactory() for _ in range(teams)]
    owner = make_marketer()
    for team in all_teams:
        MembershipFactory(team=team)
    for i in range(campaigns):
        chosen = [all_teams[i % teams], all_teams[(i + 1) % teams]]
        announced_campaign(owner=owner, teams=chosen, launch_at=T0 + timedelta(days=1 + i))


@pytest.mark.parametrize("as_lead", [False, True])
def test_query_count_does_not_grow_with_campaigns_or_teams(
    client, traveller, django_assert_max_num_queries, as_lead
):
    viewer = UserFactory() if as_lead else make_manager()
    client.force_login(viewer)

    def lead_every_team() -> None:
        if as_lead:
            for team in Team.objects.exclude(memberships__user=viewer):
                MembershipFactory(team=team, user=viewer, role=Membership.Role.LEAD)

    _seed(3, 2)
    lead_every_team()
    client.get(URL)  # warm the session and the content types
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    _seed(12, 4)
    lead_every_team()
    assert Team.objects.count() == 6

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(URL)

    assert response.status_code == 200
    assert len(response.context["campaigns"]) == 15
    assert len(response.context["teams"]) == 6


@pytest.mark.browser
def test_screenshot_of_the_overview(browser_page, live_server):  # noqa: F811
    from playwright.sync_api import expect

    from tests.support.browser import log_in, shot

    now = timezone.now()
    ventes = TeamFactory(name="Ventes")
    conseillers = TeamFactory(name="Conseillers clientèle")
    agences = TeamFactory(name="Agences", ack_policy=Team.AckPolicy.EVERY_MEMBER)
    seller = MembershipFactory(team=ventes).user
    advisor = MembershipFactory(team=conseillers).user
    agents = [MembershipFactory(team=agences).user for _ in range(3)]
    owner = make_marketer(full_name="Marie Marketing")
    seeds = [
        ("Soldes d'hiver", [ventes, conseillers], 10, 2, [(seller, 3), (advisor, 20)]),
        ("Relance SMS fidélité", [conseillers, agences], 6, 4, [(advisor, 5), (agents[0], 30)]),
        ("Webinaire épargne", [ventes, agences], 2, 5, [(seller, 1)]),
        ("Carte de vœux", [ventes, conseillers, agences], 1, 9, []),
    ]
    for title, teams, days_ago, launch_in, acks in seeds:
        announced_at = now - timedelta(days=days_ago)
        with time_machine.travel(announced_at, tick=False) as clock:
            campaign = announced_campaign(
                title=title,
                owner=owner,
                teams=teams,
                launch_at=now + timedelta(days=launch_in - days_ago / 2),
            )
            for person, hours in acks:
                clock.move_to(announced_at + timedelta(hours=hours))
                services.campaign_acknowledge(actor=person, campaign_id=campaign.pk)
    manager = make_manager(email="boss@example.test")

    page = browser_page
    log_in(page, live_server, manager.email, DEFAULT_PASSWORD)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Acknowledgement dashboard")).to_be_visible()
    page.get_by_label("Team", exact=True).select_option(label="Agences")
    expect(page).to_have_url(re.compile(r"team=\d+"))
    expect(page.locator("#fig-announced")).to_have_text("3")
    page.get_by_label("Team", exact=True).select_option(label="All teams")
    expect(page.locator("#fig-announced")).to_have_text("4")
    shot(page, "dashboard-01-overview")


def test_figures_are_kept_for_a_minute_and_say_when_they_were_computed(
    client, settings, monkeypatch
):
    settings.DASHBOARD_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dash"}
    }
    client.force_login(make_manager())
    team = TeamFactory(name="Ventes")
    announced_campaign(teams=[team])

    first = client.get(reverse("dashboards:overview")).content.decode()
    announced_campaign(teams=[team])  # the next minute's figures will count it
    second = client.get(reverse("dashboards:overview")).content.decode()

    def announced(html: str) -> str:
        return html.split('id="fig-announced">')[1].split("<")[0]

    assert announced(first) == announced(second) == "1"
    assert "Figures as of" in second
    assert "refreshed every 60 seconds" in second
    queued = refreshes_queued(monkeypatch)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        client.force_login(make_manager())
        # Stale: still shown (with their time) while a worker computes them again.
        assert announced(client.get(reverse("dashboards:overview")).content.decode()) == "1"
        run_refreshes(queued)
        assert announced(client.get(reverse("dashboards:overview")).content.decode()) == "2"


def test_the_figures_html_is_kept_with_them_per_language(client, settings, monkeypatch):
    from dashboards import views

    settings.DASHBOARD_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "html"}
    }
    manager = make_manager()
    client.force_login(manager)
    announced_campaign(teams=[TeamFactory(name="Ventes")])
    first = client.get(reverse("dashboards:overview"))

    def must_not_draw(**kwargs: object) -> None:
        raise AssertionError("the kept figures were drawn again")

    with monkeypatch.context() as patched:
        patched.setattr(views.charts, "bar_chart", must_not_draw)
        again = client.get(reverse("dashboards:overview"))
        fragment = client.get(reverse("dashboards:overview"), headers={"HX-Request": "true"})

    marker = 'id="dashboard-figures"'  # the page around it has its own CSRF token
    assert again.content.decode().split(marker)[1] == first.content.decode().split(marker)[1]
    assert 'id="fig-announced">1<' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()

    manager.language = "fr"
    manager.save(update_fields=["language"])
    french = client.get(reverse("dashboards:overview")).content.decode()
    assert "campagnes annoncées" in french


def test_a_broken_cache_only_costs_the_computation(client, settings, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from dashboards import cache as dashboard_cache

    settings.DASHBOARD_CACHE_SECONDS = 60

    def down(*args: object, **kwargs: object) -> None:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(dashboard_cache.cache, "get", down)
    monkeypatch.setattr(dashboard_cache.cache, "set", down)
    client.force_login(make_manager())
    assert client.get(reverse("dashboards:overview")).status_code == 200


def test_the_integrations_link_shows_for_managers_only(client, world):
    """A lead sees the dashboard link but not "Integrations", which only managers open."""
    integrations = f'href="{reverse("api_pages:integrations")}"'
    feed = reverse("feed:this_week")
    log_in(client, world.alpha_lead)
    assert integrations not in client.get(feed).content.decode()
    log_in(client, make_manager())
    assert integrations in client.get(feed).content.decode()


def test_the_integrations_link_follows_the_page_once_opened(client, world):
    manager = make_manager()
    log_in(client, manager)
    manager.groups.clear()  # no longer a manager, though the session still says so
    integrations = reverse("api_pages:integrations")
    assert client.get(integrations).status_code == 403
    assert f'href="{integrations}"' not in client.get(reverse("feed:this_week")).content.decode()
