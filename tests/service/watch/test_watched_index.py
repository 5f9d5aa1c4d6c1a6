"""The watched marks' index: the watched marks it names for a filing vector are those a
product with every row names (flat and graph), including when more rows than it looks
at reach the floor; removed marks are skipped."""

from __future__ import annotations

import numpy as np
import pytest

from models.network import ModelConfig
from models.signals import VectorLayout
from service.search.stored_query import StoredQuery
from service.watch import watched_index
from service.watch.watched_index import WatchedIndex

LAYOUT = VectorLayout.of(ModelConfig(hog_cells=6, hog_share=0.5, input_mode="ink+grey",
                                     embed_centre=0.8, embed_weight=0.7, hog_centre=0.6))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _query(rng: np.random.Generator, turned: int = 4) -> StoredQuery:
    """A stored query of one view: an embedding row, a descriptor row and turned rows."""
    dim = LAYOUT.dim
    rows, signals = [], []
    for i, signal in enumerate(LAYOUT.signals):
        for _ in range(1 + (turned if i == 1 else 0)):
            row = np.zeros(dim, np.float32)
            row[signal.start:signal.stop] = _unit(rng.normal(size=signal.stop - signal.start))
            rows.append(row)
            signals.append(i)
    n = len(rows)
    return StoredQuery(np.stack(rows), np.zeros(n, np.int32), np.array(signals, np.int32),
                       np.zeros(n, np.float32), np.zeros(n, np.float32), np.ones(1, bool),
                       np.ones((1, 4), np.float32))


def _brute(queries: list[StoredQuery], alive: list[bool], vector: np.ndarray,
           floors: list[float]) -> set[int]:
    found = set()
    for number, query in enumerate(queries):
        for row, signal in zip(query.rows, query.signals, strict=True):
            s = LAYOUT.signals[int(signal)]
            cos = float(_unit(row[s.start:s.stop]) @ _unit(vector[s.start:s.stop]))
            if cos >= floors[int(signal)] and alive[number]:
                found.add(number)
    return found


@pytest.mark.parametrize("graph", [False, True])
def test_candidates_are_those_every_row_names(graph: bool, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setattr(watched_index, "GRAPH_FROM", 10 if graph else 10**9)
    rng = np.random.default_rng(0)
    queries = [_query(rng) for _ in range(300)]
    index = WatchedIndex(LAYOUT, expected_rows=2000)
    for query in queries:
        index.add(query)
    index.drop(5)
    # filings: noisy copies of some watched marks' rows, and unrelated vectors
    filings = []
    for number in (5, 17, 123, 250):
        copy = queries[number].rows[0] + queries[number].rows[1]
        copy[:256] += rng.normal(scale=0.02, size=256).astype(np.float32)
        filings.append(copy)
    filings += [rng.normal(size=LAYOUT.dim).astype(np.float32) for _ in range(4)]
    vectors = np.stack(filings)
    floors = [0.8, 0.8]
    found = index.candidates(vectors, floors)
    for v, vector in enumerate(vectors):
        assert found[v] == _brute(queries, index.alive, vector, floors)
    assert found[1] == {17} and found[0] == set()  # 5 was removed
    assert found[4:] == [set()] * 4


def test_more_rows_than_it_looks_at_reach_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watched_index, "DEPTH", 4)
    rng = np.random.default_rng(1)
    base = _query(rng)
    queries = [base] * 10 + [_query(rng) for _ in range(20)]  # ten marks watch one design
    index = WatchedIndex(LAYOUT)
    for query in queries:
        index.add(query)
    found = index.candidates(base.rows[:1], [0.9, 0.9])
    assert found[0] == set(range(10))
