"""Secret calendar (.ics) and feed (Atom) addresses of a person's launches: what they
list, that clients parse them, that they follow changes, and that only the token opens
them."""

import gzip
import zoneinfo
from datetime import datetime, timedelta

import feedparser
import icalendar
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.services import person_erase
from campaigns.models import Campaign, Stakeholder
from campaigns.services import campaign_cancel, campaign_update
from feed import subscriptions
from feed.subscription_views import _document_key
from notifications.models import SubscriptionToken
from notifications.subscriptions import (
    subscription_token_get_or_create,
    subscription_token_regenerate,
    subscription_user,
)
from teams.services import person_set_active
from tests.factories import (
    CampaignFactory,
    MembershipFactory,
    StakeholderFactory,
    TeamFactory,
    UserFactory,
    announced_campaign,
    campaign_input,
    make_manager,
    make_marketer,
)

pytestmark = pytest.mark.django_db
Status = Campaign.Status


def atom_url(token: str) -> str:
    return reverse("subscriptions:atom", args=[token])


def ical_url(token: str) -> str:
    return reverse("subscriptions:ical", args=[token])


def campaign_link(campaign: Campaign) -> str:
    return f"{settings.PASSERELLE_BASE_URL}/campaigns/{campaign.pk}/"


def fetch_atom(client, token: str) -> feedparser.FeedParserDict:
    response = client.get(atom_url(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def fetch_ical(client, token: str) -> dict[str, icalendar.Event]:
    response = client.get(ical_url(token))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def announced_on_record(*, teams, **kwargs) -> Campaign:
    """An announced campaign whose launch is in the past (the announce service refuses
    that without a reason, and how it got there does not matter here)."""
    now = timezone.now()
    campaign = CampaignFactory(status=Status.ANNOUNCED, announced_at=now, **kwargs)
    for team in teams:
        StakeholderFactory(campaign=campaign, team=team)
    return campaign


def launching_soon(team, owner, **fields) -> Campaign:
    """The one campaign of a person's feeds, announced to their team, launching in two days."""
    return announced_campaign(
        owner=owner, teams=[team], launch_at=timezone.now() + timedelta(days=2), **fields
    )


@pytest.fixture
def team():
    return TeamFactory(name="Conseillers")


@pytest.fixture
def person(team):
    return MembershipFactory(
        team=team, user__full_name="Alice Advisor", user__time_zone="Europe/Paris"
    ).user


@pytest.fixture
def token(person) -> str:
    return subscription_token_get_or_create(user=person).token


@pytest.fixture
def owner():
    return make_marketer(full_name="Marie Marketing")


@pytest.fixture
def launches(team, owner):
    """What the person's feeds must list, and what they must not."""
    now = timezone.now()
    other_team = TeamFactory(name="Ventes")
    upcoming = announced_campaign(
        owner=owner, teams=[team, other_team], title="Soldes d'hiver", audience="Clients actifs"
    )
    lasting = announced_campaign(
        owner=owner,
        teams=[team],
        title="Webinaire",
        channel=Campaign.Channel.WEBINAR,
        launch_at=now + timedelta(days=20),
        ends_at=now + timedelta(days=22),
    )
    recent = announced_on_record(
        teams=[team], owner=owner, title="Relance", launch_at=now - timedelta(days=10)
    )
    still_running = announced_on_record(
        teams=[team],
        owner=owner,
        title="Programme fidélité",
        launch_at=now - timedelta(days=60),
        ends_at=now + timedelta(days=5),
    )
    excluded = {
        "other team": announced_campaign(owner=owner, teams=[other_team], title="Autre équipe"),
        "draft": CampaignFactory(owner=owner, title="Brouillon"),
        "long ago": announced_on_record(
            teams=[team], owner=owner, title="Ancienne", launch_at=now - timedelta(days=45)
        ),
        "too far ahead": announced_campaign(
            owner=owner, teams=[team], title="Lointaine", launch_at=now + timedelta(days=200)
        ),
        "cancelled draft": CampaignFactory(
            owner=owner, title="Annulée avant annonce", status=Status.CANCELLED
        ),
    }
    StakeholderFactory(campaign=excluded["draft"], team=team)
    StakeholderFactory(campaign=excluded["cancelled draft"], team=team)
    return {
        "listed": [still_running, recent, upcoming, lasting],
        "excluded": excluded,
    }


# --- Atom -------------------------------------------------------------------------------


def test_atom_feed_lists_the_persons_launches_with_stable_ids(client, person, token, launches):
    feed = fetch_atom(client, token)

    assert feed.version == "atom10"
    assert feed.feed.id == f"urn:passerelle:launches:user:{person.pk}"
    assert "Alice Advisor" in feed.feed.title
    listed = launches["listed"]
    assert [entry.id for entry in feed.entries] == [
        f"urn:passerelle:campaign:{c.pk}" for c in listed
    ]
    for campaign, entry in zip(listed, feed.entries, strict=True):
        assert entry.title == campaign.title
        assert entry.link == campaign_link(campaign)
        assert datetime.fromisoformat(entry.updated) == campaign.updated_at
        assert entry.author == "Marie Marketing"
    upcoming = feed.entries[2]
    assert "Channel: E-mail" in upcoming.summary
    assert "Audience: Clients actifs" in upcoming.summary
    # The launch date, in the person's time zone, which is named.
    launch = timezone.localtime(listed[2].launch_at, zoneinfo.ZoneInfo("Europe/Paris"))
    assert f"Launch: {date_format(launch, 'DATETIME_FORMAT')} (Europe/Paris)" in upcoming.summary
    assert feed.feed.links[-1].href == f"{settings.PASSERELLE_BASE_URL}{atom_url(token)}"
    assert feed.entries[3].tags[0].term == "Webinar"


def test_atom_feed_leaves_out_other_teams_drafts_and_dates_out_of_range(client, token, launches):
    body = client.get(atom_url(token)).content.decode()
    for campaign in launches["excluded"].values():
        assert campaign.title not in body
        assert f"urn:passerelle:campaign:{campaign.pk}<" not in body


def test_atom_entry_is_updated_not_duplicated_after_an_edit(client, owner, token, launches):
    campaign = launches["listed"][2]
    before = {entry.id: entry.updated for entry in fetch_atom(client, token).entries}

    campaign_update(
        actor=owner,
        campaign_id=campaign.pk,
        data=campaign_input(campaign, audience="Nouveaux clients"),
    )

    after = {entry.id: entry for entry in fetch_atom(client, token).entries}
    entry_id = f"urn:passerelle:campaign:{campaign.pk}"
    assert after.keys() == before.keys()
    assert after[entry_id].updated > before[entry_id]
    assert "Audience: Nouveaux clients" in after[entry_id].summary


def test_atom_feed_speaks_the_persons_language(client, person, token, launches):
    person.language = "fr"
    person.save(update_fields=["language"])

    response = client.get(atom_url(token), headers={"accept-language": "en"})

    assert b'xml:lang="fr"' in response.content


def test_atom_summaries_are_html_in_one_cdata_section(client, owner, team, token):
    launching_soon(team, owner, title="Soldes", summary="Prix <b>barrés</b> & ]]> fin de section")

    body = client.get(atom_url(token)).content.decode()
    entry = fetch_atom(client, token).entries[0]

    # Tags written as they are, not as &lt;li&gt;: a tenth of the document.
    assert '<summary type="html"><![CDATA[<ul><li>Launch: ' in body
    assert "&lt;li&gt;" not in body
    # The campaign's own text stays text: its markup and `]]>` are escaped inside the
    # section, so the section ends where the summary does and readers show the words.
    assert "Prix &lt;b&gt;barrés&lt;/b&gt; &amp; ]]&gt; fin de section" in body
    assert body.count("]]>") == 1
    assert "<p>Prix &lt;b&gt;barrés&lt;/b&gt; &amp; ]]&gt; fin de section</p>" in entry.summary
    assert "Channel: E-mail" in entry.summary


def test_control_characters_do_not_break_the_feeds(client, owner, team, token):
    """A vertical tab pasted from a word processor, or a control character in a row older
    than the rules on names, used to fail the whole document for everyone it lists."""
    owner.full_name = "Marie\x0bMarketing"
    owner.save(update_fields=["full_name"])
    launching_soon(
        team, owner, title="Soldes\x1b d'hiver", summary="Première ligne\x0bseconde ligne\x0c"
    )

    entry = fetch_atom(client, token).entries[0]

    assert entry.title == "Soldes\ufffd d'hiver"
    assert entry.author == "Marie\ufffdMarketing"
    assert "Première ligne\ufffdseconde ligne\ufffd" in entry.summary
    # The calendar holds no control character either (RFC 5545 text forbids them).
    (event,) = fetch_ical(client, token).values()
    assert str(event["SUMMARY"]) == "Soldes\ufffd d'hiver"
    assert "Première ligne\ufffdseconde ligne\ufffd" in str(event["DESCRIPTION"])


# --- iCalendar --------------------------------------------------------------------------


def test_ical_feed_has_one_event_per_launch(client, token, launches):
    response = client.get(ical_url(token))
    calendar = icalendar.Calendar.from_ical(response.content)

    assert calendar["VERSION"] == "2.0"
    assert str(calendar["PRODID"]).startswith("-//Passerelle//")
    assert str(calendar["X-WR-CALNAME"]) == "Passerelle launches"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    listed = launches["listed"]
    assert set(events) == {f"campaign-{c.pk}@passerelle" for c in listed}
    for campaign in listed:
        event = events[f"campaign-{campaign.pk}@passerelle"]
        assert str(event["SUMMARY"]) == campaign.title
        assert str(event["URL"]) == campaign_link(campaign)
        assert campaign_link(campaign) in str(event["DESCRIPTION"])
        assert str(event["STATUS"]) == "CONFIRMED"
        assert event["SEQUENCE"] == campaign.version
        start = event.decoded("DTSTART")
        assert start == campaign.launch_at.replace(microsecond=0)
        assert start.utcoffset() == timedelta(0)
        assert event.decoded("LAST-MODIFIED") == campaign.updated_at.replace(microsecond=0)
        assert event.decoded("DTSTAMP") == campaign.updated_at.replace(microsecond=0)


def test_ical_launch_is_a_point_event_that_never_blocks_time(client, token, launches):
    """A campaign running three weeks is not a three-week block in the calendar: the
    launch is a moment (no DTEND: it ends when it starts), transparent to free/busy."""
    events = fetch_ical(client, token)
    still_running, _recent, upcoming, lasting = launches["listed"]
    for campaign in (still_running, upcoming, lasting):
        event = events[f"campaign-{campaign.pk}@passerelle"]
        assert event.decoded("DTSTART") == campaign.launch_at.replace(microsecond=0)
        assert "DTEND" not in event
        assert "DURATION" not in event
        assert str(event["TRANSP"]) == "TRANSPARENT"
    event = events[f"campaign-{lasting.pk}@passerelle"]
    assert "Ends: " in str(event["DESCRIPTION"])  # the end date is still told
    assert event["CATEGORIES"].cats == ["Webinar"]
    assert "Channel: Webinar" in str(event["DESCRIPTION"])


def test_ical_feed_is_the_same_from_one_fetch_to_the_next(client, token, launches):
    first = client.get(ical_url(token)).content
    second = client.get(ical_url(token)).content

    assert first == second


def test_ical_sequence_goes_up_after_a_material_change(client, owner, token, launches):
    campaign = launches["listed"][2]
    uid = f"campaign-{campaign.pk}@passerelle"
    before = fetch_ical(client, token)[uid]

    new_launch = campaign.launch_at + timedelta(days=1)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        campaign_update(
            actor=owner,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, launch_at=new_launch),
        )

    after = fetch_ical(client, token)[uid]
    assert after["SEQUENCE"] == before["SEQUENCE"] + 1 == 2
    assert after.decoded("DTSTART") == new_launch.replace(microsecond=0)
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")


def test_ical_title_typo_keeps_the_sequence(client, owner, token, launches):
    campaign = launches["listed"][2]
    uid = f"campaign-{campaign.pk}@passerelle"

    campaign_update(
        actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, title="Soldes")
    )

    event = fetch_ical(client, token)[uid]
    assert event["SEQUENCE"] == 1
    assert str(event["SUMMARY"]) == "Soldes"


