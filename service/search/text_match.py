"""How alike two verbal elements are, the way an examiner compares the words of marks.

Words are compared after normalisation (Unicode NFKC, case folded, punctuation and
spacing dropped, Latin and CJK letters and digits kept), by the Dice coefficient of their
character bigrams: robust to one changed, added or dropped letter ("ACME" ~ "ACMEE"),
and a shared distinctive word counts even beside other words ("ACME" ~ "ACME CORP").
"""

from __future__ import annotations

MIN_WORD = 2  # shorter tokens (single letters) carry too little to compare alone


def _bigrams(word: str) -> list[str]:
    return [word[i : i + 2] for i in range(len(word) - 1)] if len(word) > 1 else [word]


def dice(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of two strings (multiset overlap)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ga, gb = _bigrams(a), _bigrams(b)
    remaining = list(gb)
    shared = 0
    for gram in ga:
        if gram in remaining:
            remaining.remove(gram)
            shared += 1
    return 2.0 * shared / (len(ga) + len(gb))


def text_similarity(query: str, mark: str) -> float:
    """0..1: the better of the whole strings' similarity and the best pair of words.

    Both arguments are normalised text (``normalise_text``).
    """
    if not query or not mark:
        return 0.0
    whole = dice(query.replace(" ", ""), mark.replace(" ", ""))
    q_words = [w for w in query.split() if len(w) >= MIN_WORD + 1]
    m_words = [w for w in mark.split() if len(w) >= MIN_WORD + 1]
    best_word = max((dice(q, m) for q in q_words for m in m_words), default=0.0)
    return max(whole, best_word)
