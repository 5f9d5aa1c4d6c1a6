"""The watched marks' own index: which watched marks a filing may look like.

Every row of every watched mark's stored query (service/search/stored_query.py) is one
signal's unit vector (the CNN embedding or the orientation descriptor, each its own
slice of the stored vector). Per signal the rows sit in one FAISS inner-product index,
exact (flat) while small and a graph (HNSW) beyond ``GRAPH_FROM`` rows, so a filing's
few vectors find their nearest watched rows in well under a millisecond whatever the
number of watches, instead of a product with every row.

Each row carries what its evidence loses (a turned view's penalty, the crowding
penalty) as one more coordinate, so that the inner product with a filing vector (and a
1 there) is the row's evidence on a cosine scale: rows are ranked, and kept, by the
evidence they can give, not by their cosine alone (turned rows, most of the rows, lose
0.13 and are rarely near).

Completeness: a row can only raise an alert if its evidence reaches ``need`` (the
shape score the lowest level any watch alerts at needs with the best colour). A filing
vector's ``DEPTH`` nearest rows are taken; when even the last of them reaches it, more
rows might, so that vector is compared with every row of the signal instead (exact, in
one product for all such vectors of a batch). Whether the graph misses rows a
brute-force product finds is measured by ``scripts/bench_watch.py`` (identical alert
sets, or it says how many).

Scoring the marks found: ``best_evidence`` gives each one's best evidence on a filing
(the ranking's rule, ``StoredQuery.evidence``) from all their rows in one product, so
the checker scores exactly, one by one, only the few that may reach their watch's level.
The words of the watched marks are looked up exactly too (``WatchedWords``).

Watches added since the last look are appended (no rebuild); removed ones are skipped
and the index is rebuilt when they make up a quarter of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faiss
import numpy as np

from models.signals import Signal, VectorLayout
from service.search.stored_query import StoredQuery
from service.watch.watched_words import WatchedWords

DEPTH = 64  # nearest rows looked at per filing vector and signal
GRAPH_FROM = 20_000  # rows of one signal from which the index is a graph, not flat
GRAPH_NEIGHBOURS = 32
GRAPH_SEARCH = 256  # HNSW efSearch: candidates kept while walking the graph
ROUNDING = 1e-5  # floors lowered by this: float32 products never decide a candidate


@dataclass
class _SignalRows:
    """One signal's rows: the FAISS index, each row's owner, the rows themselves (for
    the exact fallback and the scoring) with what each row's evidence loses (turn and
    crowding penalties), and where each owner's rows start and how many there are."""

    index: faiss.Index
    owners: list[int]
    rows: list[np.ndarray]  # unit rows, then minus the loss on the cosine scale
    start: int
    stop: int
    scale: float  # cosine per unit of evidence
    losses: list[np.ndarray] = field(default_factory=list)
    views: list[np.ndarray] = field(default_factory=list)
    firsts: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    _matrix: np.ndarray | None = None
    _arrays: tuple[np.ndarray, ...] | None = None
    _owners: np.ndarray | None = None

    def add(self, parts: np.ndarray, losses: np.ndarray, views: np.ndarray, owner: int
            ) -> None:
        self.firsts.append(len(self.owners))
        self.counts.append(len(parts))
        self._arrays = None
        if len(parts):
            rows = np.hstack([parts, -self.scale * np.asarray(losses)[:, None]])
            rows = np.ascontiguousarray(rows, np.float32)
            self.index.add(rows)
            self.owners.extend([owner] * len(parts))
            self.rows.append(rows)
            self.losses.append(np.asarray(losses, np.float64))
            self.views.append(np.asarray(views, np.int64))
            self._matrix = self._owners = None

    def matrix(self) -> np.ndarray:
        """Every row in one array (built once after a change: the exact fallback)."""
        if self._matrix is None:
            self._matrix = np.ascontiguousarray(np.concatenate(self.rows), np.float32)
        return self._matrix

    def owner_array(self) -> np.ndarray:
        """Each row's owner, as an array (built once after a change)."""
        if self._owners is None:
            self._owners = np.asarray(self.owners, np.int64)
        return self._owners

    def arrays(self) -> tuple[np.ndarray, ...]:
        """Each owner's first row and row count; every row's loss and query view."""
        if self._arrays is None:
            flat = [np.concatenate(x) if x else np.zeros(0, d)
                    for x, d in ((self.losses, np.float64), (self.views, np.int64))]
            self._arrays = (np.asarray(self.firsts, np.int64),
                            np.asarray(self.counts, np.int64), *flat)
        return self._arrays


@dataclass(frozen=True)
class BestEvidence:
    """Per watched mark, its best evidence on a filing, the query view of the row that
    gave it and the filing's vector it found (0: the whole; -1: no row)."""

    values: np.ndarray
    views: np.ndarray
    vectors: np.ndarray