def test_cancelled_campaign_stays_listed_as_cancelled(client, owner, token, launches):
    campaign = launches["listed"][2]
    uid = f"campaign-{campaign.pk}@passerelle"

    campaign_cancel(actor=owner, campaign_id=campaign.pk, reason="Stock épuisé")

    event = fetch_ical(client, token)[uid]
    assert str(event["STATUS"]) == "CANCELLED"
    # Same version, but a cancellation is a revision calendar clients must pick up.
    assert event["SEQUENCE"] == 2
    assert str(event["SUMMARY"]) == f"Cancelled: {campaign.title}"
    entry = next(e for e in fetch_atom(client, token).entries if e.id.endswith(f":{campaign.pk}"))
    assert entry.title == f"Cancelled: {campaign.title}"


def test_empty_feeds_are_still_valid(client, token):
    assert fetch_atom(client, token).entries == []
    assert fetch_ical(client, token) == {}


# --- the secret address -----------------------------------------------------------------


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_wrong_token_is_a_404_without_data(client, token, launches, url):
    for wrong in ["nope", token[:-1], token + "x", token.upper(), "x" * 200]:
        response = client.get(url(wrong))
        assert response.status_code == 404
        body = response.content.decode()
        for campaign in launches["listed"]:
            assert campaign.title not in body


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_regenerated_token_replaces_the_old_one(client, person, token, launches, url):
    client.force_login(person)
    response = client.post(reverse("notifications:subscriptions_regenerate"), follow=True)

    assert "The old addresses stop working." in response.content.decode()
    new_token = SubscriptionToken.objects.get(user=person).token
    assert new_token != token
    client.logout()
    assert client.get(url(token)).status_code == 404
    assert client.get(url(new_token)).status_code == 200


