"""Whole pages kept for their reader (core/pages.py): a page read again is served from
the cache, any change to what it shows is on the next read, no reader is served another
reader's page or another response's token or nonce, messages are never swallowed, and a
broken cache only costs the rendering."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import User
from campaigns import services
from campaigns.models import Campaign, Feedback
from core import fragments
from notifications.models import FailureReason, Notification
from notifications.services.inbox import inbox_mark_read
from teams.models import Membership, Team
from teams.roles import MARKETER, Perm
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    announced_campaign,
    make_manager,
)

pytestmark = pytest.mark.django_db

# A Wednesday morning: the week's campaigns launch around it, and the minute (part of
# every key) does not turn during a test.
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def kept(settings, own_cache):
    """Pages (and rows, and dashboard figures) kept, in a cache of this test's own."""
    settings.PAGE_CACHE_SECONDS = 60
    settings.FRAGMENT_CACHE_SECONDS = 120
    settings.DASHBOARD_CACHE_SECONDS = 60
    return settings


@dataclass
class World:
    marketer: User
    manager: User
    lead: User
    advisor: User
    teammate: User
    stranger: User  # an advisor of another team
    team: Team
    campaign: Campaign
    draft: Campaign  # launching this week, not announced yet


@pytest.fixture
def world(marketer, advisor, support_team) -> World:
    lead = MembershipFactory(team=support_team, role=Membership.Role.LEAD).user
    teammate = MembershipFactory(team=support_team, user__full_name="Théo Teammate").user
    support_team.ack_policy = Team.AckPolicy.EVERY_MEMBER
    support_team.save()
    stranger = MembershipFactory(user__full_name="Sam Stranger").user
    campaign = announced_campaign(
        owner=marketer,
        teams=[support_team],
        title="Carte de vœux 2027",
        launch_at=NOW + timedelta(days=1),
    )
    draft = CampaignFactory(
        owner=marketer, title="Soldes de janvier", launch_at=NOW + timedelta(days=2)
    )
    StakeholderFactory(campaign=draft, team=support_team)
    return World(
        marketer=marketer,
        manager=make_manager(full_name="Manon Manager"),
        lead=lead,
        advisor=advisor,
        teammate=teammate,
        stranger=stranger,
        team=support_team,
        campaign=campaign,
        draft=draft,
    )


TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')
NONCE = re.compile(r'nonce="[^"]*"')


def normalised(html: str) -> str:
    """A body without what differs between two responses of the same page."""
    return NONCE.sub('nonce=""', TOKEN.sub(r"\1", html))


@dataclass(frozen=True)
class Page:
    name: str
    reader: str  # a World attribute
    url: Callable[[World], str]
    # Served from the cache: session, user, the reader (one, with the roles and teams the
    # stamps' rules then read, and the dashboards' own checks too), the stamp; the inbox,
    # the calendar and the team page check the campaigns they show in their stamp's query
    # (core.pages.kept_response's stamp_query); the team page reads the team.
    kept_queries: int = 4
    htmx: bool = False


PAGES = [
    Page("feed", "advisor", lambda w: reverse("feed:this_week")),
    Page("feed search", "advisor", lambda w: reverse("feed:this_week") + "?q=voeux"),
    Page("campaign list", "marketer", lambda w: reverse("campaigns:list")),
    Page("campaign page", "advisor", lambda w: reverse("campaigns:detail", args=[w.campaign.pk])),
    Page(
        "live panels",
        "advisor",
        lambda w: reverse("campaigns:live", args=[w.campaign.pk]),
        htmx=True,
    ),
    Page("inbox", "advisor", lambda w: reverse("notifications:inbox")),
    Page("calendar", "marketer", lambda w: reverse("campaigns:calendar") + "?month=2026-12", 4),
    Page("team page", "lead", lambda w: reverse("dashboards:team", args=[w.team.slug]), 5),
    # Its stamp is its figures' time, in the cache: no query.
    Page("dashboard", "manager", lambda w: reverse("dashboards:overview"), 3),
    # Drafts are not theirs to see: their calendar is counted from another index.
    Page(
        "advisor's calendar",
        "advisor",
        lambda w: reverse("campaigns:calendar") + "?month=2026-12",
        4,
    ),
]


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read(client: Client, page: Page, world: World) -> tuple[str, int]:
    """The page's body and how many queries it took."""
    headers = {"HX-Request": "true"} if page.htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.url(world), headers=headers)
    assert response.status_code == 200, (page.name, response.status_code)
    return response.content.decode(), len(queries)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_page_read_again_is_served_from_the_cache(kept, world, page):
    client = client_of(getattr(world, page.reader))
    headers = {"HX-Request": "true"} if page.htmx else {}
    first = client.get(page.url(world), headers=headers)
    assert first.templates, "the first read renders the page"
    with CaptureQueriesContext(connection) as queries:
        again = client.get(page.url(world), headers=headers)
    assert not again.templates, "read again, nothing is rendered"
    serving = len(queries)
    assert normalised(again.content.decode()) == normalised(first.content.decode())
    assert serving == page.kept_queries


