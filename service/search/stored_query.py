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

from models.signals import VectorLayout
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

    def evidence(self, vectors: np.ndarray, on_component: np.ndarray, layout: VectorLayout,
                 margin: float) -> np.ndarray:
        """(R, N) evidence of each row on each of a mark's stored vectors (whole first,
        then figures, which ``on_component`` marks and which have ``margin`` less), by the
        ranking's rules (service/search/ranking.py ``row_evidence`` less the crowding
        penalty): what a search with this query gives that mark, row by row."""
        raw = self.rows @ np.asarray(vectors, np.float32).T
        out = np.empty_like(raw)
        for i, signal in enumerate(layout.signals):  # one signal's rows at a time
            mine = self.signals == i
            out[mine] = (signal.evidence(raw[mine]) - self.turn_penalties[mine, None]
                         - self.penalties[mine, None])
        return out - np.where(on_component, margin, 0.0)[None, :]

    def best(self, evidence: np.ndarray) -> tuple[float, int, int]:
        """The best evidence, the view it came from and the mark's vector it found."""
        row, vector = np.unravel_index(int(np.argmax(evidence)), evidence.shape)
        return float(evidence[row, vector]), int(self.views[row]), int(vector)

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
