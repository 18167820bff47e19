"""Full-text search over campaigns: title, summary and body, stemmed in French and in
English and accent-blind on PostgreSQL, with a plain fallback on SQLite."""

from typing import cast

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Q, QuerySet
from django.db.models.expressions import CombinedExpression

from campaigns.models import Campaign

# Text search configurations created by migration campaigns/0005 (PostgreSQL only): the
# language's stemmer behind `unaccent`, so "voeux" finds "vœux", "campagne" "campagnes".
SEARCH_CONFIGS = ("french_unaccent", "english_unaccent")
SEARCH_FIELDS = ("title", "summary", "body")


def search_document() -> CombinedExpression:
    """Title, summary and body as one document, stemmed in French and in English.

    Migration 0005 indexes this very expression (GIN), so keep the two in step."""
    french, english = (SearchVector(*SEARCH_FIELDS, config=config) for config in SEARCH_CONFIGS)
    return french + english


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
        searched = campaigns.alias(search=search_document()).filter(search=_search_query(text))
        # alias() adds nothing to the rows, but the plugin types it like annotate().
        return cast("QuerySet[C]", searched)
    # SQLite fallback (development only): substring match on the three fields, with
    # œ/oe spelled either way. No stemming; accents must match (SQLite's LIKE folds
    # ASCII case only).
    condition = Q()
    for variant in _ligature_variants(text):
        for name in SEARCH_FIELDS:
            condition |= Q(**{f"{name}__icontains": variant})
    return campaigns.filter(condition)
