"""What every index kind provides to ``FaissStore``, and exact scoring shared by them.

An engine holds one kind of FAISS index and whatever it needs beside it (tombstones,
exact vectors on disk). Validation, locking, padding and the filter fallback live in the
store, so each engine stays small. Callers pass unique ids and float32 (n, dim) arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.fileformat import IndexFile

EXACT_CHUNK = 65536  # rows scored at a time when an allowed set is scored exactly


class Engine(Protocol):
    kind: str
    approximate: bool  # may miss true neighbours: filters get the exact fallback

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: np.ndarray) -> int: ...

    def ids(self) -> np.ndarray: ...

    def contains(self, ids: np.ndarray) -> np.ndarray: ...

    def reconstruct(self, vector_id: int) -> np.ndarray: ...

    def exact_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, found mask) of ``ids``, as exact as the engine keeps them."""
        ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), best first, -1 padded; ``allowed`` holds present ids only."""
        ...

    def to_file(self, path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        """(FAISS blob, state, arrays) to save at ``path``; side files are written first."""
        ...

    def after_save(self, path: Path) -> None: ...

    def nbytes(self) -> int:
        """Bytes the index holds in process memory (not page cache)."""
        ...

    def describe(self) -> dict[str, Any]: ...


class EngineLoader(Protocol):
    def __call__(self, path: Path, content: IndexFile) -> Engine: ...


def exact_top_k(engine: Engine, queries: np.ndarray, k: int,
                candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Score ``queries`` against every candidate id exactly; best ``k`` per query."""
    q = len(queries)
    best_s = np.full((q, 0), -np.inf, np.float32)
    best_i = np.full((q, 0), -1, np.int64)
    for start in range(0, len(candidates), EXACT_CHUNK):
        chunk = candidates[start : start + EXACT_CHUNK]
        vectors, found = engine.exact_vectors(chunk)
        scores = queries @ vectors.T
        scores[:, ~found] = -np.inf
        best_s = np.concatenate([best_s, scores], axis=1)
        best_i = np.concatenate([best_i, np.broadcast_to(chunk, (q, len(chunk)))], axis=1)
        best_s, best_i = top_k(best_s, best_i, k)
    return best_s, best_i


def top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` of each row (descending), -1 / -inf where a row has fewer."""
    if scores.shape[1] > k:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        scores = np.take_along_axis(scores, part, axis=1)
        ids = np.take_along_axis(ids, part, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    scores = np.take_along_axis(scores, order, axis=1)
    ids = np.where(np.isfinite(scores), np.take_along_axis(ids, order, axis=1), -1)
    return scores, ids
