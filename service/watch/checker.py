"""The watch check: each new filing scored against every watched mark at once.

The watched marks live in their own index (service/watch/watched_index.py: their stored
query rows per signal), so checking a filing costs a few nearest-row look-ups and the
scoring of the watched marks they reach, not a search of the register. A filing's score under a
watched mark is the one a default search with the watched mark's image would give it
(service/search/ranking.py: evidence, margins, crowding, colour, words), and it raises an
alert when it reaches the watch's level and passes the watch's classes and codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from models.signals import VectorLayout
from service.marks.colour import SearchMode
from service.marks.filters import vienna_matches
from service.marks.words import normalise_text
from service.search.ranking import (
    COLOUR_WEIGHT,
    COMPONENT_MARGIN,
    MIN_WORDS_SIMILARITY,
    final_score,
    shape_score,
    with_colour,
    with_words,
)
from service.search.risk import RiskLevel, RiskThresholds
from service.search.stored_query import StoredQuery
from service.search.text_match import text_similarity
from service.watch.store import AlertDraft, Watch, WatchedMark, WatchStore
from service.watch.watched_index import BestEvidence, WatchedIndex

#: the least score a watch at level "low" alerts on (below it: unrelated marks' matches)
LOW_RISK_FLOOR = 0.5
#: the watch level when none is given
DEFAULT_MIN_RISK = RiskLevel.medium
#: scores this close to a watch's level are computed again the ranking's own way
EXACT_NEAR = 1e-5


@dataclass(frozen=True)
class _Table:
    """Per watched mark (by number): its watch's threshold, its register id (a filing
    is not checked against itself) and whether it is still watched."""

    thresholds: np.ndarray
    mark_ids: np.ndarray
    alive: np.ndarray


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
        self._risk: RiskThresholds | None = None  # the levels the index was built for
        self._index = WatchedIndex(layout)
        self._entries: list[tuple[Watch, WatchedMark]] = []
        self._numbers: dict[int, int] = {}  # watched mark id -> number in the index
        self._cached: tuple[str | None, RiskThresholds, _Table] | None = None
        self._threads: ThreadpoolController | None = None  # keeps the check on one BLAS thread

    def index(self) -> tuple[list[tuple[Watch, WatchedMark]], WatchedIndex]:
        """The watched marks and their index, brought up to date with the table. Marks
        planned with another model are left out until they are planned again."""
        version, risk = self.store.version(), self.risk()
        if version == self._version and risk == self._risk:
            return self._entries, self._index
        current = self.store.watched_mark_ids()
        gone = [n for mark_id, n in self._numbers.items() if mark_id not in current]
        if risk != self._risk or (gone and (
                len(gone) + self._index.dead_share() * len(self._entries)
                > 0.25 * max(1, len(self._entries)))):  # new levels: rows' reach changes
            self._reset()
        else:
            for number in gone:
                self._index.drop(number)
                del self._numbers[self._entries[number][1].id]
        plans = [(w, m, q) for w, m, q in self.store.plans(self._known_ids())
                 if m.model_version == self.model_version]
        for watch, mark, query in plans:
            number = self._index.add(query, self.need(watch_threshold(watch, risk)))
            self._entries.append((watch, mark))
            self._numbers[mark.id] = number
        self._index.fit()
        self._version, self._risk = version, risk
        return self._entries, self._index

    def _known_ids(self) -> set[int]:
        return set(self._numbers)

    def _reset(self) -> None:
        self._index = WatchedIndex(self.layout)
        self._entries, self._numbers = [], {}

    def need(self, lowest: float) -> float:
        """The least shape score that can reach ``lowest`` with the best colour
        (service/search/ranking.py ``with_colour``: (1 - w) x shape + w at most). Words
        are looked up on their own (``WatchedWords``)."""
        weight = COLOUR_WEIGHT[SearchMode.composite]
        return (lowest - weight) / (1.0 - weight)

    def thresholds(self, risk: RiskThresholds) -> np.ndarray:
        """Each watched mark's alert threshold (its watch's)."""
        return self._table(risk).thresholds

    def _table(self, risk: RiskThresholds) -> _Table:
        """What the check needs of each watched mark, kept while neither the watches nor
        the risk levels change."""
        if self._cached is None or self._cached[:2] != (self._version, risk):
            watches = [w for w, _ in self._entries]
            table = _Table(
                np.array([watch_threshold(w, risk) for w in watches], np.float64),
                np.array([m.mark_id for _, m in self._entries], object),
                np.asarray(self._index.alive, bool))
            self._cached = (self._version, risk, table)
        return self._cached[2]

    def check(self, filings: Sequence[Filing]) -> list[AlertDraft]:
        """The alerts ``filings`` raise (a filing is never checked against itself).

        The watched marks with a row whose evidence on a filing reaches the floor of the
        lowest level come with their best evidence (``WatchedIndex.hits``, exact); those
        alike in words get theirs in one product (``WatchedIndex.best_evidence``).
        All are scored at once, and scored again the ranking's own way
        (``StoredQuery.evidence``) when the score lies within ``EXACT_NEAR`` of the level,
        so that rounding never decides an alert. Its matrix products run on one thread:
        during an ingest the decode workers already take every core, and a second BLAS
        thread there costs more CPU than it saves time."""
        _, index = self.index()
        if not len(index) or not filings:
            return []
        if self._threads is None:  # made at the first check: most registers watch nothing
            self._threads = ThreadpoolController()
        with self._threads.limit(limits=1, user_api="blas"):
            return self._check(filings, index)

    def _check(self, filings: Sequence[Filing], index: WatchedIndex) -> list[AlertDraft]:
        risk = self.risk()
        table = self._table(risk)
        need = self.need(float(table.thresholds[table.alive].min()))
        vectors = np.concatenate([f.vectors for f in filings]).astype(np.float32)
        counts = np.array([len(f.vectors) for f in filings])
        firsts = np.cumsum(counts) - counts
        on_components = [np.arange(count) > 0 for count in counts]  # whole first
        margins = np.where(np.concatenate(on_components), COMPONENT_MARGIN, 0.0)
        filing_of, hits = index.hits(vectors, need, margins,
                                     np.repeat(np.arange(len(filings)), counts))
        hits = hits.take(slice(None), firsts[filing_of])  # vectors counted from the whole
        words = [normalise_text(f.text or "") for f in filings]
        filing_of, found, by_words = self._with_words(filings, on_components, words,
                                                      filing_of, hits)
        return self._alerts(filings, on_components, words, filing_of, found, by_words,
                            table, risk)

    def _with_words(self, filings: Sequence[Filing], on_components: list[np.ndarray],
                    words: list[str], filing_of: np.ndarray, hits: BestEvidence
                    ) -> tuple[np.ndarray, BestEvidence, np.ndarray]:
        """The hits, where the watched marks alike in a filing's words take their best
        evidence in full instead (words may raise a score from below the need), and
        which of them those are."""
        index = self._index
        alike = [(n, index.words.candidates(w)) for n, w in enumerate(words) if w]
        alike = [(n, numbers) for n, numbers in alike if numbers]
        if not alike:
            return filing_of, hits, np.zeros(len(filing_of), bool)
        bounds = np.searchsorted(filing_of, np.arange(len(filings) + 1))
        keep = np.ones(len(filing_of), bool)
        found, owners = [], []
        for n, numbers in alike:
            numbers = np.array(sorted(numbers), np.int64)
            lo, hi = bounds[n], bounds[n + 1]
            keep[lo:hi] = ~np.isin(hits.numbers[lo:hi], numbers)
            found.append(index.best_evidence(numbers, filings[n].vectors, on_components[n],
                                             COMPONENT_MARGIN))
            owners.append(np.full(len(numbers), n))
        joined = hits.take(keep)
        for best in found:
            joined = joined.joined(best)
        extra = sum(len(o) for o in owners)
        return (np.concatenate([filing_of[keep], *owners]), joined,
                np.r_[np.zeros(int(keep.sum()), bool), np.ones(extra, bool)])

    def _alerts(self, filings: Sequence[Filing], on_components: list[np.ndarray],
                words: list[str], filing_of: np.ndarray, found: BestEvidence,
                by_words: np.ndarray, table: _Table, risk: RiskThresholds
                ) -> list[AlertDraft]:
        """The alerts among the watched marks ``found`` (per filing, ``filing_of``: near
        it or alike in its words, ``by_words``, with their best evidence), scored all at
        once: shape, colour of the view that gave it, words."""
        index, numbers = self._index, found.numbers
        shape = np.clip(found.values, 0.0, 1.0)
        score = shape.astype(np.float64)
        coloured = np.array([f.colour is not None for f in filings])[filing_of]
        if coloured.any():
            blank = np.zeros_like(next(f.colour for f in filings if f.colour is not None))
            palette = np.stack([blank if f.colour is None else f.colour for f in filings])
            score[coloured] = with_colour(shape[coloured], index.colour_agreement(
                numbers[coloured], found.views[coloured], palette[filing_of[coloured]]),
                SearchMode.composite)
        for i in np.flatnonzero(by_words).tolist():
            text = index.queries[numbers[i]].text
            if text:  # below MIN_WORDS_SIMILARITY words add nothing (with_words)
                score[i] = with_words(float(score[i]),
                                      text_similarity(text, words[filing_of[i]]))
        thresholds = table.thresholds[numbers]
        own = np.array([f.mark_id for f in filings], object)[filing_of]
        maybe = np.flatnonzero((score >= thresholds - EXACT_NEAR) & table.alive[numbers]
                               & (table.mark_ids[numbers] != own))
        maybe = maybe[np.argsort(filing_of[maybe], kind="stable")]
        # below the level less EXACT_NEAR: no alert; above it plus EXACT_NEAR: an alert
        close = np.abs(score - thresholds) < EXACT_NEAR
        drafts = []
        for n, number, value, shape_value, level, vector, near_level in zip(
                filing_of[maybe].tolist(), numbers[maybe].tolist(), score[maybe].tolist(),
                shape[maybe].tolist(), risk.levels(score[maybe]),
                found.vectors[maybe].tolist(), close[maybe].tolist(), strict=True):
            filing, (watch, mark) = filings[n], self._entries[number]
            if not passes_filters(watch, filing):
                continue
            if near_level:  # rounding must not decide it: scored again the ranking's way
                query = index.queries[number]
                evidence = query.evidence(filing.vectors, on_components[n], self.layout,
                                          COMPONENT_MARGIN)
                draft = self._draft(filing, watch, mark, query, query.best(evidence),
                                    words[n], risk)
                if draft.score >= table.thresholds[number]:
                    drafts.append(draft)
            else:
                drafts.append(_alert(filing, watch, mark, value, shape_value, level, vector))
        return drafts

    def _draft(self, filing: Filing, watch: Watch, mark: WatchedMark, query: StoredQuery,
               best: tuple[float, int, int], words: str, risk: RiskThresholds) -> AlertDraft:
        """The alert the filing would raise, from its best evidence under the watched
        mark (value, the query view and the filing's vector it came from)."""
        evidence, view, vector = best
        shape = shape_score(evidence)
        colour = None if filing.colour is None else float(filing.colour @ query.colours[view])
        similarity = None
        if words and query.text:
            found = text_similarity(query.text, words)
            similarity = found if found >= MIN_WORDS_SIMILARITY else None
        score = final_score(shape, colour, similarity, SearchMode.composite)
        return _alert(filing, watch, mark, score, shape, risk.level(score).value, vector)


def _alert(filing: Filing, watch: Watch, mark: WatchedMark, score: float, shape: float,
           level: str, vector: int) -> AlertDraft:
    """The alert ``filing`` raises on ``mark`` of ``watch``; ``vector`` is the filing's
    vector that matched (0: the whole, else a figure)."""
    return AlertDraft(watch.id, mark.id, filing.mark_id, filing.content_hash, score, shape,
                      level, "whole" if vector == 0 else filing.parts[vector - 1])