def test_a_kept_page_costs_the_same_queries_however_many_campaigns(kept, world):
    page = PAGES[0]
    client = client_of(world.advisor)
    read(client, page, world)
    _, few = read(client, page, world)
    for _ in range(30):
        announced_campaign(teams=[world.team], launch_at=NOW + timedelta(hours=3))
    read(client, page, world)
    _, many = read(client, page, world)
    assert many == few


# --- a change is on the next read ---------------------------------------------------------


def _acknowledge(w: World) -> None:
    services.campaign_acknowledge(actor=w.advisor, campaign_id=w.campaign.pk)


def _teammate_acknowledges(w: World) -> None:
    services.campaign_acknowledge(actor=w.teammate, campaign_id=w.campaign.pk)


def _question(w: World) -> None:
    services.feedback_post(
        actor=w.teammate,
        campaign_id=w.campaign.pk,
        tag=Feedback.Tag.QUESTION,
        body="Un client demande si l'offre vaut en boutique.",
    )


def _renamed(w: World) -> None:
    # Not through a service: whatever writes the row counts (the revision is a trigger's).
    Campaign.objects.filter(pk=w.campaign.pk).update(title="Carte de vœux 2027, édition 2")


def _another_launch(w: World) -> None:
    announced_campaign(
        owner=w.marketer, teams=[w.team], title="Soldes d'hiver", launch_at=NOW + timedelta(hours=5)
    )


def _draft_announced(w: World) -> None:
    services.campaign_announce(actor=w.marketer, campaign_id=w.draft.pk)


def _draft_rescheduled(w: World) -> None:
    Campaign.objects.filter(pk=w.draft.pk).update(launch_at=NOW + timedelta(days=3))


def _another_team_told(w: World) -> None:
    StakeholderFactory(campaign=w.campaign, team=TeamFactory(name="Ventes directes"))


def _marked_read(w: World) -> None:
    inbox_mark_read(user=w.advisor)


def _nudged(w: World) -> None:
    services.stakeholder_nudge(
        actor=w.lead, campaign_id=w.campaign.pk, team_id=w.team.pk, user_id=w.teammate.pk
    )


def _undelivered(w: World) -> None:
    # Written by a delivery worker, not by a service: the outbox is not in the revision.
    Notification.objects.filter(campaign=w.campaign, recipient=w.teammate).update(
        status=Notification.Status.FAILED, failure_reason=FailureReason.MAILBOX_UNAVAILABLE
    )


def _done(w: World) -> None:
    services.campaign_override_done(
        actor=w.manager, campaign_id=w.campaign.pk, reason="Lancée, tout le monde prévenu."
    )


