"""FAISS behind our int64 ids, in three kinds: ``flat`` (exact), ``ivfpq`` (compressed, for
millions of marks) and ``hnsw`` (graph). See ``index.choice`` for which to use.

Vectors are unit length, so inner product is cosine similarity. The store is saved as one
file written atomically (temp file, fsync, rename; ``index.fileformat``): a header with
the model version that made the vectors, the kind and its parameters, then the index. One
file means a crash can never pair an index with the header of another; side files (the
exact vectors of ``ivfpq``) are written before it and named in it.

Filters: ``allowed_ids`` restricts the search inside FAISS. An approximate index can find
fewer than ``k`` allowed vectors when the allowed set is small, so a small allowed set is
scored exactly, and any query that still comes back short is re-scored exactly over the
allowed (or all) ids: ``k`` hits come back whenever ``k`` allowed vectors exist.

Exclusions: ``excluded_ids`` (the unpublished marks a public search must not see) are
few next to the register. Up to ``OVERFETCH_MAX`` of them, the search asks for ``k`` more
hits than there are excluded ids and drops them, which still leaves the ``k`` best
others of an exact search; beyond that they are turned into an allowed set.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import faiss
import numpy as np

from index import fileformat
from index.base import IndexInfo, IndexMismatchError, SearchHits
from index.choice import MIN_TRAIN, default_params, ivf_nlist
from index.engine import Engine, exact_top_k, top_k
from index.field_filter import FieldFilter
from index.flat import FlatEngine
from index.hnsw import HnswEngine
from index.ivfpq import IvfPqEngine

EXACT_FILTER_MAX = 4096  # allowed sets up to this size are scored exactly (fast and exact)
OVERFETCH_MAX = 4096  # excluded sets up to this size are dropped from a deeper search
_ADD_CHUNK = 65536


class FaissStore:
    """A FAISS index of one kind with stable int64 ids; thread-safe for one writer."""

    native_filters = False  # filters are id sets (the records resolve them)

    def __init__(self, info: IndexInfo, index: faiss.Index | None = None, *,
                 engine: Engine | None = None) -> None:
        """An empty store of ``info.kind`` (``index``: a flat FAISS index to wrap, as
        before kinds existed). An untrained ``ivfpq`` cannot start empty: it is flat."""
        if engine is None:
            if index is not None or info.kind in ("flat", "ivfpq"):
                if info.kind == "ivfpq":
                    info = _fallback_info(info, "an empty index cannot be trained")
                engine = FlatEngine(info.dim, index)
            elif info.kind == "hnsw":
                engine = HnswEngine(info.dim, info.params)
                info = replace(info, params=dict(engine.params))
            else:
                raise ValueError(f"unknown index kind {info.kind!r}")
        self.info = info
        self._engine = engine
        self._lock = threading.RLock()

    @classmethod
    def build(cls, info: IndexInfo, ids: np.ndarray, vectors: np.ndarray,
              workdir: Path | None = None) -> FaissStore:
        """A store of ``info.kind`` holding ``vectors``; ``ivfpq`` is trained on them first
        (or, with fewer than ``MIN_TRAIN``, becomes flat, noted in ``info.params``).

        ``vectors`` may be a read-only memmap; it is read in chunks. ``workdir``: where an
        ivfpq build keeps its exact vectors until the first save (on the index's file
        system, the save moves them instead of copying).
        """
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if info.kind == "ivfpq":
            store = cls._trained_ivfpq(info, vectors, workdir)
        elif info.kind == "hnsw":
            params = {**default_params("hnsw", len(ids), info.dim), **info.params}
            store = cls(replace(info, params=params))
        else:
            store = cls(info)
        for start in range(0, len(ids), _ADD_CHUNK):
            store.add(ids[start : start + _ADD_CHUNK], vectors[start : start + _ADD_CHUNK])
        if isinstance(store._engine, IvfPqEngine):
            store._engine.trim()
        return store

    @classmethod
    def _trained_ivfpq(cls, info: IndexInfo, vectors: np.ndarray,
                       workdir: Path | None) -> FaissStore:
        n = len(vectors)
        if n < MIN_TRAIN:
            return cls(_fallback_info(info, f"{n} vectors are too few to train (< {MIN_TRAIN})"))
        params = {**default_params("ivfpq", n, info.dim), **info.params}
        train_n = min(n, int(params["train_size"]))
        params["nlist"] = min(int(params["nlist"]), ivf_nlist(n, train_n))
        params["trained_on"] = train_n
        rows = np.sort(np.random.default_rng(0).choice(n, train_n, replace=False))
        sample = np.ascontiguousarray(vectors[rows], dtype=np.float32)
        engine = IvfPqEngine.train(info.dim, params, sample, workdir)
        return cls(replace(info, params=engine.params), engine=engine)

    # -- content --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._engine)

    @property
    def kind(self) -> str:
        return self._engine.kind

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[dict[str, Any]] | None = None) -> None:
        """Add or replace (an upsert) the vectors of ``ids`` (scalar ``fields`` are not
        kept: the records filter)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).ravel()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.info.dim:
            raise ValueError(f"vectors must be (n, {self.info.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if len(ids) == 0:
            return
        ids, vectors = _last_of_each(ids, vectors)
        with self._lock:
            self._engine.add(ids, vectors)

    def remove(self, ids: Iterable[int]) -> int:
        arr = np.unique(np.fromiter(ids, dtype=np.int64))
        if len(arr) == 0:
            return 0
        with self._lock:
            return self._engine.remove(arr)

    def ids(self) -> np.ndarray:
        with self._lock:
            return self._engine.ids()

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids``, in that order (``VectorNotFound`` if one is
        absent)."""
        with self._lock:
            rows = [self._engine.reconstruct(int(i)) for i in np.asarray(ids).ravel()]
        return np.stack(rows) if rows else np.empty((0, self.info.dim), np.float32)

    def fresh(self, info: IndexInfo | None = None) -> FaissStore:
        """An empty store of ``info`` (default: this one's)."""
        return FaissStore(info or self.info)

    def close(self) -> None:
        """Nothing to let go: the index lives in this process."""

    def drop(self) -> None:
        """Nothing to delete: an unsaved FAISS store is only memory."""

    def reconstruct(self, vector_id: int) -> np.ndarray:
        """The stored vector of ``vector_id`` (ivfpq: its float16 copy); raises
        ``VectorNotFound`` (a KeyError and RuntimeError) when absent."""
        with self._lock:
            return self._engine.reconstruct(int(vector_id))

    # -- search ---------------------------------------------------------------------------
    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, *,
        excluded_ids: np.ndarray | None = None, where: FieldFilter | None = None,
        nprobe: int | None = None, ef_search: int | None = None, rerank: int | None = None,
    ) -> SearchHits:
        """Best ``k`` per query (ids, cosine), -1 / 0.0 padded, among ``allowed_ids`` (all
        when None) less ``excluded_ids``. ``nprobe`` / ``rerank`` (ivfpq) and
        ``ef_search`` (hnsw) override the stored parameters for this call. A filter
        ``where`` is refused: this store filters by id sets only (``native_filters``)."""
        if where:
            raise ValueError("the FAISS store filters by id sets, not by field conditions")
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        options = {"nprobe": nprobe, "ef_search": ef_search, "rerank": rerank}
        with self._lock:
            n = len(self)
            if n == 0 or k <= 0:
                return _padded(np.zeros((len(queries), 0), np.float32),
                               np.zeros((len(queries), 0), np.int64), max(k, 0))
            allowed = None
            if allowed_ids is not None:
                allowed = np.unique(np.asarray(allowed_ids, dtype=np.int64))
            excluded = None
            if excluded_ids is not None and len(excluded_ids):
                excluded = np.unique(np.asarray(excluded_ids, dtype=np.int64))
                if allowed is not None:
                    allowed, excluded = np.setdiff1d(allowed, excluded, assume_unique=True), None
                elif len(excluded) > OVERFETCH_MAX:
                    allowed = np.setdiff1d(self._engine.ids(), excluded, assume_unique=True)
                    excluded = None
            k_eff = min(k + (0 if excluded is None else len(excluded)), n)
            if not self._engine.approximate:
                scores, ids = self._engine.search(queries, k_eff, allowed, options)
            else:
                scores, ids = self._approximate(queries, k_eff, allowed, options)
            if excluded is not None:
                dropped = np.isin(ids, excluded)
                scores, ids = top_k(np.where(dropped, -np.inf, scores),
                                    np.where(dropped, -1, ids), k)
        return _padded(scores, ids, k)

    def _approximate(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
                     options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        engine = self._engine
        if allowed is not None:
            allowed = allowed[engine.contains(allowed)]
            if len(allowed) <= EXACT_FILTER_MAX:
                return exact_top_k(engine, queries, k, allowed)
        scores, ids = engine.search(queries, k, allowed, options)
        wanted = min(k, len(engine) if allowed is None else len(allowed))
        short = np.flatnonzero((ids >= 0).sum(axis=1) < wanted)
        if len(short):
            candidates = engine.ids() if allowed is None else allowed
            s, i = exact_top_k(engine, queries[short], k, candidates)
            scores, ids = _widen(scores, k), _widen(ids, k, -1)
            scores[short, : s.shape[1]], ids[short, : i.shape[1]] = s, i
        return scores, ids

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Atomically write header and index to ``path`` (side files first)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            blob, state, arrays = self._engine.to_file(path)
            content = fileformat.IndexFile(self.info, blob, state, arrays)
        fileformat.write(path, content)
        with self._lock:
            self._engine.after_save(path)

    @staticmethod
    def read_info(path: Path) -> IndexInfo:
        return fileformat.read_info(path)

    @staticmethod
    def side_files(path: Path) -> list[Path]:
        """The files beside ``path`` that the saved index names (ivfpq's segments of
        exact vectors; none for the other kinds). Segments are immutable: a copy of the
        index file and of these is a whole saved index."""
        with open(path, "rb") as fh:
            _, header = fileformat.read_header(fh, path)
        return [path.parent / name for name in side_file_names(header)]

    @staticmethod
    def copy_saved(path: Path, target: Path, attempts: int = 5) -> tuple[int, IndexInfo]:
        """Copy the index saved at ``path`` and its side files to ``target`` while writers
        may save: all are opened first (a save renames a new file into place, so an open
        one stays whole, and segments never change), then copied. How many files were
        copied and the index's info; ``IndexChanging`` when saves kept replacing a
        segment between the reads."""
        for _ in range(attempts):
            opened: list[tuple[Path, BinaryIO]] = []
            try:
                main = open(path, "rb")  # noqa: SIM115 - closed below
                opened.append((target, main))
                _, header = fileformat.read_header(main, path)
                main.seek(0)
                for name in side_file_names(header):
                    opened.append((target.parent / name, open(path.parent / name, "rb")))
            except FileNotFoundError:  # a save replaced a segment meanwhile: read anew
                for _, fh in opened:
                    fh.close()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            for out_path, fh in opened:
                with fh, open(out_path, "wb") as out:
                    shutil.copyfileobj(fh, out, 1 << 20)
            return len(opened), IndexInfo(**header["info"])
        raise IndexChanging(f"the index at {path} kept changing; try again")

    @classmethod
    def load(cls, path: Path, expect: IndexInfo | None = None) -> FaissStore:
        """Read a saved store; refuse one made by another model when ``expect`` is given."""
        info = cls.read_info(path)
        if expect is not None and (
            info.model_version != expect.model_version or info.dim != expect.dim
        ):
            raise IndexMismatchError(
                f"the index was built with model {info.model_version} (dim {info.dim}) but the "
                f"loaded model is {expect.model_version} (dim {expect.dim}); "
                "run `tmsearch reindex` to rebuild it with the current model"
            )
        content = fileformat.read(path)
        loaders = {"flat": FlatEngine.from_file, "ivfpq": IvfPqEngine.from_file,
                   "hnsw": HnswEngine.from_file}
        if content.info.kind not in loaders:
            raise ValueError(f"{path}: unknown index kind {content.info.kind!r}")
        engine = loaders[content.info.kind](path, content)
        return cls(content.info, engine=engine)

    # -- reporting ------------------------------------------------------------------------
    def memory_bytes(self) -> int:
        """Process memory the index takes (mapped exact vectors are page cache, excluded)."""
        with self._lock:
            return self._engine.nbytes()

    def describe(self) -> dict[str, Any]:
        """For ``tmsearch stats``: kind, its parameters, size and tombstones."""
        with self._lock:
            n = len(self._engine)
            out: dict[str, Any] = {
                "kind": self._engine.kind,
                "vectors": n,
                "memory_bytes": self._engine.nbytes(),
                "tombstones": 0,
            }
            out.update(self._engine.describe())
        out["bytes_per_vector"] = round(out["memory_bytes"] / n, 1) if n else None
        if "fallback_from" in self.info.params:
            out["fallback_from"] = self.info.params["fallback_from"]
            out["fallback_reason"] = self.info.params.get("fallback_reason")
        return out


def _fallback_info(info: IndexInfo, reason: str) -> IndexInfo:
    """Flat in place of the requested kind, saying why in the params."""
    return replace(info, kind="flat",
                   params={"fallback_from": info.kind, "fallback_reason": reason})


def _last_of_each(ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop earlier duplicates of an id within one batch: the last vector wins."""
    _, first_in_reversed = np.unique(ids[::-1], return_index=True)
    if len(first_in_reversed) == len(ids):
        return ids, vectors
    keep = np.sort(len(ids) - 1 - first_in_reversed)
    return ids[keep], vectors[keep]


class IndexChanging(RuntimeError):
    """A copy of the saved index could not be taken: saves kept replacing its files."""


def side_file_names(header: dict[str, Any]) -> list[str]:
    """Names of the side files an index file's header (``fileformat.read_header``) names."""
    return [name for value in header.get("state", {}).values() if isinstance(value, dict)
            for name, _ in value.get("segments", [])]


def _widen(a: np.ndarray, k: int, fill: float = -np.inf) -> np.ndarray:
    if a.shape[1] >= k:
        return a.copy()
    return np.pad(a, ((0, 0), (0, k - a.shape[1])), constant_values=fill)


def _padded(scores: np.ndarray, ids: np.ndarray, k: int) -> SearchHits:
    scores, ids = _widen(scores, k), _widen(ids.astype(np.int64), k, -1)
    scores = np.where(ids >= 0, scores, 0.0)
    return SearchHits(ids[:, :k].astype(np.int64), scores[:, :k].astype(np.float32))
