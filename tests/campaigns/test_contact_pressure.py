"""Contact pressure: other live campaigns reaching an overlapping audience within three
days. The audience comparison, the selector's window, and the form's htmx endpoint."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from campaigns import services
from campaigns.audience import audience_words, audiences_overlap
from campaigns.selectors import campaigns_with_contact_pressure
from teams.roles import Actor
from tests.factories import CampaignFactory, announced_campaign, make_marketer

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
URL = "/campaigns/contact-pressure/"
LAUNCH = datetime(2026, 12, 10, 10, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _before_these_launches():
    """The dates here are literal (the endpoint is asked with them as typed in a form):
    the tests run on 1 December 2026, before all of them, whatever today's date is."""
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=PARIS), tick=True):
        yield


def words(text: str) -> set[str]:
    return set(audience_words(text))


class TestAudienceWords:
    def test_lowercase_without_accents_split_on_non_letters(self):
        assert words("Clients ACTIFS Île-de-France, fidèles/VIP (2026)") == {
            "clients",
            "actifs",
            "france",
            "fideles",
        }

    def test_short_words_and_stop_words_are_dropped(self):
        assert words("Tous les clients avec une carte et leurs enfants") == {
            "clients",
            "carte",
            "enfants",
        }
        assert words("Customers with a loyalty card from the app") == {
            "customers",
            "loyalty",
            "card",
        }

    def test_ligatures_and_other_scripts(self):
        assert words("Cœur de cible : vœux") == {"coeur", "cible", "voeux"}
        assert words("Straße Ärzte") == {"strasse", "arzte"}

    def test_nothing_meaningful(self):
        assert words("") == set()
        assert words("All — tous les 2026") == set()


class TestOverlap:
    @pytest.mark.parametrize(
        ("first", "second", "overlap"),
        [
            ("Clients actifs", "clients actifs", True),
            ("Clients actifs", "Clients actifs Paris premium", True),  # contained
            ("Clients actifs Paris premium", "Clients actifs", True),  # either way round
            ("Clients actifs Lyon", "Clients premium Lyon Marseille", True),  # 2 of 3 shared
            ("Clients actifs", "Clients dormants", True),  # 1 of 2 is half
            ("Clients actifs jeunes", "Clients dormants seniors", False),  # 1 of 3
            ("Prospects Bretagne", "Clients actifs", False),
            ("", "Clients actifs", False),
            ("All", "All", False),  # no meaningful word: says nothing about who is reached
        ],
    )
    def test_at_least_half_of_the_smaller_set(self, first, second, overlap):
        assert audiences_overlap(audience_words(first), audience_words(second)) is overlap


@pytest.mark.django_db
class TestSelector:
    @pytest.fixture(autouse=True)
    def _viewer(self):
        self.viewer = Actor.of(make_marketer())
        assert self.viewer.writes_campaigns  # read now, not inside the counted queries

    def _pressure(self, **kwargs):
        kwargs.setdefault("audience", "Clients actifs Paris")
        kwargs.setdefault("launch_at", LAUNCH)
        kwargs.setdefault("viewer", self.viewer)
        return campaigns_with_contact_pressure(**kwargs)

    def test_overlapping_audience_within_the_window(self):
        before = CampaignFactory(audience="clients actifs", launch_at=LAUNCH - timedelta(days=2))
        after = CampaignFactory(
            audience="Clients actifs Paris, Lyon", launch_at=LAUNCH + timedelta(hours=30)
        )

        assert self._pressure() == [before, after]

    def test_no_overlap_no_pressure(self):
        CampaignFactory(audience="Prospects Bretagne", launch_at=LAUNCH)
        CampaignFactory(audience="", launch_at=LAUNCH)

        assert self._pressure() == []

    def test_three_days_either_side_bounds_included(self):
        edge_before = CampaignFactory(launch_at=LAUNCH - timedelta(days=3))
        edge_after = CampaignFactory(launch_at=LAUNCH + timedelta(days=3))
        CampaignFactory(launch_at=LAUNCH - timedelta(days=3, minutes=1))
        CampaignFactory(launch_at=LAUNCH + timedelta(days=3, minutes=1))
        CampaignFactory(launch_at=None)

        assert self._pressure(audience="Clients actifs") == [edge_before, edge_after]

    def test_cancelled_campaigns_are_ignored_done_ones_count(self, marketer):
        cancelled = CampaignFactory(owner=marketer, launch_at=LAUNCH)
        services.campaign_cancel(actor=marketer, campaign_id=cancelled.pk)
        announced = announced_campaign(owner=marketer, launch_at=LAUNCH + timedelta(days=1))

        assert self._pressure(audience="Clients actifs") == [announced]

    def test_the_campaign_itself_is_excluded(self):
        itself = CampaignFactory(launch_at=LAUNCH)
        other = CampaignFactory(launch_at=LAUNCH + timedelta(hours=1))

        assert self._pressure(audience="Clients actifs", exclude_id=itself.pk) == [other]
        assert self._pressure(audience="Clients actifs") == [itself, other]

    def test_an_audience_without_meaningful_words_clashes_with_nothing(
        self, django_assert_num_queries
    ):
        CampaignFactory(audience="Tous", launch_at=LAUNCH)

        with django_assert_num_queries(0):
            assert self._pressure(audience="Tous") == []

    def test_one_query(self, django_assert_num_queries):
        for hours in range(20):
            CampaignFactory(launch_at=LAUNCH + timedelta(hours=hours))

        with django_assert_num_queries(1):
            assert len(self._pressure(audience="Clients actifs")) == 20