CHANGES: list[tuple[str, Callable[[World], None], list[str]]] = [
    ("the reader acknowledges", _acknowledge, ["feed", "campaign page", "live panels", "inbox"]),
    ("a teammate acknowledges", _teammate_acknowledges, ["campaign page", "team page"]),
    ("a question is asked", _question, ["feed", "campaign page", "live panels"]),
    (
        "the campaign is renamed",
        _renamed,
        ["feed", "campaign list", "campaign page", "calendar", "advisor's calendar"],
    ),
    (
        "another campaign launches",
        _another_launch,
        ["feed", "campaign list", "calendar", "inbox", "advisor's calendar"],
    ),
    ("a draft is announced", _draft_announced, ["advisor's calendar", "feed"]),
    ("a draft moves to another day", _draft_rescheduled, ["calendar"]),
    ("another team is told", _another_team_told, ["campaign list", "campaign page"]),
    ("the inbox is marked read", _marked_read, ["inbox"]),
    ("a member is nudged", _nudged, ["team page"]),
    ("a message to the team fails", _undelivered, ["team page"]),
    # Nobody's inbox gets a notice: the cards follow their campaigns' revisions.
    ("the campaign is closed", _done, ["feed", "campaign list", "campaign page", "inbox"]),
]
CASES = [
    (change, apply, page)
    for change, apply, names in CHANGES
    for page in PAGES
    if page.name in names
]


@pytest.mark.parametrize(
    ("change", "apply", "page"),
    CASES,
    ids=[f"{page.name}: {change}" for change, _apply, page in CASES],
)
def test_a_change_is_on_the_next_read(kept, world, change, apply, page):
    client = client_of(getattr(world, page.reader))
    before, _ = read(client, page, world)
    read(client, page, world)  # served from the cache
    apply(world)
    after, _ = read(client, page, world)
    kept.PAGE_CACHE_SECONDS = 0
    fresh, _ = read(client, page, world)
    assert normalised(before) != normalised(fresh), "the change does not show on this page"
    assert normalised(after) == normalised(fresh)


@pytest.mark.parametrize("reader", ["advisor", "marketer"])
def test_a_launch_the_calendar_does_not_show_moving_day_is_on_the_next_read(kept, world, reader):
    """A busy day shows its first four launches and its total: the fifth, not shown, moved
    to another day of the month changes two totals and neither the count nor the ids."""
    busy_day = NOW + timedelta(days=5)
    launches = [
        announced_campaign(owner=world.marketer, teams=[world.team], launch_at=busy_day)
        for _ in range(5)
    ]
    page = next(p for p in PAGES if p.name == "calendar")
    client = client_of(getattr(world, reader))
    before, _ = read(client, page, world)
    read(client, page, world)  # served from the cache
    Campaign.objects.filter(pk=launches[-1].pk).update(launch_at=busy_day + timedelta(days=2))
    after, _ = read(client, page, world)
    kept.PAGE_CACHE_SECONDS = 0
    fresh, _ = read(client, page, world)
    assert normalised(before) != normalised(fresh)
    assert normalised(after) == normalised(fresh)


# --- nothing of one reader or one response is served to another ----------------------------


@pytest.mark.parametrize("page", PAGES[:7], ids=[p.name for p in PAGES[:7]])
def test_readers_are_not_served_each_others_pages(kept, world, page):
    for reader in ("advisor", "stranger", "marketer", "manager"):
        read(client_of(getattr(world, reader)), page, world)
    for reader in ("stranger", "advisor", "manager"):
        client = client_of(getattr(world, reader))
        served, _ = read(client, page, world)
        kept.PAGE_CACHE_SECONDS = 0
        fresh, _ = read(client, page, world)
        kept.PAGE_CACHE_SECONDS = 60
        assert normalised(served) == normalised(fresh), reader


def test_a_kept_page_carries_the_readers_own_working_csrf_token(kept, world):
    feed = reverse("feed:this_week")
    for _session in range(2):  # two browsers of the same person share the kept page
        client = Client(enforce_csrf_checks=True)
        client.force_login(world.advisor)
        client.get(feed)
        served = client.get(feed).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', served)
        assert token, "the feed's acknowledge form has a token"
        assert fragments.CSRF_PLACEHOLDER not in served
        response = client.post(
            reverse("feed:acknowledge", args=[world.campaign.pk]),
            {"csrfmiddlewaretoken": token[1], "version": world.campaign.version},
        )
        assert response.status_code == 302
        services.campaign_acknowledgement_revoke(
            actor=world.advisor, campaign_id=world.campaign.pk, team_id=world.team.pk
        )


