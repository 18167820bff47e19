"""Full-text search in the weekly feed: stemmed and accent-blind on PostgreSQL, an
accent-blind substring match of every word on SQLite (campaigns.search)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from campaigns.models import Campaign
from campaigns.search import _search_query
from feed import selectors as feed
from feed.selectors import FeedFilters, Week
from teams.roles import Actor
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def week_campaigns():
    def live(title: str, **kwargs) -> Campaign:
        return CampaignFactory(
            title=title,
            status=Campaign.Status.ANNOUNCED,
            launch_at=datetime(2026, 11, 24, 9, tzinfo=PARIS),
            summary=kwargs.pop("summary", ""),
            body=kwargs.pop("body", ""),
            **kwargs,
        )

    return {
        "voeux": live("Carte de vœux 2027", summary="Les vœux du directeur"),
        "campagnes": live("Relance", body="Toutes les campagnes de relance du trimestre"),
        "spring": live("Offre", summary="Spring offers for new customers"),
        "other": live("Rien à voir", summary="Facture électronique"),
    }


def search(user, text: str) -> set[str]:
    page = feed.feed_week(
        viewer=Actor.of(user), week=Week(2026, 48), filters=FeedFilters(query=text), tz=PARIS
    )
    return {item.campaign.title for item in page.items}


@pytest.mark.postgres
def test_postgres_search_ignores_ligatures_and_accents(advisor, week_campaigns):
    assert search(advisor, "voeux") == {"Carte de vœux 2027"}
    assert search(advisor, "VŒUX") == {"Carte de vœux 2027"}
    assert search(advisor, "electronique") == {"Rien à voir"}


@pytest.mark.postgres
def test_postgres_search_stems_french_and_english(advisor, week_campaigns):
    assert search(advisor, "campagne") == {"Relance"}
    assert search(advisor, "offer") == {"Offre"}


@pytest.mark.postgres
def test_postgres_search_reads_web_search_syntax(advisor, week_campaigns):
    assert search(advisor, '"carte de voeux"') == {"Carte de vœux 2027"}
    assert search(advisor, "relance -campagnes") == set()
    assert search(advisor, "voeux or facture") == {"Carte de vœux 2027", "Rien à voir"}


@pytest.mark.postgres
def test_postgres_search_has_its_gin_index(advisor):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'campaign_search_vector_idx'"
        )
        (definition,) = cursor.fetchone()
    assert "gin" in definition.lower()
    assert "search_vector" in definition
    searched = Campaign.objects.filter(search_vector=_search_query("voeux"))
    with connection.cursor() as cursor:
        # LOCAL: only for this test's transaction. With plain scans off the planner can
        # only answer the text condition from a bitmap scan of the GIN index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    assert "campaign_search_vector_idx" in searched.explain()


@pytest.mark.postgres
def test_the_stored_document_follows_every_write(marketer):
    """The database writes the document itself, whatever writes the row: the services,
    an ORM save, or an UPDATE that changes only the body."""
    campaign = CampaignFactory(owner=marketer, title="Soldes", body="Rien")
    assert not Campaign.objects.filter(search_vector=_search_query("vœux")).exists()

    Campaign.objects.filter(pk=campaign.pk).update(body="Carte de voeux")

    found = Campaign.objects.filter(search_vector=_search_query("vœux"))
    assert list(found) == [campaign]
    Campaign.objects.filter(pk=campaign.pk).update(audience="Clients premium")
    assert Campaign.objects.filter(search_vector=_search_query("premium")).exists()


@pytest.mark.postgres
def test_the_feed_page_searches(client, advisor, week_campaigns):
    client.force_login(advisor)
    page = client.get("/feed/2026-W48/", {"q": "voeux"}).content.decode()
    assert "Carte de vœux 2027" in page
    assert "Rien à voir" not in page


def test_sqlite_fallback_matches_substrings_and_ligatures(advisor, week_campaigns, settings):
    settings.DATABASE_IS_POSTGRES = False  # the fallback's SQL runs on PostgreSQL too
    assert search(advisor, "voeux") == {"Carte de vœux 2027"}
    assert search(advisor, "VŒUX".lower()) == {"Carte de vœux 2027"}
    assert search(advisor, "campagne") == {"Relance"}  # a substring of "campagnes"
    assert search(advisor, "spring") == {"Offre"}
    assert search(advisor, "ELECTRONIQUE") == {"Rien à voir"}  # accents and case folded
    assert search(advisor, "voeux directeur") == {"Carte de vœux 2027"}  # every word
    assert search(advisor, "voeux relance") == set()
    assert search(advisor, '"-"') == set()  # nothing to look for finds nothing
    assert search(advisor, "introuvable") == set()


def test_the_feed_offers_to_search_every_week(client, advisor, week_campaigns):
    client.force_login(advisor)

    page = client.get("/feed/2026-W49/", {"q": "vœux"}, HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in page  # the fragment, so the offer follows the typing
    assert "No campaign this week matches these filters." in page
    assert 'href="/campaigns/search/?q=v%C5%93ux"' in page
    plain = client.get("/feed/2026-W49/").content.decode()
    assert "search-all-weeks" not in plain


def test_the_search_box_filters_the_feed_page(client, advisor, week_campaigns):
    client.force_login(advisor)
    page = client.get("/feed/2026-W48/", {"q": "relance"}).content.decode()
    assert "Relance" in page
    assert "Carte de vœux 2027" not in page
