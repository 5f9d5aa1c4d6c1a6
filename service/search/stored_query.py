"""A stored query: what a search with an image sends, kept to score marks later.

A watch (service/watch/) protects a mark by searching with it every new filing, one at a
time, as if the owner had run ``tmsearch search`` with the mark's image against a
register holding just that filing. So a watched mark keeps what such a search needs
from the query side (``Searcher.stored_query``): its
index rows (service/search/ranking.py ``query_rows``: each view's signal rows and the
whole's turned descriptor rows), which view and signal each row is, each row's crowding
penalty (measured against the register when the watch is made), the views' colours and
the words read in it. Scoring a filing then costs a few inner products, not a search.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from models.signals import Signal, VectorLayout
from service.search.ranking import QueryRow


@dataclass(frozen=True)
class StoredQuery:
    """The index rows of one query image and what each is."""

    rows: np.ndarray  # (R, D) float32 query rows
    views: np.ndarray  # (R,) int: the query view each row belongs to
    signals: np.ndarray  # (R,) int: index of the row's signal in the layout
    turn_penalties: np.ndarray  # (R,) float
    penalties: np.ndarray  # (R,) float: crowding penalties (service/search/ranking.py)
    whole_views: np.ndarray  # (V,) bool: view shows the whole mark
    colours: np.ndarray  # (V, C) float32: each view's colour signature (the whole's first)
    text: str = ""

    @classmethod
    def of(cls, rows: np.ndarray, meta: list[QueryRow], penalties: list[float],
           whole_views: list[bool], colours: list[np.ndarray], layout: VectorLayout,
           text: str = "") -> StoredQuery:
        names = [s.name for s in layout.signals]
        return cls(
            rows=np.ascontiguousarray(rows, np.float32),
            views=np.array([m.view for m in meta], np.int32),
            signals=np.array([names.index(m.signal.name) for m in meta], np.int32),
            turn_penalties=np.array([m.turn_penalty for m in meta], np.float32),
            penalties=np.array(penalties, np.float32),
            whole_views=np.array(whole_views, bool),
            colours=np.stack(colours).astype(np.float32),
            text=text,
        )

    def row_signals(self, layout: VectorLayout) -> list[Signal]:
        return [layout.signals[int(i)] for i in self.signals]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, rows=self.rows, views=self.views, signals=self.signals,
                            turn_penalties=self.turn_penalties, penalties=self.penalties,
                            whole_views=self.whole_views, colours=self.colours,
                            text=np.array(self.text))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredQuery:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["rows"], z["views"], z["signals"], z["turn_penalties"],
                       z["penalties"], z["whole_views"], z["colours"], str(z["text"]))


@dataclass(frozen=True)
class StoredQueries:
    """Many stored queries in one matrix, to score a new mark against all of them at once
    by the ranking's rules (service/search/ranking.py): per row the signal's evidence,
    less the turn penalty, the component margin and the crowding penalty; per query the
    best over its rows and the mark's vectors, clipped to [0, 1]; then colour and words."""

    queries: list[StoredQuery]
    rows: np.ndarray  # (R, D) every query's rows, query after query
    starts: np.ndarray  # (Q,) first row of each query
    scale: np.ndarray  # (R,) per row: weight / (sqrt(share) * (1 - centre))
    offset: np.ndarray  # (R,) per row: weight * centre / (1 - centre) + penalties
    row_view: np.ndarray  # (R,) the row's view within its query
    colours: np.ndarray  # (R, C) the colour signature of each row's view

    @classmethod
    def of(cls, queries: list[StoredQuery], layout: VectorLayout) -> StoredQueries:
        dim = layout.dim
        if not queries:
            empty = np.zeros(0, np.float32)
            return cls([], np.zeros((0, dim), np.float32), np.zeros(0, np.int64), empty, empty,
                       np.zeros(0, np.int32), np.zeros((0, 0), np.float32))
        scale, offset = [], []
        for query in queries:
            for signal, turn, penalty in zip(query.row_signals(layout), query.turn_penalties,
                                             query.penalties, strict=True):
                span = max(1.0 - signal.centre, 1e-3)
                scale.append(signal.weight / (np.sqrt(signal.share) * span))
                offset.append(signal.weight * signal.centre / span + turn + penalty)
        counts = [len(q.rows) for q in queries]
        return cls(
            queries=queries,
            rows=np.concatenate([q.rows for q in queries]).astype(np.float32),
            starts=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
            scale=np.array(scale, np.float32),
            offset=np.array(offset, np.float32),
            row_view=np.concatenate([q.views for q in queries]),
            colours=np.concatenate([q.colours[q.views] for q in queries]).astype(np.float32),
        )

    def __len__(self) -> int:
        return len(self.queries)

    def evidence(self, vectors: np.ndarray, on_component: np.ndarray, margin: float
                 ) -> np.ndarray:
        """(R, N) evidence of every row on each of a mark's stored vectors (whole first,
        then figures; ``on_component`` says which are figures: they have ``margin`` less)."""
        evidence = (self.rows @ vectors.T) * self.scale[:, None] - self.offset[:, None]
        return evidence - np.where(on_component, margin, 0.0)[None, :].astype(np.float32)

    def best(self, evidence: np.ndarray) -> np.ndarray:
        """(Q,) each query's best evidence over its rows and the mark's vectors."""
        return np.maximum.reduceat(evidence.max(axis=1), self.starts)

    def best_of(self, query: int, evidence: np.ndarray) -> tuple[int, int]:
        """The view of ``query`` and the mark's vector that gave its best evidence."""
        stop = self.starts[query + 1] if query + 1 < len(self.starts) else len(evidence)
        block = evidence[self.starts[query]:stop]
        row, vector = np.unravel_index(int(np.argmax(block)), block.shape)
        return int(self.row_view[self.starts[query] + row]), int(vector)
