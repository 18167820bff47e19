"""Rows kept under a digest of their data (core/fragments.py): what is kept is served,
any change to what a row shows makes a new key, a row never shows another reader's token
or reads the reader, and a broken cache only costs the rendering."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import caches
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from campaigns import services
from campaigns.models import Campaign
from core import fragments
from core.fragments import FragmentLeak
from tests.factories import MembershipFactory, TeamFactory, announced_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept(settings, own_cache):
    """Fragments kept, in a cache of this test's own."""
    settings.FRAGMENT_CACHE_SECONDS = 120


class Counter:
    def __init__(self) -> None:
        self.renders = 0

    def __str__(self) -> str:
        self.renders += 1
        return ""


ROW = (
    "{% load fragments %}{% cachedfragment 'row' campaign %}{{ counter }}"
    "{{ campaign.title }}|{{ campaign.owner.display_name }}|{{ campaign.launch_at|date:'H:i' }}"
    "{% endcachedfragment %}"
)


def render_row(campaign: Campaign, counter: Counter) -> str:
    # Built here, not at import: an engine made while collecting would miss the strict
    # template settings the test run installs later.
    return Template(ROW).render(Context({"campaign": campaign, "counter": counter}))


def fresh(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_related("owner").get(pk=campaign.pk)


def test_a_kept_row_is_served_without_rendering(kept):
    campaign = announced_campaign(title="Vœux 2027")
    counter = Counter()
    first = render_row(fresh(campaign), counter)
    second = render_row(fresh(campaign), counter)  # another instance, same data
    assert first == second
    assert "Vœux 2027" in first
    assert counter.renders == 1


def test_any_change_to_what_the_row_shows_renders_it_again(kept):
    campaign = announced_campaign(title="Vœux 2027")
    counter = Counter()
    render_row(fresh(campaign), counter)

    Campaign.objects.filter(pk=campaign.pk).update(title="Vœux 2028")  # no signal, no save
    assert "Vœux 2028" in render_row(fresh(campaign), counter)
    owner = campaign.owner
    owner.full_name = "Sophie Renamed"
    owner.save()
    assert "Sophie Renamed" in render_row(fresh(campaign), counter)  # a related object
    assert counter.renders == 3


def test_the_readers_language_and_time_zone_are_part_of_the_key(kept):
    campaign = fresh(announced_campaign())
    launch = timezone.localtime(campaign.launch_at, ZoneInfo("America/New_York"))
    counter = Counter()
    render_row(campaign, counter)
    with timezone.override(ZoneInfo("America/New_York")):
        assert f"|{launch:%H:%M}" in render_row(campaign, counter)
    with translation.override("fr"):
        render_row(campaign, counter)
    assert counter.renders == 3


def test_a_row_that_reads_the_reader_fails_loudly():
    template = Template(
        "{% load fragments %}{% cachedfragment 'row' 1 %}{{ user.display_name }}"
        "{% endcachedfragment %}"
    )
    with pytest.raises(FragmentLeak):
        template.render(Context({"user": object()}))


def test_without_a_cache_rows_are_rendered(settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    campaign = fresh(announced_campaign(title="Sans cache"))
    counter = Counter()
    assert "Sans cache" in render_row(campaign, counter)
    render_row(campaign, counter)
    assert counter.renders == 2


def test_a_broken_cache_costs_only_the_rendering(kept, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("cache down")

    monkeypatch.setattr(caches["default"], "get_many", broken)
    monkeypatch.setattr(caches["default"], "set", broken)
    campaign = fresh(announced_campaign(title="Cache en panne"))
    assert "Cache en panne" in render_row(campaign, Counter())


def _ack_form_token(html: str, campaign: Campaign) -> str:
    action = reverse("feed:acknowledge", args=[campaign.pk])
    form = re.search(rf'<form method="post" action="{action}".*?</form>', html, re.DOTALL)
    assert form is not None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form[0])
    assert token is not None
    return token[1]


@time_machine.travel("2026-12-02 10:00 +0000")  # a Wednesday: the launch is this week
def test_each_reader_posts_a_kept_row_with_their_own_token(kept):
    team = TeamFactory(name="Conseillers")
    first, second = (MembershipFactory(team=team).user for _ in range(2))
    campaign = announced_campaign(teams=[team], launch_at=timezone.now() + timedelta(hours=2))
    pages = {}
    for person in (first, second):
        client = Client(enforce_csrf_checks=True)
        client.force_login(person)
        client.get(reverse("feed:this_week"))  # sets the CSRF cookie
        html = client.get(reverse("feed:this_week")).content.decode()
        assert fragments.CSRF_PLACEHOLDER not in html
        pages[person.pk] = (client, _ack_form_token(html, campaign))

    client, token = pages[second.pk]
    response = client.post(
        reverse("feed:acknowledge", args=[campaign.pk]),
        {"csrfmiddlewaretoken": token, "version": campaign.version, "team": team.pk},
    )
    assert response.status_code == 302  # 403 if the kept row carried the first reader's token


@time_machine.travel("2026-12-02 10:00 +0000")
def test_the_feed_shows_an_acknowledgement_made_after_it_was_kept(kept, client):
    team = TeamFactory(name="Conseillers")
    advisor = MembershipFactory(team=team).user
    campaign = announced_campaign(teams=[team], launch_at=timezone.now() + timedelta(hours=2))
    client.force_login(advisor)
    assert 'data-ack="waiting"' in client.get(reverse("feed:this_week")).content.decode()

    services.campaign_acknowledge(actor=advisor, campaign_id=campaign.pk, version=campaign.version)

    html = client.get(reverse("feed:this_week")).content.decode()
    assert 'data-ack="waiting"' not in html
    assert 'data-ack="done"' in html


def test_a_row_carrying_an_unevaluated_queryset_runs_no_hidden_query(
    kept, django_assert_num_queries
):
    template = Template(
        "{% load fragments %}{% cachedfragment 'row' campaigns %}kept{% endcachedfragment %}"
    )
    with django_assert_num_queries(0):
        assert template.render(Context({"campaigns": Campaign.objects.all()})) == "kept"


def test_a_row_that_cannot_be_pictured_is_rendered_every_time(kept):
    template = Template(
        "{% load fragments %}{% cachedfragment 'row' part %}{{ counter }}row{% endcachedfragment %}"
    )
    counter = Counter()
    for _ in range(2):
        context = Context({"part": (i for i in range(3)), "counter": counter})  # a generator
        assert template.render(context) == "row"
    assert counter.renders == 2
