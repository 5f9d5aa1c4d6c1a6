"""The watched marks' own index: which watched marks a filing may look like, exactly.

Every row of every watched mark's stored query (service/search/stored_query.py) is one
signal's unit vector (the CNN embedding or the orientation descriptor, each its own
slice of the stored vector), with what its evidence loses (a turned view's penalty, the
crowding penalty) as one more coordinate, so that the inner product with a filing
vector (and a 1 there) is the row's evidence on a cosine scale.

A row can only raise an alert if that evidence reaches ``need`` (the shape score the
lowest level any watch alerts at needs with the best colour). The rows that may are
found without a product with every row, and without missing one (a graph search missed
86 of 266,376 alerts at 10,000 watches):

- each signal's rows are seen through a few directions (the rows' mean and their top
  principal directions, fitted on the rows and again when they have doubled). For
  unit vectors q and u, q.u = Pq.Pu + Rq.Ru <= Pq.Pu + |Rq| |Ru| (Cauchy-Schwarz on
  the parts P leaves out), so one small product per row, [Pu, |Ru|, -loss] .
  [Pq, |Rq|, 1], bounds each row's evidence from above;
- every row is scanned through the first 24 directions (``DEPTHS``), one matrix
  product a block of rows; the rows that pass are bounded again through 64, which is
  tighter (on 146,239 descriptor rows of icons: about 760 rows a filing vector pass
  the first, 140 the second, for 53 that reach the floor); those few are compared
  with the filing in full.

A row that cannot reach its own watch's need even on an identical image (at ``high``,
an embedding row or a turned descriptor row) is not scanned at all.

The embeddings lie in few directions (48 hold 99.8 % of their spread), the descriptors
in more (32 hold 59 %), which is why the bound is tight enough to leave few rows. A new
watched mark is projected on the directions already fitted (the bound holds for any
directions; they only make it tight).

Scoring the marks found: ``best_evidence`` gives each one's best evidence on a filing
(the ranking's rule, ``StoredQuery.evidence``) from all their rows in one product, so
the checker scores exactly, one by one, only the few that lie on a level.
The words of the watched marks are looked up exactly too (``WatchedWords``).

Watches added since the last look are appended (no rebuild); removed ones are skipped
and the index is rebuilt when they make up a quarter of its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from models.signals import Signal, VectorLayout
from service.search.stored_query import StoredQuery
from service.watch.watched_words import WatchedWords

DEPTHS = (24, 64)  # directions a signal's rows are seen through: every row, then those left
REFIT_GROWTH = 2.0  # the directions are fitted again when the rows have grown this much
FIT_ROWS = 50_000  # rows the directions are fitted on, at most (evenly spaced)
BLOCK_PRODUCTS = 262_144  # vectors x rows a product block (1 MB: stays in L2, beside the workers)
EXACT_PAIRS = 20_000  # (vector, row) pairs compared in full at once
ROUNDING = 1e-5  # floors lowered by this: float32 products never decide a candidate


@dataclass
class _Projection:
    """A signal's rows seen through a few orthonormal directions, at each of ``DEPTHS``
    (the first k directions): per row [P_k u, |R_k u|, -loss], whose product with
    [P_k q, |R_k q|, 1] is at least the row's full product with q (module docstring).
    Every row is scanned at the first depth; only the rows that pass are looked at the
    next depth, whose bound is tighter."""

    basis: np.ndarray  # (d, D) orthonormal rows, the rows' mean first
    fitted_on: int  # rows the signal had when the directions were fitted
    covered: int = 0  # rows of the signal looked at (added, or left out as unreachable)
    scanned: int = 0  # rows the bound holds (those scanned for each filing vector)
    _ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # their rows
    _bounds: list[np.ndarray] = field(default_factory=list)  # per depth, (capacity, k + 2)

    @classmethod
    def fit(cls, units: np.ndarray, rows: int) -> _Projection:
        """Directions for ``units`` (rows of unit vectors): their mean, then their top
        principal directions (``rows``: the signal's rows now)."""
        sample = units[::max(1, len(units) // FIT_ROWS)].astype(np.float64)
        mean = sample.mean(axis=0)
        centred = sample - mean
        _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
        top = vectors[:, ::-1][:, :max(0, min(DEPTHS[-1], units.shape[1]) - 1)]
        basis, _ = np.linalg.qr(np.column_stack([mean, top]))
        return cls(np.ascontiguousarray(basis.T), rows)

    def depths(self) -> list[int]:
        return sorted({min(k, len(self.basis)) for k in DEPTHS})

    def forms(self, units: np.ndarray, last: np.ndarray) -> list[np.ndarray]:
        """Per depth k, each unit vector as [P_k u, |R_k u|, ``last``] (float32; the
        norms of what is left computed in float64, from the full residual out)."""
        units = np.asarray(units, np.float64)
        projected = units @ self.basis.T
        left = np.sum((units - projected @ self.basis) ** 2, axis=1)
        tails = np.cumsum((projected ** 2)[:, ::-1], axis=1)[:, ::-1]  # sum of j >= k
        out = []
        for k in self.depths():
            beyond = tails[:, k] if k < len(self.basis) else 0.0
            out.append(np.column_stack([projected[:, :k], np.sqrt(left + beyond), last]
                                       ).astype(np.float32))
        return out

    def add(self, rows: np.ndarray, ids: np.ndarray) -> None:
        """Rows in index form ([unit, -loss x scale]) and their numbers (appended to
        buffers that double when full: ``_appended``)."""
        if not len(rows):
            return
        held = self.scanned
        for depth, new in enumerate(self.forms(rows[:, :-1], rows[:, -1])):
            if depth == len(self._bounds):
                self._bounds.append(np.empty((0, new.shape[1]), np.float32))
            self._bounds[depth] = _appended(self._bounds[depth], held, new)
        self._ids = _appended(self._ids, held, np.asarray(ids, np.int64))
        self.scanned = held + len(rows)

    def within(self, units: np.ndarray, floors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (unit vector, row) pairs whose bound reaches the vector's floor (a
        superset of the pairs whose product does), as two arrays. At the first depth,
        one matrix product a block of rows (``BLOCK_PRODUCTS``: a BLAS product and a
        comparison cost a quarter of a FAISS range search's scan on such short rows);
        at the next, the pairs left, one by one."""
        held = self.scanned
        if not held or not len(units):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        queries = self.forms(units, np.ones(len(units)))
        floors = np.asarray(floors, np.float32)
        step = max(1, BLOCK_PRODUCTS // len(units))
        vectors, rows = [], []
        for lo in range(0, held, step):
            block = self._bounds[0][lo:min(held, lo + step)] @ queries[0].T  # (rows, vectors)
            hit = np.flatnonzero(block >= floors[None, :])
            rows.append(hit // len(units) + lo)
            vectors.append(hit % len(units))
        vector, row = np.concatenate(vectors), np.concatenate(rows)
        for bounds, query in zip(self._bounds[1:], queries[1:], strict=True):
            keep = _pair_products(bounds, row, query, vector) >= floors[vector]
            vector, row = vector[keep], row[keep]
        return vector, self._ids[row]


def _appended(buffer: np.ndarray, held: int, new: np.ndarray) -> np.ndarray:
    """``buffer`` (its first ``held`` rows used) with ``new`` after them; it doubles when
    full, so adding a watch does not copy every row."""
    if held + len(new) > len(buffer):
        grown = np.empty((max(2 * held, held + len(new)), *new.shape[1:]), new.dtype)
        grown[:held] = buffer[:held]
        buffer = grown
    buffer[held:held + len(new)] = new
    return buffer


class _Flat(NamedTuple):
    """A signal's rows as flat arrays (``_SignalRows.arrays``)."""

    firsts: np.ndarray  # each owner's first row
    counts: np.ndarray  # each owner's row count
    losses: np.ndarray  # each row's turn and crowding penalties
    views: np.ndarray  # each row's query view
    reach: np.ndarray  # each row may reach its owner's need


@dataclass
class _SignalRows:
    """One signal's rows: the FAISS index, each row's owner, the rows themselves (for
    the exact fallback and the scoring) with what each row's evidence loses (turn and
    crowding penalties), and where each owner's rows start and how many there are."""

    owners: list[int]
    rows: list[np.ndarray]  # unit rows, then minus the loss on the cosine scale
    start: int
    stop: int
    scale: float  # cosine per unit of evidence
    ceiling: float  # a row's evidence on an identical image, before its losses
    losses: list[np.ndarray] = field(default_factory=list)
    views: list[np.ndarray] = field(default_factory=list)
    reach: list[np.ndarray] = field(default_factory=list)  # may reach their mark's need
    firsts: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    _matrix: np.ndarray | None = None
    _arrays: _Flat | None = None
    _owners: np.ndarray | None = None
    _projection: _Projection | None = None

    def add(self, parts: np.ndarray, losses: np.ndarray, views: np.ndarray, owner: int,
            reach: np.ndarray) -> None:
        self.firsts.append(len(self.owners))
        self.counts.append(len(parts))
        self._arrays = None
        if len(parts):
            rows = np.hstack([parts, -self.scale * np.asarray(losses)[:, None]])
            rows = np.ascontiguousarray(rows, np.float32)
            self.owners.extend([owner] * len(parts))
            self.rows.append(rows)
            self.losses.append(np.asarray(losses, np.float64))
            self.views.append(np.asarray(views, np.int64))
            self.reach.append(np.asarray(reach, bool))
            self._matrix = self._owners = None

    def matrix(self) -> np.ndarray:
        """Every row in one array (built once after a change: the exact fallback)."""
        if self._matrix is None:
            self._matrix = np.ascontiguousarray(np.concatenate(self.rows), np.float32)
        return self._matrix

    def projection(self) -> _Projection:
        """The rows' bound, fitted when the rows have grown ``REFIT_GROWTH`` times since
        the last fit, else brought up to date with the rows added since."""
        p, total = self._projection, len(self.owners)
        if p is not None and p.covered == total:
            return p
        reach = self.arrays().reach
        if p is None or total >= REFIT_GROWTH * p.fitted_on:
            ids = np.flatnonzero(reach) if reach.any() else np.arange(total)
            p = self._projection = _Projection.fit(self.matrix()[ids, :-1], total)
        new = np.arange(p.covered, total)
        new = new[reach[new]]
        p.add(self.matrix()[new], new)
        p.covered = total
        return p

    def owner_array(self) -> np.ndarray:
        """Each row's owner, as an array (built once after a change)."""
        if self._owners is None:
            self._owners = np.asarray(self.owners, np.int64)
        return self._owners

    def arrays(self) -> _Flat:
        """Each owner's first row and row count; every row's loss, query view and reach
        (built once after a change)."""
        if self._arrays is None:
            flat = [np.concatenate(x) if x else np.zeros(0, d) for x, d in
                    ((self.losses, np.float64), (self.views, np.int64), (self.reach, bool))]
            self._arrays = _Flat(np.asarray(self.firsts, np.int64),
                                 np.asarray(self.counts, np.int64), *flat)
        return self._arrays


@dataclass(frozen=True)
class BestEvidence:
    """Per watched mark (``numbers``), its best evidence on a filing, the query view of
    the row that gave it and the filing's vector it found (0: the whole; -1: no row)."""

    values: np.ndarray
    views: np.ndarray
    vectors: np.ndarray
    numbers: np.ndarray

    def take(self, which: slice | np.ndarray, first_vector: int | np.ndarray = 0
             ) -> BestEvidence:
        """Some of the marks (``which``), their vectors counted from ``first_vector``."""
        return BestEvidence(self.values[which], self.views[which],
                            self.vectors[which] - first_vector, self.numbers[which])

    def joined(self, other: BestEvidence) -> BestEvidence:
        return BestEvidence(*(np.concatenate([a, b]) for a, b in
                              zip((self.values, self.views, self.vectors, self.numbers),
                                  (other.values, other.views, other.vectors, other.numbers),
                                  strict=True)))


def _pair_products(rows: np.ndarray, row_ids: np.ndarray, vectors: np.ndarray,
                   vector_ids: np.ndarray) -> np.ndarray:
    """rows[row_ids[k]] . vectors[vector_ids[k]] for each pair k (in chunks of
    ``EXACT_PAIRS``, so the gathered rows stay small)."""
    out = np.empty(len(row_ids), np.float32)
    for lo in range(0, len(row_ids), EXACT_PAIRS):
        hi = lo + EXACT_PAIRS
        out[lo:hi] = np.einsum("ij,ij->i", rows[row_ids[lo:hi]], vectors[vector_ids[lo:hi]])
    return out


def _cosine_per_evidence(signal: Signal) -> float:
    """How much cosine one unit of the signal's evidence is (models/signals.py)."""
    return max(1.0 - signal.centre, 1e-3) / signal.weight


class WatchedIndex:
    """The watched marks' rows, per signal, and the words they carry."""

    def __init__(self, layout: VectorLayout) -> None:
        self.layout = layout
        self.signals = [_SignalRows([], [], s.start, s.stop, _cosine_per_evidence(s),
                                    float(s.evidence(np.array([np.sqrt(s.share)]))[0]))
                        for s in layout.signals]
        self.queries: list[StoredQuery] = []
        self.alive: list[bool] = []
        self.words = WatchedWords()
        self._colour_firsts: list[int] = []  # each mark's first view in the colour rows
        self._colour_rows: list[np.ndarray] = []
        self._colour_count = 0
        self._colours: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return sum(self.alive)

    @property
    def rows(self) -> int:
        return sum(len(s.owners) for s in self.signals)

    def add(self, query: StoredQuery, need: float = -np.inf) -> int:
        """Index one watched mark's rows; returns its number. Rows whose evidence cannot
        reach ``need`` (the least its watch alerts on by shape) even on an identical
        image (a turned row of a mark watched at ``high``) are left out of the scan."""
        number = len(self.queries)
        self.queries.append(query)
        self.alive.append(True)
        for i, rows in enumerate(self.signals):
            mine = query.signals == i
            part = query.rows[mine, rows.start:rows.stop]
            norms = np.linalg.norm(part, axis=1, keepdims=True)
            losses = query.turn_penalties[mine] + query.penalties[mine]
            rows.add(part / np.maximum(norms, 1e-12), losses, query.views[mine], number,
                     rows.ceiling - losses >= need - ROUNDING)
        self.words.add(number, query.text)
        self._colour_firsts.append(self._colour_count)
        self._colour_rows.append(query.colours)
        self._colour_count += len(query.colours)
        self._colours = None
        return number

    def colour_agreement(self, numbers: np.ndarray, views: np.ndarray, colours: np.ndarray
                         ) -> np.ndarray:
        """Per watched mark in ``numbers``, its view's colour signature (``views``) times
        a filing's (``colours``: one row each): the colour agreement a search with that
        view gives the filing."""
        if self._colours is None:
            self._colours = (np.concatenate(self._colour_rows).astype(np.float32),
                             np.asarray(self._colour_firsts, np.int64))
        rows, firsts = self._colours
        return np.einsum("ij,ij->i", rows[firsts[numbers] + views],
                         np.asarray(colours, np.float32)).astype(np.float64)

    def fit(self) -> None:
        """Bring each signal's bound up to date now (the checker does after reading the
        watches, so that the first filing does not pay for it)."""
        for rows in self.signals:
            if rows.owners:
                rows.projection()

    def drop(self, number: int) -> None:
        self.alive[number] = False

    def dead_share(self) -> float:
        return 0.0 if not self.alive else 1.0 - sum(self.alive) / len(self.alive)

    def hits(self, vectors: np.ndarray, need: float, losses: np.ndarray, filing_of: np.ndarray
             ) -> tuple[np.ndarray, BestEvidence]:
        """Per (filing, live watched mark) with a row whose evidence on one of the filing's
        vectors (``filing_of``: each vector's filing), less ``losses`` (per vector: a
        figure's margin), reaches ``need``: the filing, and the best such evidence with
        its row's query view and the vector (all of them: the bound's rows are compared
        in full), sorted by filing. That is the mark's best evidence on the filing when
        its best reaches the need its row was added with (``add``: rows that cannot reach
        it are not scanned, so below it the hits may understate the best; only words can
        then raise the mark to its level, and the checker scores those marks in full)."""
        found: list[tuple[np.ndarray, ...]] = []
        alive = np.asarray(self.alive)
        for rows, signal in zip(self.signals, self.layout.signals, strict=True):
            if not rows.owners:
                continue
            part = np.asarray(vectors[:, rows.start:rows.stop], np.float64)
            part = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
            floor = signal.centre + (need + np.asarray(losses)) * rows.scale - ROUNDING
            matrix, owners, views = rows.matrix(), rows.owner_array(), rows.arrays().views
            full = np.column_stack([part, np.ones(len(part))]).astype(np.float32)
            vector, near = rows.projection().within(part, floor)
            live = alive[owners[near]]
            vector, near = vector[live], near[live]
            products = _pair_products(matrix, near, full, vector)
            keep = products >= floor[vector]
            vector, near = vector[keep], near[keep]
            found.append((vector, owners[near], (products[keep].astype(np.float64)
                                                 - signal.centre) / rows.scale - losses[vector],
                          views[near]))
        empty = np.zeros(0, np.int64)
        if not found or not sum(len(f[0]) for f in found):
            return empty, BestEvidence(np.zeros(0), empty, empty, empty)
        vector, mark, value, view = (np.concatenate(x) for x in zip(*found, strict=True))
        filing = np.asarray(filing_of, np.int64)[vector]
        order = np.lexsort((vector, -value, mark, filing))  # per filing and mark, best first
        vector, mark, value, view, filing = (x[order] for x in (vector, mark, value, view,
                                                                 filing))
        first = np.flatnonzero(np.r_[True, (mark[1:] != mark[:-1])
                                     | (filing[1:] != filing[:-1])])
        return filing[first], BestEvidence(value[first], view[first], vector[first],
                                           mark[first])

    def best_evidence(self, numbers: np.ndarray, vectors: np.ndarray,
                      on_component: np.ndarray, margin: float) -> BestEvidence:
        """Per watched mark in ``numbers``, its best evidence on a filing's stored vectors
        (whole first, then figures, which ``on_component`` marks and which lose
        ``margin``): what ``StoredQuery.best`` finds, for all of them in one product per
        signal (up to float rounding: the checker scores near a level again exactly)."""
        best = BestEvidence(np.full(len(numbers), -np.inf), np.zeros(len(numbers), np.int64),
                            np.full(len(numbers), -1, np.int64), np.asarray(numbers, np.int64))
        penalty = np.where(on_component, margin, 0.0)[None, :]
        for rows, signal in zip(self.signals, self.layout.signals, strict=True):
            firsts, counts, losses, views, _ = rows.arrays()
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
