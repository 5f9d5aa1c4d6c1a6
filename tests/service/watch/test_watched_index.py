"""The watched marks' index: the watched marks it names for a filing vector are those a
product with every row names (rows' evidence after their penalties), for marks added
before and after its directions were fitted and when many marks share one design;
its bound is never below a row's product, and equal to it for rows in its directions;
removed marks are skipped; the best evidence it gives each mark is the stored query's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.network import ModelConfig
from models.signals import VectorLayout
from service.search.stored_query import StoredQuery
from service.watch import watched_index
from service.watch.watched_index import BestEvidence, WatchedIndex, _Projection

LAYOUT = VectorLayout.of(ModelConfig(hog_cells=6, hog_share=0.5, input_mode="ink+grey",
                                     embed_centre=0.8, embed_weight=0.7, hog_centre=0.6))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _query(rng: np.random.Generator, turned: int = 4, views: int = 1) -> StoredQuery:
    """A stored query: per view an embedding row and a descriptor row, and for the first
    view turned descriptor rows (a turn penalty each), some rows crowded (a penalty)."""
    dim = LAYOUT.dim
    rows, signals, view_of, turns = [], [], [], []
    for view in range(views):
        for i, signal in enumerate(LAYOUT.signals):
            for turn in range(1 + (turned if i == 1 and view == 0 else 0)):
                row = np.zeros(dim, np.float32)
                row[signal.start:signal.stop] = _unit(
                    rng.normal(size=signal.stop - signal.start))
                rows.append(row)
                signals.append(i)
                view_of.append(view)
                turns.append(0.13 if turn else 0.0)
    n = len(rows)
    penalties = np.where(rng.random(n) < 0.3, 0.05, 0.0).astype(np.float32)
    return StoredQuery(np.stack(rows), np.array(view_of, np.int32),
                       np.array(signals, np.int32), np.array(turns, np.float32), penalties,
                       np.array([True] + [False] * (views - 1)),
                       np.ones((views, 4), np.float32))


def _brute(queries: list[StoredQuery], alive: list[bool], vector: np.ndarray,
           need: float, loss: float = 0.0) -> set[int]:
    """Marks with a row whose evidence (the ranking's, less the row's penalties and
    ``loss``) on ``vector`` reaches ``need``."""
    found = set()
    for number, query in enumerate(queries):
        evidence = query.evidence(vector[None, :], np.array([False]), LAYOUT, 0.0)[:, 0]
        if alive[number] and (evidence - loss >= need).any():
            found.add(number)
    return found


def _filled(queries: list[StoredQuery]) -> WatchedIndex:
    index = WatchedIndex(LAYOUT)
    for query in queries:
        index.add(query)
    return index


def _named(index: WatchedIndex, vectors: np.ndarray, need: float, losses: np.ndarray
           ) -> list[set[int]]:
    """The marks ``hits`` names for each vector (each vector its own filing)."""
    filing_of, hits = index.hits(vectors, need, losses, np.arange(len(vectors)))
    return [set(hits.numbers[filing_of == v].tolist()) for v in range(len(vectors))]


def _stored(rng: np.random.Generator, *rows: np.ndarray) -> np.ndarray:
    """A filing vector in stored form (each signal's slice of norm sqrt(share)) near the
    sum of ``rows``."""
    vector = np.sum(rows, axis=0) + rng.normal(scale=0.01, size=LAYOUT.dim)
    for s in LAYOUT.signals:
        part = vector[s.start:s.stop]
        vector[s.start:s.stop] = part / np.linalg.norm(part) * np.sqrt(s.share)
    return vector.astype(np.float32)


def test_candidates_are_those_every_row_names() -> None:
    rng = np.random.default_rng(0)
    queries = [_query(rng) for _ in range(300)]
    index = WatchedIndex(LAYOUT)
    for query in queries[:200]:
        index.add(query)
    _named(index, _stored(rng, queries[0].rows[0])[None, :], 0.5, np.zeros(1))  # fitted
    for query in queries[200:]:  # projected on the directions fitted without them
        index.add(query)
    assert index.signals[1].projection().fitted_on < index.signals[1].matrix().shape[0]
    index.drop(5)
    # filings: noisy copies of some watched marks' rows (one of them turned: its row
    # loses the turn penalty), and unrelated vectors
    filings = [_stored(rng, queries[n].rows[0], queries[n].rows[1 + (n == 123)])
               for n in (5, 17, 123, 250)]
    filings += [_stored(rng, rng.normal(size=LAYOUT.dim)) for _ in range(4)]
    vectors = np.stack(filings)
    need = 0.5
    found = _named(index, vectors, need, np.zeros(len(vectors)))
    for v, vector in enumerate(vectors):
        assert found[v] == _brute(queries, index.alive, vector, need)
    assert found[0] == set() and 17 in found[1] and 123 in found[2]  # 5 was removed
    assert found[4:] == [set()] * 4
    # a figure's vector loses the margin: a copy just above the level is then below it
    best = float(queries[17].evidence(vectors[1:2], np.array([False]), LAYOUT, 0.0).max())
    assert 17 not in _named(index, vectors[1:2], best - 0.01, np.array([0.02]))[0]
    assert 17 in _named(index, vectors[1:2], best - 0.01, np.array([0.0]))[0]
    # a filing like one of mark 123's turned rows only: that row's evidence is its
    # cosine's less the turn penalty, so a level between the two does not name it
    turned = _stored(rng, queries[123].rows[2])
    evidence = float(queries[123].evidence(turned[None, :], np.array([False]), LAYOUT,
                                           0.0).max())
    assert queries[123].turn_penalties[2] == pytest.approx(0.13)
    assert 123 in _named(index, turned[None, :], evidence - 0.01, np.zeros(1))[0]
    assert 123 not in _named(index, turned[None, :], evidence + 0.06, np.zeros(1))[0]


def test_every_mark_of_a_design_many_watch_is_named() -> None:
    rng = np.random.default_rng(1)
    base = _query(rng)
    index = _filled([base] * 10 + [_query(rng) for _ in range(20)])  # ten watch one design
    found = _named(index, _stored(rng, base.rows[0], base.rows[1])[None, :], 0.5,
                             np.zeros(1))
    assert found[0] == set(range(10))


def _rows(units: np.ndarray, losses: np.ndarray) -> np.ndarray:
    return np.column_stack([units, -losses]).astype(np.float32)


def test_the_bound_is_never_below_a_rows_product_and_tight_in_its_directions() -> None:
    rng = np.random.default_rng(3)
    dim, rank = 120, watched_index.DEPTHS[-1] - 1
    directions = _unit(rng.normal(size=(rank, dim)))
    inside = _unit(rng.normal(size=(400, rank)) @ directions)  # in the fitted directions
    outside = _unit(rng.normal(size=(100, dim)))  # added later, mostly outside them
    losses = rng.choice([0.0, 0.05, 0.13], size=500)
    projection = _Projection.fit(inside, 400)
    projection.add(_rows(inside, losses[:400]), np.arange(400))
    projection.add(_rows(outside, losses[400:]), np.arange(400, 500))
    queries = _unit(np.vstack([rng.normal(size=(20, rank)) @ directions,
                               rng.normal(size=(20, dim))]))
    exact = queries @ np.vstack([inside, outside]).T - losses[None, :]
    floors = np.full(len(queries), 0.2)
    floors[::2] = 0.05
    vectors, rows = projection.within(queries, floors)
    assert len(rows) == len(set(zip(vectors.tolist(), rows.tolist(), strict=True)))
    for q in range(len(queries)):
        within = set(rows[vectors == q].tolist())
        reaching = set(np.flatnonzero(exact[q] >= floors[q]).tolist())
        assert reaching <= within  # never misses a row
        if q < 20:  # a query in the directions: the bound is the product on those rows
            assert within & set(range(400)) == reaching & set(range(400))
    assert len(rows) < 0.5 * len(queries) * 500  # and it prunes


def test_the_bound_is_the_same_whatever_the_block_size(monkeypatch) -> None:
    rng = np.random.default_rng(8)
    units = _unit(rng.normal(size=(300, 40)))
    projection = _Projection.fit(units, 300)
    projection.add(_rows(units, np.zeros(300)), np.arange(300))
    queries = _unit(rng.normal(size=(7, 40)))
    floors = np.linspace(0.0, 0.3, 7)
    whole = projection.within(queries, floors)
    monkeypatch.setattr(watched_index, "BLOCK_PRODUCTS", 20)  # blocks of 2 rows
    blocks = projection.within(queries, floors)
    assert sorted(zip(*whole, strict=True)) == sorted(zip(*blocks, strict=True))
    assert len(whole[0]) > 0


def test_the_directions_are_fitted_again_when_the_rows_double() -> None:
    rng = np.random.default_rng(4)
    index = WatchedIndex(LAYOUT)
    for _ in range(10):
        index.add(_query(rng))
    first = index.signals[1].projection()
    for _ in range(5):
        index.add(_query(rng))
    assert index.signals[1].projection() is first  # the new rows projected, not refitted
    assert first.scanned == first.covered == index.signals[1].matrix().shape[0]
    for _ in range(10):
        index.add(_query(rng))
    again = index.signals[1].projection()
    assert again is not first and again.fitted_on == index.signals[1].matrix().shape[0]


def _assert_best(found: BestEvidence, at: int, query: StoredQuery, vectors: np.ndarray,
                 on_component: np.ndarray, numbering: np.ndarray) -> None:
    """Entry ``at`` of ``found`` is the stored query's best evidence on ``vectors``
    (numbered in ``found`` as ``numbering``)."""
    value, view, vector = query.best(query.evidence(vectors, on_component, LAYOUT, 0.05))
    assert found.values[at] == pytest.approx(value, abs=1e-5)
    assert (found.views[at], found.vectors[at]) == (view, numbering[vector])


def _near_7_and_30(rng: np.random.Generator, queries: list[StoredQuery],
                   *rows_of_30: np.ndarray) -> np.ndarray:
    """A filing of three vectors: the whole near mark 7, a figure near nothing, a figure
    near ``rows_of_30`` (rows of mark 30)."""
    return np.stack([_stored(rng, queries[7].rows[0], queries[7].rows[2]),
                     _stored(rng, rng.normal(size=LAYOUT.dim)),
                     _stored(rng, *rows_of_30)])


def test_best_evidence_is_the_stored_querys() -> None:
    rng = np.random.default_rng(2)
    queries = [_query(rng, turned=3, views=1 + n % 3) for n in range(40)]
    index = _filled(queries)
    vectors = _near_7_and_30(rng, queries, queries[30].rows[-2], queries[30].rows[-1])
    on_component = np.array([False, True, True])
    numbers = np.array([30, 3, 7, 12], np.int64)
    found = index.best_evidence(numbers, vectors, on_component, 0.05)
    for i, number in enumerate(numbers):
        _assert_best(found, i, queries[number], vectors, on_component, np.arange(3))
    assert found.vectors[numbers == 7][0] == 0 and found.vectors[numbers == 30][0] == 2


def test_hits_give_each_mark_it_names_the_stored_querys_best_evidence() -> None:
    rng = np.random.default_rng(5)
    queries = [_query(rng, turned=3, views=1 + n % 3) for n in range(60)]
    index = _filled(queries)
    # two filings: the three vectors near marks 7 and 30, and a single vector near a
    # turned row of mark 41
    vectors = np.vstack([_near_7_and_30(rng, queries, queries[30].rows[0],
                                        queries[30].rows[1]),
                         _stored(rng, queries[41].rows[2])])
    filing_of = np.array([0, 0, 0, 1])
    on_component = np.array([False, True, True, False])
    need = 0.2
    filings, found = index.hits(vectors, need, np.where(on_component, 0.05, 0.0), filing_of)
    assert np.all(np.diff(filings) >= 0)  # sorted by filing
    named = {(int(f), int(n)) for f, n in zip(filings, found.numbers, strict=True)}
    assert {(0, 7), (0, 30), (1, 41)} <= named
    for f in (0, 1):
        mine = filing_of == f
        for number, query in enumerate(queries):
            value = query.best(query.evidence(vectors[mine], on_component[mine], LAYOUT,
                                              0.05))[0]
            at = np.flatnonzero((filings == f) & (found.numbers == number))
            assert len(at) == (value >= need)  # named exactly when its best reaches need
            if len(at):
                _assert_best(found, at[0], query, vectors[mine], on_component[mine],
                             np.flatnonzero(mine))


def test_rows_that_cannot_reach_their_watchs_need_are_not_scanned() -> None:
    rng = np.random.default_rng(6)
    queries = [_query(rng, turned=4) for _ in range(40)]
    needs = [0.95 if n % 2 else 0.3 for n in range(40)]  # odd marks: watched at "high"
    index = WatchedIndex(LAYOUT)
    for query, need in zip(queries, needs, strict=True):
        index.add(query, need)
    # at 0.95 an embedding row (weight 0.7) and a turned row (0.87 at most) cannot
    # reach: of an odd mark only its descriptor row as drawn is scanned
    for rows in index.signals:
        rows.projection()
    scanned = [int(index.signals[s].projection().scanned) for s in (0, 1)]
    assert scanned == [20, 20 * 5 + 20 * 1]
    # and every mark whose best evidence reaches its own need is still named
    vectors = np.stack([_stored(rng, queries[n].rows[k]) for n, k in
                        ((3, 1), (3, 0), (3, 2), (4, 0), (4, 2))])
    found = _named(index, vectors, 0.3, np.zeros(len(vectors)))
    for v, vector in enumerate(vectors):
        reaching = {n for n, q in enumerate(queries) if q.best(q.evidence(
            vector[None, :], np.array([False]), LAYOUT, 0.0))[0] >= needs[n]}
        assert reaching <= found[v]
    assert 3 in found[0] and 3 not in found[1] | found[2]  # drawn: named; else out of reach
    assert 4 in found[3] and 4 in found[4]


def test_hits_are_the_same_whatever_the_chunk_of_pairs(monkeypatch) -> None:
    rng = np.random.default_rng(9)
    queries = [_query(rng, turned=3) for _ in range(50)]
    index = _filled(queries)
    vectors = np.stack([_stored(rng, q.rows[0], q.rows[1]) for q in queries[:6]])
    args = (vectors, 0.1, np.zeros(len(vectors)), np.arange(len(vectors)))
    whole = index.hits(*args)
    monkeypatch.setattr(watched_index, "EXACT_PAIRS", 3)  # pairs compared 3 at a time
    chunked = index.hits(*args)
    assert len(whole[0]) >= 6
    np.testing.assert_array_equal(whole[0], chunked[0])
    for a, b in zip(dataclasses.astuple(whole[1]), dataclasses.astuple(chunked[1]),
                    strict=True):
        np.testing.assert_array_equal(a, b)