@pytest.mark.django_db
class TestEndpoint:
    @pytest.fixture
    def logged_in(self, client, marketer):
        client.force_login(marketer)
        return client

    def test_route(self):
        assert reverse("campaigns:contact_pressure") == URL

    def test_login_required(self, client):
        response = client.get(URL, {"audience": "Clients actifs", "launch_at": "2026-12-10T10:00"})

        assert response.status_code == 302

    def test_warning_lists_the_clashes_with_links_and_dates(self, logged_in):
        clash = CampaignFactory(
            title="Relance fidélité", audience="Clients actifs Paris", launch_at=LAUNCH
        )

        response = logged_in.get(
            URL,
            {"audience": "clients actifs", "launch_at": "2026-12-11T09:00"},
            HTTP_HX_REQUEST="true",
        )

        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert 'class="alert alert-warning contact-pressure" role="status"' in html
        assert "1 other campaign reaches an overlapping audience within 3 days" in html
        assert f'href="/campaigns/{clash.pk}/"' in html
        assert "Relance fidélité" in html
        assert 'datetime="2026-12-10T10:00:00+01:00"' in html
        assert "Clients actifs Paris" in html
        assert "You can still save: this is only a warning." in html

    def test_nothing_without_a_clash(self, logged_in):
        CampaignFactory(audience="Prospects Bretagne", launch_at=LAUNCH)

        response = logged_in.get(
            URL, {"audience": "Clients actifs", "launch_at": "2026-12-10T10:00"}
        )

        assert response.status_code == 200
        assert response.content.decode().strip() == ""

    def test_launch_date_is_read_in_the_users_time_zone(self, logged_in):
        CampaignFactory(launch_at=LAUNCH)
        params = {"audience": "Clients actifs"}

        # 10:00 Paris + 3 days exactly: included; one minute later: not.
        inside = logged_in.get(URL, {**params, "launch_at": "2026-12-13T10:00"})
        outside = logged_in.get(URL, {**params, "launch_at": "2026-12-13T10:01"})

        assert "contact-pressure" in inside.content.decode()
        assert outside.content.decode().strip() == ""

    def test_the_edited_campaign_is_not_its_own_clash(self, logged_in):
        campaign = CampaignFactory(launch_at=LAUNCH)
        params = {"audience": "Clients actifs", "launch_at": "2026-12-10T10:00"}

        assert "contact-pressure" in logged_in.get(URL, params).content.decode()
        alone = logged_in.get(URL, {**params, "campaign": campaign.pk}).content.decode()
        assert alone.strip() == ""

    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"audience": "Clients actifs"},
            {"launch_at": "2026-12-10T10:00"},
            {"audience": "Clients actifs", "launch_at": "tomorrow"},
            {"audience": "Clients actifs", "launch_at": "2026-12-10T10:00", "campaign": "x"},
            {"audience": "Clients actifs", "launch_at": "0001-01-01T00:00"},
            {"audience": "Clients actifs", "launch_at": "9999-12-31T23:59"},
            {"audience": "x" * 301, "launch_at": "2026-12-10T10:00"},
        ],
    )
    def test_unreadable_input_shows_nothing_never_an_error(self, logged_in, params):
        CampaignFactory(launch_at=LAUNCH)

        response = logged_in.get(URL, params)

        assert response.status_code == 200
        assert response.content.decode().strip() == ""

    def test_get_only(self, logged_in):
        assert logged_in.post(URL, {"audience": "x"}).status_code == 405

    def test_many_clashes_are_summed_up(self, logged_in, django_assert_max_num_queries):
        for hours in range(12):
            CampaignFactory(launch_at=LAUNCH + timedelta(hours=hours))

        # session, user, the two permission queries (the form's helpers are for marketers
        # and managers), the window
        with django_assert_max_num_queries(5):
            html = logged_in.get(
                URL, {"audience": "Clients actifs", "launch_at": "2026-12-10T10:00"}
            ).content.decode()

        assert "12 other campaigns reach" in html
        assert html.count("<li>") == 10
        assert "And 2 more." in html