def test_feeds_need_no_session_and_are_kept_out_of_shared_caches(client, token):
    response = client.get(ical_url(token))

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.post(ical_url(token)).status_code == 405


def test_inactive_persons_token_opens_nothing(client, person, token):
    person.is_active = False
    person.save(update_fields=["is_active"])

    assert client.get(atom_url(token)).status_code == 404
    assert subscription_user(token=token) is None


def test_token_services(person):
    first = subscription_token_get_or_create(user=person)
    assert subscription_token_get_or_create(user=person).token == first.token
    assert len(first.token) >= 43
    assert subscription_user(token=first.token) == person

    second = subscription_token_regenerate(user=person)

    assert second.pk == first.pk
    assert second.token != first.token
    assert subscription_user(token=first.token) is None
    assert subscription_user(token="") is None


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_query_count_does_not_grow_with_campaigns(client, team, owner, token, url):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(token)).status_code == 200
        return len(queries)

    announced_campaign(owner=owner, teams=[team])
    with_one = count_queries()
    for _ in range(6):
        announced_campaign(owner=make_marketer(), teams=[team, TeamFactory()])

    # the token with its person; the upcoming, recent and still-running launches for the
    # validator, then again, whole, for the document
    assert count_queries() == with_one <= 7


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_an_unchanged_feed_costs_only_the_validator_queries(client, team, owner, token, url):
    for _ in range(3):
        announced_campaign(owner=owner, teams=[team])
    etag = client.get(url(token))["ETag"]

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(token), headers={"if-none-match": etag})

    assert response.status_code == 304
    # the token with its person, then one narrow read per slice of launches
    assert len(queries) == 4
    assert all('"campaigns_campaign"."body"' not in q["sql"] for q in queries)


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_busy_month_keeps_the_upcoming_launches(client, team, owner, token, url):
    """A large company launches more in a month than a feed holds: the feed must keep
    what is coming, not the oldest launches of the window."""
    now = timezone.now()
    past = Campaign.objects.bulk_create(
        Campaign(
            title=f"Passée {i}",
            channel=Campaign.Channel.EMAIL,
            owner=owner,
            status=Status.DONE,
            announced_at=now - timedelta(days=29),
            launch_at=now - timedelta(days=29) + timedelta(minutes=i),
        )
        for i in range(subscriptions.MAX_LAUNCHES + 50)
    )
    Stakeholder.objects.bulk_create(Stakeholder(campaign=c, team=team) for c in past)
    coming = [announced_campaign(owner=owner, teams=[team], title=f"À venir {i}") for i in range(3)]

    body = client.get(url(token)).content.decode()

    for campaign in coming:
        assert campaign.title in body
    listed = body.count("urn:passerelle:campaign:") + body.count("UID:campaign-")
    assert listed == 3 + subscriptions.RECENT_MAX
    # the most recent of the past launches are kept, the oldest dropped
    assert f"Passée {subscriptions.MAX_LAUNCHES + 49}" in body
    assert "Passée 0<" not in body  # Atom
    assert "Passée 0\r" not in body  # iCalendar


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_an_unchanged_feed_is_not_rebuilt(client, token, launches, url, monkeypatch):
    etag = client.get(url(token))["ETag"]

    def must_not_build(**kwargs: object) -> None:
        raise AssertionError("an unchanged feed was built again")

    monkeypatch.setattr(subscriptions, "launches_atom", must_not_build)
    monkeypatch.setattr(subscriptions, "launches_ical", must_not_build)
    response = client.get(url(token), headers={"if-none-match": etag})

    assert response.status_code == 304
    assert response["ETag"] == etag


