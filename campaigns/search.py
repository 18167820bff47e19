"""Full-text search over campaigns: title, summary, audience, body and the owner's name.

On PostgreSQL it reads the stored, weighted `search_vector` (kept by a trigger: migrations
0009 and 0013), stemmed in French and in English and accent-blind, from its GIN index, and
ranks with `ts_rank`. On SQLite (the embedded default) it falls back to substrings of
`search_text`, a casefolded copy of the same fields without accents or ligatures that the
editing services keep (`search_text_of`), so "voeux" still finds "Carte de vœux" there,
without stemming.

`campaign_search` is the one search across every campaign a person may see (the rule
book's `visible_q`: drafts never reach advisors), best match first, in keyset pages.
"""

import unicodedata
from dataclasses import dataclass
from datetime import tzinfo
from typing import TypedDict, cast

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import BigIntegerField, Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from campaigns import rules
from campaigns.models import Campaign
from core.cursors import Slot, cursor_read, cursor_write
from teams.roles import Actor

# Text search configurations created by migration campaigns/0005 (PostgreSQL only): the
# language's stemmer behind `unaccent`, so "voeux" finds "vœux", "campagne" "campagnes".
SEARCH_CONFIGS = ("french_unaccent", "english_unaccent")
CURSOR_SALT = "campaigns.search.cursor"
_CURSOR_SHAPE = (Slot.TEXT, Slot.ID, Slot.ID)
# ts_rank is a float4; scaled to an integer so a keyset cursor compares it exactly.
_RANK_SCALE = 1_000_000
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ĳ": "ij"})


def fold(text: str) -> str:
    """Casefolded, without accents or ligatures: "Carte de VŒUX, été" → "carte de voeux,
    ete". What SQLite's fallback stores and compares."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text_of(*, title: str, summary: str, audience: str, body: str, owner_name: str) -> str:
    """The `search_text` column for a campaign's content and its owner's name."""
    return fold("\n".join((title, summary, audience, body, owner_name)))


def _search_query(text: str) -> SearchQuery:
    french, english = (
        SearchQuery(text, config=config, search_type="websearch") for config in SEARCH_CONFIGS
    )
    return french | english


def _words(text: str) -> list[str]:
    """The query's words for SQLite, folded; websearch's quotes and "-" dropped."""
    return [w for w in (word.strip('"-') for word in fold(text).split()) if w]


def campaigns_searched[C: Campaign](campaigns: QuerySet[C], text: str) -> QuerySet[C]:
    """`campaigns` narrowed to those matching `text` (every campaign for a blank text)."""
    text = text.strip()
    if not text:
        return campaigns
    if settings.DATABASE_IS_POSTGRES:
        # The stored document, read from its GIN index or, when the planner starts from
        # another index, compared row by row without stemming again.
        return campaigns.filter(search_vector=_search_query(text))
    # SQLite fallback: every word somewhere in the folded text. No stemming.
    words = _words(text)
    if not words:  # only punctuation: nothing to look for (as PostgreSQL answers)
        return campaigns.none()
    condition = Q()
    for word in words:
        condition &= Q(search_text__contains=word)
    return campaigns.filter(condition)


class _Score(TypedDict):
    score: int


type ScoredCampaign = WithAnnotations[Campaign, _Score]


def _scored(campaigns: QuerySet[Campaign], text: str) -> QuerySet[ScoredCampaign]:
    """Annotates `score`, an integer, higher for a better match."""
    if settings.DATABASE_IS_POSTGRES:
        rank = SearchRank(F("search_vector"), _search_query(text))
        return campaigns.annotate(score=Cast(rank * Value(_RANK_SCALE), BigIntegerField()))
    # SQLite: the title first, then the rest (its text is not split by field).
    return campaigns.annotate(
        score=Case(
            When(title__icontains=text, then=Value(2)),
            default=Value(1),
            output_field=BigIntegerField(),
        )
    )


@dataclass(frozen=True)
class SearchHit:
    campaign: Campaign  # with `owner` loaded
    week: str  # the ISO week of the launch in the reader's time zone ("2026-W48"), or ""
    week_number: int | None
    week_year: int | None


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None


def _hit(campaign: Campaign, tz: tzinfo) -> SearchHit:
    if campaign.launch_at is None:
        return SearchHit(campaign=campaign, week="", week_number=None, week_year=None)
    year, number, _day = timezone.localtime(campaign.launch_at, tz).date().isocalendar()
    return SearchHit(
        campaign=campaign, week=f"{year}-W{number:02d}", week_number=number, week_year=year
    )


def campaign_search(
    *, viewer: Actor, text: str, tz: tzinfo, cursor: str = "", page_size: int = 20
) -> SearchPage:
    """One page of the campaigns `viewer` may see that match `text`, best match first
    (then the newest), across every week and status. One query, whatever the page.

    Keyset pagination on (score, id): the cursor carries the query it was made for, so a
    cursor from another search starts at the first page."""
    text = text.strip()
    if not text:
        return SearchPage(hits=[], next_cursor=None)
    campaigns = _scored(
        campaigns_searched(Campaign.objects.filter(rules.visible_q(viewer)), text), text
    ).select_related("owner")
    position = cursor_read(cursor, salt=CURSOR_SALT, shape=_CURSOR_SHAPE)
    if position is not None and position[0] == text:
        # Stored one up: a cursor's ids are positive and a score may be 0.
        score, pk = cast(int, position[1]) - 1, cast(int, position[2])
        campaigns = campaigns.filter(Q(score__lt=score) | Q(score=score, id__lt=pk))
    rows: list[ScoredCampaign] = list(
        campaigns.order_by(F("score").desc(), F("id").desc())[: page_size + 1]
    )
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = cursor_write(
            salt=CURSOR_SALT,
            values=[text, last.score + 1, last.pk],
        )
    return SearchPage(hits=[_hit(c, tz) for c in rows], next_cursor=next_cursor)