def _cosine_per_evidence(signal: Signal) -> float:
    """How much cosine one unit of the signal's evidence is (models/signals.py)."""
    return max(1.0 - signal.centre, 1e-3) / signal.weight


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
        self.signals = [_SignalRows(_new_index(s.stop - s.start + 1, expected_rows), [], [],
                                    s.start, s.stop, _cosine_per_evidence(s))
                        for s in layout.signals]
        self.queries: list[StoredQuery] = []
        self.alive: list[bool] = []
        self.words = WatchedWords()

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
            mine = query.signals == i
            part = query.rows[mine, rows.start:rows.stop]
            norms = np.linalg.norm(part, axis=1, keepdims=True)
            rows.add(part / np.maximum(norms, 1e-12),
                     query.turn_penalties[mine] + query.penalties[mine], query.views[mine],
                     number)
        self.words.add(number, query.text)
        return number

    def drop(self, number: int) -> None:
        self.alive[number] = False

    def dead_share(self) -> float:
        return 0.0 if not self.alive else 1.0 - sum(self.alive) / len(self.alive)

    def candidates(self, vectors: np.ndarray, need: float, losses: np.ndarray
                   ) -> list[set[int]]:
        """Per filing vector (stored form, (N, D)), the live watched marks with a row whose
        evidence on it, less ``losses`` (per vector: a figure's margin), may reach
        ``need``."""
        found: list[set[int]] = [set() for _ in range(len(vectors))]
        alive = np.asarray(self.alive)
        for rows, signal in zip(self.signals, self.layout.signals, strict=True):
            if not rows.owners:
                continue
            part = np.ascontiguousarray(vectors[:, rows.start:rows.stop], np.float32)
            part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
            part = np.ascontiguousarray(np.hstack([part, np.ones((len(part), 1), np.float32)]))
            floor = signal.centre + (need + np.asarray(losses)) * rows.scale - ROUNDING
            depth = min(DEPTH, len(rows.owners))
            scores, ids = rows.index.search(part, depth)
            owners = rows.owner_array()
            full = (scores[:, -1] >= floor) if depth < len(rows.owners) \
                else np.zeros(len(part), bool)
            # where the nearest ``depth`` rows all reach the floor, more may: those
            # vectors are compared with every row, in one product
            every = np.flatnonzero(full)
            exact = rows.matrix() @ part[every].T if len(every) else None
            for v in range(len(part)):
                if full[v]:
                    column = int(np.searchsorted(every, v))
                    hits = np.flatnonzero(exact[:, column] >= floor[v])
                else:
                    hits = ids[v][(ids[v] >= 0) & (scores[v] >= floor[v])]
                mine = owners[hits]
                found[v].update(mine[alive[mine]].tolist())
        return found

    def best_evidence(self, numbers: np.ndarray, vectors: np.ndarray,
                      on_component: np.ndarray, margin: float) -> BestEvidence:
        """Per watched mark in ``numbers``, its best evidence on a filing's stored vectors
        (whole first, then figures, which ``on_component`` marks and which lose
        ``margin``): what ``StoredQuery.best`` finds, for all of them in one product per
        signal (up to float rounding: the checker scores near a level again exactly)."""
        best = BestEvidence(np.full(len(numbers), -np.inf), np.zeros(len(numbers), np.int64),
                            np.full(len(numbers), -1, np.int64))
        penalty = np.where(on_component, margin, 0.0)[None, :]
        for rows, signal in zip(self.signals, self.layout.signals, strict=True):
            firsts, counts, losses, views = rows.arrays()
            counts = counts[numbers]
            has = np.flatnonzero(counts > 0)
            if not len(has):
                continue
            counts = counts[has]
            starts = np.cumsum(counts) - counts  # each mark's first row in ``picked``
            order = np.arange(counts.sum())
            picked = order - np.repeat(starts, counts) + np.repeat(firsts[numbers[has]], counts)
            part = np.asarray(vectors[:, rows.start:rows.stop], np.float32)
            raw = (rows.matrix()[picked, :-1] @ part.T).astype(np.float64)
            evidence = signal.evidence(raw) - losses[picked][:, None] - penalty
            row_best = evidence.max(axis=1)
            top = np.maximum.reduceat(row_best, starts)
            # the first row of each mark that gives its best (as an argmax would)
            at_top = np.where(row_best == np.repeat(top, counts), order, len(order))
            row = np.minimum.reduceat(at_top, starts)
            better = top > best.values[has]
            where = has[better]
            best.values[where] = top[better]
            best.views[where] = views[picked[row[better]]]
            best.vectors[where] = evidence[row[better]].argmax(axis=1)
        return best
