"""The watch check: each new filing scored against every watched mark at once.

The watched marks live in their own small index (``StoredQueries``: every watched mark's
stored query rows in one matrix), so checking a filing costs one product of its few
vectors with those rows, whatever the size of the register. A filing's score under a
watched mark is the one a default search with the watched mark's image would give it
(service/search/ranking.py: evidence, margins, crowding, colour, words), and it raises an
alert when it reaches the watch's level and passes the watch's classes and codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from models.signals import VectorLayout
from service.marks.colour import SearchMode
from service.marks.filters import vienna_matches
from service.marks.words import normalise_text
from service.search.ranking import COMPONENT_MARGIN, MIN_WORDS_SIMILARITY, final_score, shape_score
from service.search.risk import RiskLevel, RiskThresholds
from service.search.stored_query import StoredQueries
from service.search.text_match import text_similarity
from service.watch.store import AlertDraft, Watch, WatchedMark, WatchStore

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
    """Scores filings against the watched marks; the index follows the watches' table."""

    def __init__(self, store: WatchStore, layout: VectorLayout, model_version: str,
                 risk: Callable[[], RiskThresholds]) -> None:
        self.store = store
        self.layout = layout
        self.model_version = model_version
        self.risk = risk
        self._version: str | None = None
        self._entries: list[tuple[Watch, WatchedMark]] = []
        self._queries = StoredQueries.of([], layout)

    def index(self) -> tuple[list[tuple[Watch, WatchedMark]], StoredQueries]:
        """The watched marks and their rows, reloaded when a watch was made or removed
        (by any process). Marks planned with another model are skipped until re-planned."""
        version = self.store.version()
        if version != self._version:
            plans = [(w, m, q) for w, m, q in self.store.plans()
                     if m.model_version == self.model_version]
            self._entries = [(w, m) for w, m, _ in plans]
            self._queries = StoredQueries.of([q for _, _, q in plans], self.layout)
            self._version = version
        return self._entries, self._queries

    def check(self, filings: Sequence[Filing]) -> list[AlertDraft]:
        """The alerts ``filings`` raise (a filing is never checked against itself)."""
        entries, queries = self.index()
        if not entries or not filings:
            return []
        risk = self.risk()
        thresholds = np.array([watch_threshold(w, risk) for w, _ in entries], np.float32)
        drafts: list[AlertDraft] = []
        for filing in filings:
            on_component = np.arange(len(filing.vectors)) > 0
            evidence = queries.evidence(filing.vectors.astype(np.float32), on_component,
                                        COMPONENT_MARGIN)
            shapes = np.clip(queries.best(evidence), 0.0, 1.0)
            words = normalise_text(filing.text or "")
            # colour and words move a score by at most this much (ranking.py): only marks
            # within reach of their threshold are scored in full
            reach = shapes >= thresholds - 0.15 if not words else np.ones(len(shapes), bool)
            for q in np.flatnonzero(reach):
                watch, mark = entries[q]
                if mark.mark_id == filing.mark_id or not passes_filters(watch, filing):
                    continue
                draft = self._score(filing, watch, mark, q, queries, evidence, words,
                                    float(shapes[q]), risk)
                if draft.score >= thresholds[q]:
                    drafts.append(draft)
        return drafts

    def _score(self, filing: Filing, watch: Watch, mark: WatchedMark, q: int,
               queries: StoredQueries, evidence: np.ndarray, words: str, shape: float,
               risk: RiskThresholds) -> AlertDraft:
        query = queries.queries[q]
        view, vector = queries.best_of(q, evidence)
        colour = (None if filing.colour is None
                  else float(filing.colour @ query.colours[view]))
        similarity = None
        if words and query.text:
            found = text_similarity(query.text, words)
            similarity = found if found >= MIN_WORDS_SIMILARITY else None
        score = final_score(shape_score(shape), colour, similarity, SearchMode.composite)
        matched = "whole" if vector == 0 else filing.parts[vector - 1]
        return AlertDraft(watch.id, mark.id, filing.mark_id, filing.content_hash, score,
                          shape_score(shape), risk.level(score).value, matched)
