"""Audience descriptions reduced to sets of meaningful words, to spot two campaigns that
reach the same people ("contact pressure").

Audiences are free text ("Clients actifs Île-de-France", "Active customers, Paris"), so
the comparison is deliberately rough: it only feeds a warning, never a refusal.
"""

import re
import unicodedata

MIN_WORD_LENGTH = 4

# Written without accents: they are compared after accents are stripped. Words shorter
# than MIN_WORD_LENGTH are dropped anyway, so "les", "des", "and", "the" are not listed.
STOP_WORDS = frozenset(
    {
        # French
        "alors", "aussi", "autre", "autres", "avant", "avec", "avoir", "ceci", "cela",
        "celle", "celles", "celui", "cette", "ceux", "chaque", "chez", "comme", "dans",
        "depuis", "donc", "elle", "elles", "entre", "etre", "leur", "leurs", "mais",
        "meme", "moins", "notre", "nous", "pour", "plus", "quand", "quel", "quelle",
        "quelles", "quels", "sans", "selon", "sont", "sous", "tous", "tout", "toute",
        "toutes", "tres", "vers", "votre", "vous",
        # English
        "about", "after", "also", "been", "before", "between", "both", "each", "from",
        "have", "into", "more", "most", "only", "other", "over", "some", "such", "than",
        "that", "their", "them", "then", "there", "these", "they", "this", "those",
        "under", "very", "were", "what", "when", "which", "while", "will", "with",
        "within", "without", "your",
    }
)  # fmt: skip

# Ligatures have no Unicode decomposition: "vœux" must still meet "voeux".
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


def audience_words(audience: str) -> frozenset[str]:
    """Lowercase, accent-free words of at least four letters, stop words removed."""
    text = unicodedata.normalize("NFKD", audience.casefold().translate(_LIGATURES))
    text = "".join(char for char in text if not unicodedata.combining(char))
    return frozenset(
        word
        for word in _LETTER_RUNS.findall(text)
        if len(word) >= MIN_WORD_LENGTH and word not in STOP_WORDS
    )


def audiences_overlap(first: frozenset[str], second: frozenset[str]) -> bool:
    """True when the two word sets share at least half of the smaller one's words.

    That includes one set containing the other (it then shares all of them). An empty
    set ("All", or nothing written) overlaps nothing: it says nothing about who is reached.
    """
    if not first or not second:
        return False
    return 2 * len(first & second) >= min(len(first), len(second))