# --- the preferences page ---------------------------------------------------------------


def test_preferences_page_writes_nothing_and_offers_to_create_addresses(client, person):
    client.force_login(person)

    response = client.get(reverse("notifications:preferences"))

    assert not SubscriptionToken.objects.exists()
    body = response.content.decode()
    assert "Create my addresses" in body
    assert reverse("notifications:subscriptions_create") in body
    assert 'id="subscription-ical"' not in body


def test_create_addresses_is_a_post_and_idempotent(client, person):
    url = reverse("notifications:subscriptions_create")
    assert client.post(url).status_code == 302  # to the login page
    client.force_login(person)
    assert client.get(url).status_code == 405
    assert not SubscriptionToken.objects.exists()

    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:preferences") + "#subscriptions"
    token = SubscriptionToken.objects.get(user=person).token
    client.post(url)  # a second click keeps the addresses already handed out
    assert SubscriptionToken.objects.get(user=person).token == token


def test_preferences_page_shows_both_addresses_and_regenerate(client, person):
    client.force_login(person)
    client.post(reverse("notifications:subscriptions_create"))

    response = client.get(reverse("notifications:preferences"))

    token = SubscriptionToken.objects.get(user=person).token
    body = response.content.decode()
    assert f'value="{settings.PASSERELLE_BASE_URL}{ical_url(token)}"' in body
    assert f'value="{settings.PASSERELLE_BASE_URL}{atom_url(token)}"' in body
    assert reverse("notifications:subscriptions_regenerate") in body


