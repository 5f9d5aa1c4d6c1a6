"""The words of a mark as the register keeps and looks them up: normalised (Unicode NFKC,
case folded, punctuation and spacing dropped, Latin and CJK letters and digits kept) and cut
into trigrams for the records' full-text lookup, with how they sound beside them
(``service.marks.phonetic``) so that a homophone is found too. How alike two words are
is the search's business (``service.search.text_match``)."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise_text(text: str | None) -> str:
    """Lower-case words separated by single spaces; '' for no words."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    return " ".join(w for w in _NOT_WORD.split(folded) if w)


def trigram_terms(text: str, limit: int = 24) -> list[str]:
    """Distinct character trigrams of normalised text, for a trigram full-text lookup."""
    terms: list[str] = []
    for word in text.split():
        grams = [word] if len(word) <= 3 else [word[i : i + 3] for i in range(len(word) - 2)]
        for gram in grams:
            if gram not in terms:
                terms.append(gram)
    return terms[:limit]


SOUND_SEPARATOR = " | "  # between a mark's words and their sound in the words index


def indexed_words(text: str | None) -> str:
    """What the records' words index holds for a mark: its normalised words, then the
    tagged sound terms (``py<pinyin>``, ``mp<key>``); '' for no words."""
    from service.marks.phonetic import sound_of

    words = normalise_text(text)
    if not words:
        return ""
    sound = sound_of(words).index_terms()
    return f"{words}{SOUND_SEPARATOR}{sound}" if sound else words


def words_of_index(stored: str) -> str:
    """The normalised words of an index entry (its sound terms left out)."""
    return stored.split(SOUND_SEPARATOR, 1)[0]


def lookup_terms(words: str, limit: int = 32) -> list[str]:
    """The trigram terms that look ``words`` (normalised) up in the words index: of the
    spelling first, then of the sound."""
    from service.marks.phonetic import sound_of

    terms = trigram_terms(words)
    for term in trigram_terms(sound_of(words).index_terms()):
        if term not in terms:
            terms.append(term)
    return terms[:limit]
