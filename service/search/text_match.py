"""How alike two verbal elements are, the way an examiner compares the words of marks.

Words are compared after normalisation (Unicode NFKC, case folded, punctuation and
spacing dropped, Latin and CJK letters and digits kept), by the Dice coefficient of their
character bigrams: robust to one changed, added or dropped letter ("ACME" ~ "ACMEE"),
and a shared distinctive word counts even beside other words ("ACME" ~ "ACME CORP").
Marks spoken alike are alike too (``service.marks.phonetic``): the same toneless pinyin
(乐百氏 / 乐佰氏) or the same Metaphone key of a word (KWIK / QUICK) scores
``PHONETIC_WEIGHT``, close to identical spelling and never above it; Chinese words that
share part of their syllables score that share of it.
"""

from __future__ import annotations

from rapidfuzz.distance import Indel

from service.marks.phonetic import Sound, sound_of

MIN_WORD = 2  # shorter tokens (single letters) carry too little to compare alone
PHONETIC_WEIGHT = 0.9  # spoken alike, written apart


def bigrams(word: str) -> list[str]:
    """A word's character bigrams, in order (a one-letter word is its own)."""
    return [word[i : i + 2] for i in range(len(word) - 1)] if len(word) > 1 else [word]


def dice(a: str, b: str) -> float:
    """Dice coefficient of the character bigrams of two strings (multiset overlap)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ga, gb = bigrams(a), bigrams(b)
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
    spoken = PHONETIC_WEIGHT * sound_similarity(sound_of(query), sound_of(mark))
    return max(spelling_similarity(query, mark), spoken)


def spelling_similarity(query: str, mark: str) -> float:
    """0..1: how alike the letters are (the whole strings', or the best pair of words')."""
    if not query or not mark:
        return 0.0
    q_whole, q_words = spelling_units(query)
    m_whole, m_words = spelling_units(mark)
    whole = dice(q_whole, m_whole)
    return max(whole, max((dice(q, m) for q in q_words for m in m_words), default=0.0))


def spelling_units(text: str) -> tuple[str, list[str]]:
    """What spelling compares: the whole text without spaces, and its words long enough
    to count alone."""
    return text.replace(" ", ""), [w for w in text.split() if len(w) >= MIN_WORD + 1]


def sound_similarity(a: Sound, b: Sound) -> float:
    """0..1: the share of Chinese syllables in common (in order), or 1 when the Latin
    words sound alike as a whole or share a sounding word."""
    best = 0.0
    if a.syllables and b.syllables:
        best = Indel.normalized_similarity(a.syllables, b.syllables)
    if a.keys and b.keys and ("".join(a.keys) == "".join(b.keys) or set(a.keys) & set(b.keys)):
        best = 1.0
    return best
