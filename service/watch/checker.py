"""The watch check: each new filing scored against every watched mark at once.

The watched marks live in their own index (service/watch/watched_index.py: their stored
query rows per signal), so checking a filing costs a few nearest-row look-ups and the
scoring of the watched marks they reach, not a search of the register. A filing's score under a
watched mark is the one a default search with the watched mark's image would give it
(service/search/ranking.py: evidence, margins, crowding, colour, words), and it raises an
alert when it reaches the watch's level and passes the watch's classes and codes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from models.signals import VectorLayout
from service.marks.colour import SearchMode
from service.marks.filters import vienna_matches
from service.marks.words import indexed_words, lookup_terms, normalise_text, trigram_terms
from service.search.ranking import (
    COLOUR_WEIGHT,
    COMPONENT_MARGIN,
    MIN_WORDS_SIMILARITY,
    final_score,
    shape_score,
)
from service.search.risk import RiskLevel, RiskThresholds
from service.search.stored_query import StoredQuery
from service.search.text_match import text_similarity
from service.watch.store import AlertDraft, Watch, WatchedMark, WatchStore
from service.watch.watched_index import WatchedIndex

#: the least score a watch at level "low" alerts on (below it: unrelated marks' matches)
LOW_RISK_FLOOR = 0.5
#: the watch level when none is given
DEFAULT_MIN_RISK = RiskLevel.medium


@dataclass(frozen=True)
class Filing:
    """A mark as the writer has it before its record is written: enough to check it."""

    mark_id: str
    content_hash: str
    vectors: np.ndarray  # (N, D) stored vectors: the whole mark, then its figures
    parts: list[str]  # the kind of each figure (service/marks/components.py)
    colour: np.ndarray | None
    text: str | None
    nice_classes: list[int]
    vienna_codes: list[str]


def watch_threshold(watch: Watch, risk: RiskThresholds) -> float:
    """The least score that raises an alert on ``watch``."""
    if watch.min_score is not None:
        return watch.min_score
    level = RiskLevel(watch.min_risk or DEFAULT_MIN_RISK)
    return {RiskLevel.high: risk.high, RiskLevel.medium: risk.medium,
            RiskLevel.low: LOW_RISK_FLOOR}[level]


def passes_filters(watch: Watch, filing: Filing) -> bool:
    """A watch's classes and codes, when it has them, must meet the filing's."""
    if watch.nice_classes and not set(watch.nice_classes) & set(filing.nice_classes):
        return False
    if watch.vienna_codes and not any(vienna_matches(prefix, code)
                                      for prefix in watch.vienna_codes
                                      for code in filing.vienna_codes):
        return False
    return True


class WatchChecker:
    """Scores filings against the watched marks. The watched marks' index follows the
    watches' table (any process may add or remove a watch): new watched marks are
    appended, removed ones skipped, and the index rebuilt when many are gone."""

    def __init__(self, store: WatchStore, layout: VectorLayout, model_version: str,
                 risk: Callable[[], RiskThresholds]) -> None:
        self.store = store
        self.layout = layout
        self.model_version = model_version
        self.risk = risk
        self._version: str | None = None
        self._index = WatchedIndex(layout)
        self._entries: list[tuple[Watch, WatchedMark]] = []
        self._numbers: dict[int, int] = {}  # watched mark id -> number in the index
        self._words: dict[str, set[int]] = defaultdict(set)  # lookup term -> numbers

    def index(self) -> tuple[list[tuple[Watch, WatchedMark]], WatchedIndex]:
        """The watched marks and their index, brought up to date with the table. Marks
        planned with another model are left out until they are planned again."""
        version = self.store.version()
        if version == self._version:
            return self._entries, self._index
        plans = [(w, m, q) for w, m, q in self.store.plans(self._known_ids())
                 if m.model_version == self.model_version]
        current = self.store.watched_mark_ids()
        gone = [n for mark_id, n in self._numbers.items() if mark_id not in current]
        if gone and (len(gone) + self._index.dead_share() * len(self._entries)
                     > 0.25 * max(1, len(self._entries))):
            self._reset()
            plans = [(w, m, q) for w, m, q in self.store.plans()
                     if m.model_version == self.model_version]
        else:
            for number in gone:
                self._index.drop(number)
                del self._numbers[self._entries[number][1].id]
        if not self._entries and plans:  # a fresh index: size its kind for the rows
            self._index = WatchedIndex(self.layout, sum(len(q.rows) for _, _, q in plans))
        for watch, mark, query in plans:
            number = self._index.add(query)
            self._entries.append((watch, mark))
            self._numbers[mark.id] = number
            for term in trigram_terms(indexed_words(query.text)):
                self._words[term].add(number)
        self._version = version
        return self._entries, self._index

    def _known_ids(self) -> set[int]:
        return set(self._numbers)

    def _reset(self) -> None:
        self._index = WatchedIndex(self.layout)
        self._entries, self._numbers = [], {}
        self._words = defaultdict(set)

    def floors(self, lowest: float) -> list[float]:
        """Per signal, the least cosine whose evidence can reach ``lowest`` less what
        colour may add (service/search/ranking.py: a shape score below the level less
        the colour weight cannot reach it)."""
        need = lowest - COLOUR_WEIGHT[SearchMode.composite]
        return [s.centre + need * (1.0 - s.centre) / s.weight for s in self.layout.signals]

    def check(self, filings: Sequence[Filing]) -> list[AlertDraft]:
        """The alerts ``filings`` raise (a filing is never checked against itself)."""
        entries, index = self.index()
        if not len(index) or not filings:
            return []
        risk = self.risk()
        thresholds = [watch_threshold(w, risk) for w, _ in entries]
        floors = self.floors(min(t for t, (_, m) in zip(thresholds, entries, strict=True)
                                 if m.id in self._numbers))
        vectors = np.concatenate([f.vectors for f in filings]).astype(np.float32)
        near = index.candidates(vectors, floors)
        drafts: list[AlertDraft] = []
        first = 0
        for filing in filings:
            count = len(filing.vectors)
            numbers = set().union(*near[first:first + count])
            first += count
            words = normalise_text(filing.text or "")
            for term in lookup_terms(words) if words else []:
                numbers |= self._words.get(term, set())
            on_component = np.arange(count) > 0
            for number in sorted(numbers):
                watch, mark = entries[number]
                if not index.alive[number] or mark.mark_id == filing.mark_id \
                        or not passes_filters(watch, filing):
                    continue
                draft = self._score(filing, watch, mark, index.queries[number], on_component,
                                    words, risk)
                if draft.score >= thresholds[number]:
                    drafts.append(draft)
        return drafts

    def _score(self, filing: Filing, watch: Watch, mark: WatchedMark, query: StoredQuery,
               on_component: np.ndarray, words: str, risk: RiskThresholds) -> AlertDraft:
        evidence = query.evidence(filing.vectors, on_component, self.layout,
                                  COMPONENT_MARGIN)
        best, view, vector = query.best(evidence)
        shape = shape_score(best)
        colour = None if filing.colour is None else float(filing.colour @ query.colours[view])
        similarity = None
        if words and query.text:
            found = text_similarity(query.text, words)
            similarity = found if found >= MIN_WORDS_SIMILARITY else None
        score = final_score(shape, colour, similarity, SearchMode.composite)
        matched = "whole" if vector == 0 else filing.parts[vector - 1]
        return AlertDraft(watch.id, mark.id, filing.mark_id, filing.content_hash, score,
                          shape, risk.level(score).value, matched)
