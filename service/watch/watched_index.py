"""The watched marks' own index: which watched marks a filing may look like.

Every row of every watched mark's stored query (service/search/stored_query.py) is one
signal's unit vector (the CNN embedding or the orientation descriptor, each its own
slice of the stored vector). Per signal the rows sit in one FAISS inner-product index,
exact (flat) while small and a graph (HNSW) beyond ``GRAPH_FROM`` rows, so a filing's
few vectors find their nearest watched rows in well under a millisecond whatever the
number of watches, instead of a product with every row.

Completeness: a row can only raise an alert if its cosine reaches the signal's
``floor`` (the cosine whose evidence is the lowest level any watch alerts at, less what
colour can add). A filing vector's ``DEPTH`` nearest rows are taken; when even the last
of them reaches the floor, more rows might, so that vector is compared with every row of
the signal instead (exact). Whether the graph misses rows a brute-force product finds is
measured by ``scripts/bench_watch.py`` (identical alert sets, or it says how many).

Watches added since the last look are appended (no rebuild); removed ones are skipped
and the index is rebuilt when they make up a quarter of its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from models.signals import VectorLayout
from service.search.stored_query import StoredQuery

DEPTH = 64  # nearest rows looked at per filing vector and signal
GRAPH_FROM = 40_000  # rows of one signal from which the index is a graph, not flat
GRAPH_NEIGHBOURS = 32
GRAPH_SEARCH = 128  # HNSW efSearch: candidates kept while walking the graph


@dataclass
class _SignalRows:
    """One signal's rows: the FAISS index, each row's owner, and the rows themselves
    (for the exact fallback)."""

    index: faiss.Index
    owners: list[int]
    rows: list[np.ndarray]
    start: int
    stop: int
    _matrix: np.ndarray | None = None

    def add(self, parts: np.ndarray, owner: int) -> None:
        if len(parts):
            self.index.add(np.ascontiguousarray(parts, np.float32))
            self.owners.extend([owner] * len(parts))
            self.rows.append(parts)
            self._matrix = None

    def matrix(self) -> np.ndarray:
        """Every row in one array (built once after a change: the exact fallback)."""
        if self._matrix is None:
            self._matrix = np.ascontiguousarray(np.concatenate(self.rows), np.float32)
        return self._matrix


def _new_index(dim: int, expected_rows: int) -> faiss.Index:
    if expected_rows >= GRAPH_FROM:
        graph = faiss.IndexHNSWFlat(dim, GRAPH_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efSearch = GRAPH_SEARCH
        return graph
    return faiss.IndexFlatIP(dim)


class WatchedIndex:
    """The watched marks' rows, per signal, and the words they carry."""

    def __init__(self, layout: VectorLayout, expected_rows: int = 0) -> None:
        self.layout = layout
        self.signals = [_SignalRows(_new_index(s.stop - s.start, expected_rows), [], [],
                                    s.start, s.stop) for s in layout.signals]
        self.queries: list[StoredQuery] = []
        self.alive: list[bool] = []

    def __len__(self) -> int:
        return sum(self.alive)

    @property
    def rows(self) -> int:
        return sum(len(s.owners) for s in self.signals)

    def add(self, query: StoredQuery) -> int:
        """Index one watched mark's rows; returns its number."""
        number = len(self.queries)
        self.queries.append(query)
        self.alive.append(True)
        for i, rows in enumerate(self.signals):
            mine = query.rows[query.signals == i, rows.start:rows.stop]
            norms = np.linalg.norm(mine, axis=1, keepdims=True)
            rows.add(mine / np.maximum(norms, 1e-12), number)
        return number

    def drop(self, number: int) -> None:
        self.alive[number] = False

    def dead_share(self) -> float:
        return 0.0 if not self.alive else 1.0 - sum(self.alive) / len(self.alive)

    def candidates(self, vectors: np.ndarray, floors: Sequence[float]) -> list[set[int]]:
        """Per filing vector (stored form, (N, D)), the live watched marks with a row whose
        cosine may reach its signal's floor (``floors[i]`` for signal ``i``)."""
        found: list[set[int]] = [set() for _ in range(len(vectors))]
        for rows, floor in zip(self.signals, floors, strict=True):
            if not rows.owners:
                continue
            part = np.ascontiguousarray(vectors[:, rows.start:rows.stop], np.float32)
            part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
            depth = min(DEPTH, len(rows.owners))
            scores, ids = rows.index.search(part, depth)
            for v in range(len(part)):
                if depth < len(rows.owners) and scores[v, -1] >= floor:
                    # the nearest DEPTH rows all reach the floor: more may, look at all
                    every = rows.matrix() @ part[v]
                    hits = np.flatnonzero(every >= floor)
                else:
                    hits = ids[v][(ids[v] >= 0) & (scores[v] >= floor)]
                found[v].update(rows.owners[int(h)] for h in hits)
        return [{n for n in numbers if self.alive[n]} for numbers in found]