def test_preferences_page_offers_a_webcal_link_and_help_per_calendar_app(client, person):
    client.force_login(person)
    client.post(reverse("notifications:subscriptions_create"))

    body = client.get(reverse("notifications:preferences")).content.decode()

    token = SubscriptionToken.objects.get(user=person).token
    host_and_path = settings.PASSERELLE_BASE_URL.split("://", 1)[1] + ical_url(token)
    assert f'<a href="webcal://{host_and_path}" role="button"' in body
    assert "Add to calendar" in body
    for app in ("Google Calendar", "Outlook", "Apple Calendar"):
        assert f"<dt>{app}</dt>" in body
    assert "Subscribe from web" in body


def test_regenerate_needs_a_post_and_a_login(client, person):
    url = reverse("notifications:subscriptions_regenerate")
    assert client.post(url).status_code == 302  # to the login page
    assert not SubscriptionToken.objects.exists()
    client.force_login(person)
    assert client.get(url).status_code == 405


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_unchanged_feed_answers_304(client, owner, token, launches, url):
    etag = client.get(url(token))["ETag"]

    assert client.get(url(token), headers={"if-none-match": etag}).status_code == 304

    campaign = launches["listed"][2]
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        campaign_update(
            actor=owner,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, audience="Nouveaux clients"),
        )
    assert client.get(url(token), headers={"if-none-match": etag}).status_code == 200


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_renamed_owner_changes_the_feed(client, owner, token, launches, url):
    etag = client.get(url(token))["ETag"]
    campaign_owner = launches["listed"][0].owner
    campaign_owner.full_name = "Nom Tout Neuf"
    campaign_owner.save(update_fields=["full_name"])

    response = client.get(url(token), headers={"if-none-match": etag})

    assert response.status_code == 200  # the owner is named in entries (the contact)
    assert response["ETag"] != etag