def test_a_kept_page_names_this_responses_nonce(kept, world):
    client = client_of(world.advisor)
    nonces = []
    for _ in range(3):
        response = client.get(reverse("feed:this_week"))
        header = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", header)[1]
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert len(set(nonces)) == 3


def test_a_message_waiting_is_shown_not_swallowed_by_a_kept_page(kept, world):
    client = client_of(world.advisor)
    feed = reverse("feed:this_week")
    client.get(feed)
    client.get(feed)
    response = client.post(
        reverse("feed:acknowledge", args=[world.campaign.pk]),
        {"version": world.campaign.version},
        follow=True,
    )
    assert "acknowledged" in response.content.decode().lower()
    assert list(response.context["messages"]), "the message reached the page"
    # Shown once, then the page is kept again.
    assert not list(client.get(feed).context["messages"])


@pytest.mark.parametrize(
    "page",
    # The feed's stamp is in its key; the calendar's and the inbox's are read by a query
    # of their own, with the revisions of what they show.
    [p for p in PAGES if p.name in ("feed", "calendar", "inbox")],
    ids=lambda p: p.name,
)
def test_a_broken_cache_only_costs_the_rendering(kept, world, page):
    client = client_of(getattr(world, page.reader))
    broken = RedisConnectionError("cache down")
    with (
        mock.patch("django.core.cache.cache.get", side_effect=broken),
        mock.patch("django.core.cache.cache.set", side_effect=broken),
    ):
        response = client.get(page.url(world))
    assert response.status_code == 200
    assert "Carte de vœux 2027" in response.content.decode()


def test_a_campaign_a_reader_may_not_see_is_never_kept_for_them(kept, world):
    draft = CampaignFactory(owner=world.marketer, title="Projet secret")
    url = reverse("campaigns:detail", args=[draft.pk])
    assert client_of(world.marketer).get(url).status_code == 200
    assert client_of(world.advisor).get(url).status_code == 404
    assert client_of(world.advisor).get(url).status_code == 404


def test_a_person_made_a_marketer_reads_what_marketers_read(kept, world):
    """Roles are part of the key: the list an advisor was kept is not what they are served
    once they may see drafts."""
    CampaignFactory(owner=world.marketer, title="Brouillon de printemps")
    client = client_of(world.advisor)
    page = PAGES[2]
    before, _ = read(client, page, world)
    read(client, page, world)
    world.advisor.groups.add(Group.objects.get(name=MARKETER))
    after, _ = read(client, page, world)
    assert "Brouillon de printemps" not in before
    assert "Brouillon de printemps" in after


def test_a_dashboard_kept_for_a_lead_is_refused_to_someone_without_the_role(kept, world):
    """The role is checked before any kept page is looked up: an advisor asking for the
    team page and the overview a lead and a manager just read gets the 403 page."""
    team_page = reverse("dashboards:team", args=[world.team.slug])
    overview = reverse("dashboards:overview")
    for reader, url in (("lead", team_page), ("manager", overview)):
        client = client_of(getattr(world, reader))
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 200
    advisor = client_of(world.advisor)
    assert advisor.get(team_page).status_code == 403
    assert advisor.get(overview).status_code == 403


def test_a_permission_given_to_a_group_reaches_its_members_kept_pages_at_once(kept, world):
    """The key holds the reader's permissions, their groups' included: a role widened by
    an administrator is not hidden behind a page kept a minute earlier, even where the
    page lists the same campaigns (only its "New campaign" button depends on the role)."""
    reviewers = Group.objects.create(name="Relecteurs")
    world.advisor.groups.add(reviewers)
    client = client_of(world.advisor)
    page = PAGES[2]
    create = reverse("campaigns:create")
    before, _ = read(client, page, world)
    read(client, page, world)
    app_label, codename = Perm.ADD_CAMPAIGN.split(".")
    reviewers.permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    after, _ = read(client, page, world)
    assert f'href="{create}"' not in before
    assert f'href="{create}"' in after
