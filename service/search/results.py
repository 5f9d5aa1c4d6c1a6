"""What a search returns: one result per earlier mark, with what matched and its risk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.marks.components import Component
from service.search.risk import RiskLevel
from service.storage.mark_record import ComponentRecord, MarkRecord


@dataclass(frozen=True)
class WordsMatch:
    """The query's words, the mark's verbal element and how alike they are (0..1)."""

    query: str
    mark: str
    similarity: float


@dataclass
class SearchResult:
    """One earlier mark found by a search, and what matched: which of its components
    (None: the whole mark) and which part of the query (None: the whole query)."""

    record: MarkRecord
    score: float
    component: ComponentRecord | None = None
    query_part: Component | None = None
    shape_score: float | None = None  # the shape similarity alone, before colour and words
    risk: RiskLevel = RiskLevel.low  # from the score (service/search/risk.py)
    words: WordsMatch | None = None  # the query's words against the mark's, when both have

    def match(self) -> dict[str, Any]:
        """Which component of the result matched which part of the query, and the words
        (JSON-ready)."""
        c, q, w = self.component, self.query_part, self.words
        return {"component": c.kind if c else "whole", "box": list(c.box) if c else None,
                "query_part": q.kind if q else "whole", "query_box": list(q.box) if q else None,
                "words": None if w is None else {"query": w.query, "mark": w.mark,
                                                 "similarity": round(w.similarity, 4)}}


class Results(list[SearchResult]):
    """One query's results, best first, and the query's words as searched with."""

    query_text: str = ""