@pytest.fixture
def kept_documents(settings):
    settings.SUBSCRIPTION_CACHE_SECONDS = 3600
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "s"}
    }
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_reader_without_the_validator_gets_the_kept_document(
    client, owner, token, launches, url, monkeypatch, kept_documents
):
    first = client.get(url(token))

    def must_not_build(**kwargs: object) -> None:
        raise AssertionError("a document of the same version was built again")

    with monkeypatch.context() as patched:
        patched.setattr(subscriptions, "launches_atom", must_not_build)
        patched.setattr(subscriptions, "launches_ical", must_not_build)
        again = client.get(url(token))
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["ETag"] == first["ETag"]
    assert "no-referrer" in again["Referrer-Policy"]

    campaign = launches["listed"][0]
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        campaign_update(
            actor=owner,
            campaign_id=campaign.pk,
            data=campaign_input(campaign, audience="Nouveaux clients"),
        )
    changed = client.get(url(token))
    assert changed["ETag"] != first["ETag"]
    assert changed.content != first.content  # built again (iCal folds long lines)


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_an_unchanged_feed_asked_again_within_a_minute_costs_no_query(
    client, owner, token, launches, url, settings, kept_documents, django_assert_num_queries
):
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    etag = client.get(url(token))["ETag"]

    with django_assert_num_queries(0):
        response = client.get(url(token), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag

    # A change shows once the kept validator is older than the minute.
    campaign = launches["listed"][0]
    campaign_update(
        actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, audience="Autres")
    )
    assert client.get(url(token), HTTP_IF_NONE_MATCH=etag).status_code == 304
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        changed = client.get(url(token), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_regenerated_address_gets_no_answer_even_when_unchanged(
    client, person, token, launches, url, settings, kept_documents
):
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    etag = client.get(url(token))["ETag"]
    subscription_token_regenerate(user=person)
    assert client.get(url(token), HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_an_erased_persons_address_gets_no_answer_even_when_unchanged(
    client, person, token, launches, settings, kept_documents, django_capture_on_commit_callbacks
):
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    etag = client.get(atom_url(token))["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        person_erase(actor=UserFactory(is_superuser=True), person=person, remove_text=False)
    assert client.get(atom_url(token), HTTP_IF_NONE_MATCH=etag).status_code == 404


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_reader_without_the_validator_sees_a_change_within_the_minute(
    client, owner, token, launches, url, settings, kept_documents, django_assert_num_queries
):
    """Within SUBSCRIPTION_FRESH_SECONDS a plain request gets the document kept for the
    remembered validator, with no query, as a conditional one gets its 304; the validator
    is not renewed by it, so every poll after the minute sees the change."""
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    first = client.get(url(token))
    campaign = launches["listed"][0]
    for round_, audience in enumerate(["Autres", "Encore d'autres"], start=1):
        campaign = campaign_update(
            actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, audience=audience)
        )
        later = timezone.now() + timedelta(seconds=61 * round_)
        with time_machine.travel(later - timedelta(seconds=30), tick=False):
            with django_assert_num_queries(0):
                kept = client.get(url(token))
            if round_ == 1:
                assert kept.content == first.content
                assert kept["ETag"] == first["ETag"]
        with time_machine.travel(later, tick=False):
            changed = client.get(url(token))
        assert changed["ETag"] != kept["ETag"]
        assert changed.content != kept.content


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_an_address_deleted_elsewhere_gets_no_kept_document(
    client,
    person,
    token,
    launches,
    url,
    settings,
    kept_documents,
    django_capture_on_commit_callbacks,
):
    """However the token goes (a bulk delete here, no service involved), the address's
    remembered validator goes with it: a kept document is served without looking the
    address up, so it must not outlive the address."""
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    assert client.get(url(token)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        SubscriptionToken.objects.filter(user=person).delete()
    assert client.get(url(token)).status_code == 404


@pytest.mark.parametrize("deactivate", ["service", "admin save"])
@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_deactivated_persons_address_gets_nothing_even_within_the_minute(
    client,
    person,
    token,
    launches,
    url,
    deactivate,
    settings,
    kept_documents,
    django_capture_on_commit_callbacks,
):
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    first = client.get(url(token))
    assert first.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        if deactivate == "service":
            person_set_active(actor=make_manager(), user_id=person.pk, active=False)
        else:  # what the admin's change form does
            person.is_active = False
            person.save()

    assert client.get(url(token)).status_code == 404
    assert client.get(url(token), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_an_address_that_stops_working_while_its_feed_is_computed_is_not_remembered_again(
    client,
    person,
    token,
    launches,
    url,
    settings,
    kept_documents,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """The request found the address live, then the person was deactivated while it
    computed the validator: what it remembers afterwards must not vouch for the address."""
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    compute = subscriptions.subscription_validator

    def deactivated_meanwhile(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            person_set_active(actor=make_manager(), user_id=person.pk, active=False)
        return compute(**kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(subscriptions, "subscription_validator", deactivated_meanwhile)
        assert client.get(url(token)).status_code == 200  # it had found the address live

    assert client.get(url(token)).status_code == 404


@pytest.mark.parametrize("accept_encoding", ["", "gzip"])
def test_the_feeds_work_with_the_cache_unreachable(
    client, token, launches, settings, accept_encoding, unreachable_cache
):
    """Redis down: nothing is remembered or kept, every request is computed and answered."""
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    settings.SUBSCRIPTION_CACHE_SECONDS = 3600
    unreachable_cache()
    for url in (atom_url, ical_url):
        first = client.get(url(token), headers={"accept-encoding": accept_encoding})
        again = client.get(
            url(token), headers={"accept-encoding": accept_encoding, "if-none-match": first["ETag"]}
        )
        assert first.status_code == 200
        assert again.status_code == 304
        body = gzip.decompress(first.content) if accept_encoding else first.content
        assert body.startswith((b"<?xml", b"BEGIN:VCALENDAR"))


def test_saving_active_people_does_not_touch_their_addresses(
    person, token, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """Sign-ins save people all day: only a deactivated person's save looks for tokens."""
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
        person.save(update_fields=["last_login"])
    assert callbacks == []


@pytest.mark.parametrize("url", [atom_url, ical_url])
def test_a_client_that_takes_gzip_gets_the_document_gzipped(
    client, token, launches, url, settings, kept_documents, django_assert_num_queries
):
    settings.SUBSCRIPTION_FRESH_SECONDS = 60
    plain = client.get(url(token))

    for _ in range(2):  # as built, then as kept
        packed = client.get(url(token), headers={"accept-encoding": "br, gzip;q=0.8"})
        assert packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert len(packed.content) < len(plain.content)
        assert "Accept-Encoding" in packed["Vary"]
        assert "Accept-Encoding" in plain["Vary"]
        # Another representation: a weak validator, which still answers 304.
        assert packed["ETag"] == f"W/{plain['ETag']}"
        assert packed["Content-Type"] == plain["Content-Type"]
    not_modified = client.get(
        url(token), headers={"accept-encoding": "gzip", "if-none-match": packed["ETag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == packed["ETag"]


@pytest.mark.parametrize(
    "accept_encoding",
    ["", "identity", "br", "gzip;q=0", "gzip;q=0, *", "*;q=0", "gzip;q=x", "gzip;v=1;q=0"],
)
def test_a_client_that_refuses_gzip_gets_the_document_as_is(
    client, token, launches, kept_documents, accept_encoding
):
    response = client.get(atom_url(token), headers={"accept-encoding": accept_encoding})
    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert response.content.startswith(b"<?xml")
    assert not response["ETag"].startswith("W/")


@pytest.mark.parametrize(
    "accept_encoding", ["gzip", "GZIP", "x-gzip", "*", "deflate, gzip;q=1.0", "gzip; v=1; q=0.5"]
)
def test_every_way_of_taking_gzip_is_understood(
    client, token, launches, kept_documents, accept_encoding
):
    response = client.get(atom_url(token), headers={"accept-encoding": accept_encoding})
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content).startswith(b"<?xml")


def test_the_kept_document_is_kept_gzipped(client, token, launches, kept_documents):
    """A cache holds one document per address and kind: gzipped, a company's thousands of
    subscribers take a twentieth of the memory."""
    from django.core.cache import cache

    plain = client.get(atom_url(token))

    validator, gzipped, content_type, _ = cache.get(_document_key("atom", token))
    assert validator == plain["ETag"]
    assert gzip.decompress(gzipped) == plain.content
    assert content_type == plain["Content-Type"]


def test_a_new_version_of_a_document_replaces_the_kept_one(
    client, owner, token, launches, kept_documents
):
    """One document per address and kind, whatever number of versions an hour brings."""
    from django.core.cache import cache

    first = client.get(atom_url(token))
    campaign = launches["listed"][0]
    campaign_update(
        actor=owner, campaign_id=campaign.pk, data=campaign_input(campaign, audience="Autres")
    )
    second = client.get(atom_url(token))

    assert second["ETag"] != first["ETag"]
    assert cache.get(_document_key("atom", token))[0] == second["ETag"]
    assert [key for key in cache._cache if "subscription:document" in key] == [
        cache.make_key(_document_key("atom", token))
    ]
