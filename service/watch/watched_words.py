"""The watched marks' words: every watched mark whose words a filing's words may match.

The ranking adds words to a score when their similarity reaches ``MIN_WORDS_SIMILARITY``
(service/search/text_match.py). Search finds such marks on the register by a trigram
lookup, which misses words that share a bigram but no trigram ("rou" / "dou" have Dice
0.5), and a watch promises every alert a search would give. Watched texts are few, so
they are compared exactly instead:

- spelling: the Dice coefficient of two strings is twice the count of their shared
  character bigrams (as a multiset) over their bigram counts. Each watched unit (the
  whole text without spaces, and each long enough word, ``spelling_units``) is posted
  under its (bigram, occurrence) pairs, so one pass over a filing's bigrams counts the
  shared bigrams of every watched unit at once, and gives each one's Dice exactly;
- sound: every watched mark sharing a Chinese syllable or a Metaphone key with the
  filing (or the same joined keys) is proposed; a sound similarity without one is 0.

So ``candidates`` holds every watched mark whose text similarity reaches the floor, and
some that do not (sound proposals); the checker scores them exactly.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from service.marks.phonetic import sound_of
from service.search.ranking import MIN_WORDS_SIMILARITY
from service.search.text_match import bigrams, spelling_units

_ROUNDING = 1e-9  # Dice computed here in numpy, in the ranking in Python: same formula


def _features(unit: str) -> list[tuple[str, int]]:
    """(bigram, occurrence) pairs: shared pairs of two units = their shared bigrams."""
    return [(gram, k) for gram, count in Counter(bigrams(unit)).items() for k in range(count)]


class _BigramPostings:
    """Units of text posted under their bigram features, each with its owner."""

    def __init__(self) -> None:
        self._postings: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._arrays: dict[tuple[str, int], np.ndarray] = {}
        self._owners: list[int] = []
        self._sizes: list[int] = []

    def add(self, unit: str, owner: int) -> None:
        number = len(self._owners)
        self._owners.append(owner)
        self._sizes.append(len(bigrams(unit)))
        for feature in _features(unit):
            self._postings[feature].append(number)
            self._arrays.pop(feature, None)

    def reaching(self, unit: str, floor: float) -> set[int]:
        """Owners of the units whose Dice with ``unit`` reaches ``floor``."""
        if not self._owners:
            return set()
        shared = np.zeros(len(self._owners), np.int32)
        for feature in _features(unit):
            if feature in self._postings:
                shared[self._posting(feature)] += 1
        hit = np.flatnonzero(shared)
        if not len(hit):
            return set()
        sizes = np.asarray(self._sizes, np.float64)[hit]
        alike = 2.0 * shared[hit] / (len(bigrams(unit)) + sizes) >= floor - _ROUNDING
        owners = np.asarray(self._owners)
        return set(owners[hit[alike]].tolist())

    def _posting(self, feature: tuple[str, int]) -> np.ndarray:
        array = self._arrays.get(feature)
        if array is None:
            array = self._arrays[feature] = np.asarray(self._postings[feature], np.int64)
        return array


class WatchedWords:
    """The words of the watched marks, by number (service/watch/watched_index.py)."""

    def __init__(self) -> None:
        self._wholes = _BigramPostings()
        self._words = _BigramPostings()
        self._sounds: dict[str, set[int]] = defaultdict(set)

    def add(self, number: int, text: str) -> None:
        """Post a watched mark's words (normalised text; '' for none)."""
        if not text:
            return
        whole, words = spelling_units(text)
        self._wholes.add(whole, number)
        for word in set(words):
            self._words.add(word, number)
        for term in sound_terms(text):
            self._sounds[term].add(number)

    def candidates(self, words: str, floor: float = MIN_WORDS_SIMILARITY) -> set[int]:
        """Numbers of the watched marks whose words may be alike to ``words`` (normalised)
        at ``floor`` or more: all that are, and a few more to score."""
        if not words:
            return set()
        whole, own = spelling_units(words)
        found = self._wholes.reaching(whole, floor)
        for word in set(own):
            found |= self._words.reaching(word, floor)
        for term in sound_terms(words):
            found |= self._sounds.get(term, set())
        return found


def sound_terms(text: str) -> list[str]:
    """The units of a text's sound (syllables, Metaphone keys, the joined keys): two
    texts that share none have sound similarity 0."""
    sound = sound_of(text)
    terms = [f"py:{s}" for s in sound.syllables] + [f"mp:{k}" for k in sound.keys]
    return terms + ([f"mpj:{''.join(sound.keys)}"] if sound.keys else [])
