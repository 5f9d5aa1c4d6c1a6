"""The words of a mark as the register keeps and looks them up: normalised (Unicode NFKC,
case folded, punctuation and spacing dropped, Latin and CJK letters and digits kept) and cut
into trigrams for the records' full-text lookup. How alike two words are is the search's
business (``service.search.text_match``)."""

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
