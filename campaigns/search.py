"""Full-text search over campaigns: title, summary, audience and body, stemmed in French
and in English and accent-blind on PostgreSQL (the stored `search_vector`, kept by the
database: migration 0009), with a plain substring fallback on SQLite."""

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db.models import Q, QuerySet

from campaigns.models import Campaign

# Text search configurations created by migration campaigns/0005 (PostgreSQL only): the
# language's stemmer behind `unaccent`, so "voeux" finds "vœux", "campagne" "campagnes".
SEARCH_CONFIGS = ("french_unaccent", "english_unaccent")
SEARCH_FIELDS = ("title", "summary", "audience", "body")


def _search_query(text: str) -> SearchQuery:
    french, english = (
        SearchQuery(text, config=config, search_type="websearch") for config in SEARCH_CONFIGS
    )
    return french | english


def _ligature_variants(text: str) -> set[str]:
    """The spellings SQLite's fallback also tries: "voeux" ↔ "vœux"."""
    variants = {text}
    for plain, ligature in (("oe", "œ"), ("ae", "æ")):
        variants |= {v.replace(plain, ligature) for v in variants}
        variants |= {v.replace(ligature, plain) for v in variants}
    return variants


def campaigns_searched[C: Campaign](campaigns: QuerySet[C], text: str) -> QuerySet[C]:
    text = text.strip()
    if not text:
        return campaigns
    if settings.DATABASE_IS_POSTGRES:
        # The stored document (migration 0009), read from its GIN index or, when the
        # planner starts from another index, compared row by row without stemming again.
        return campaigns.filter(search_vector=_search_query(text))
    # SQLite fallback (development only): substring match on the three fields, with
    # œ/oe spelled either way. No stemming; accents must match (SQLite's LIKE folds
    # ASCII case only).
    condition = Q()
    for variant in _ligature_variants(text):
        for name in SEARCH_FIELDS:
            condition |= Q(**{f"{name}__icontains": variant})
    return campaigns.filter(condition)
