"""The vector-store interface the register talks to, whatever engine sits behind it.

Vectors are keyed by int64 ids that the record store hands out (an id map, never list
positions), so removing a mark never renumbers the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from index.field_filter import FieldFilter


class IndexMismatchError(RuntimeError):
    """The index on disk was made by another model (or dimension) than the one loaded."""


class IndexIncompleteError(IndexMismatchError):
    """A file the index on disk needs is missing or short; like a model mismatch, only a
    re-index makes it usable again."""


@dataclass
class IndexInfo:
    """What is stored with an index so it is never mixed with another model's vectors."""

    model_version: str
    dim: int
    kind: str = "flat"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHits:
    """Per query: ids (best first, -1 padding) and their cosine similarities."""

    ids: np.ndarray  # (Q, k) int64
    scores: np.ndarray  # (Q, k) float32


@runtime_checkable
class VectorStore(Protocol):
    """What the register asks of a vector store: the embedded FAISS one
    (``index.faiss_store``) or a Milvus server (``index.milvus_store``). Every capability
    the register uses is declared here; ``native_filters`` says whether the store keeps
    scalar fields beside the vectors (``fields`` on ``add``) and filters by conditions on
    them (``where`` on ``search``, ``index.field_filter``; Milvus), or filters by id sets
    only (FAISS)."""

    info: IndexInfo
    native_filters: bool

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[dict[str, Any]] | None = None) -> None:
        """Upsert by id (``fields``: each vector's scalar fields, when the store keeps
        them)."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Delete by id; how many were there."""
        ...

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None, *,
        excluded_ids: np.ndarray | None = None, where: FieldFilter | None = None,
    ) -> SearchHits:
        """Best ``k`` per query among ``allowed_ids`` (all: None) less ``excluded_ids``,
        where every condition of ``where`` holds (stores with ``native_filters`` only)."""
        ...

    def ids(self) -> np.ndarray: ...

    def reconstruct(self, vector_id: int) -> np.ndarray:
        """The stored vector; VectorNotFound if there is none."""
        ...

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` (all present), in that order."""
        ...

    def fresh(self, info: IndexInfo | None = None) -> VectorStore:
        """An empty store of the same engine (a re-index fills it, then it is swapped in)."""
        ...

    def save(self, path: Path) -> None:
        """Make what was written durable (FAISS: the index file at ``path``)."""
        ...

    def close(self) -> None:
        """Let go of what the store holds (Milvus: collections a re-index replaced)."""
        ...

    def drop(self) -> None:
        """Delete this store's data (an unfinished re-index's new store)."""
        ...

    def describe(self) -> dict[str, Any]: ...

    def memory_bytes(self) -> int:
        """Memory the store takes in this process."""
        ...


class VectorNotFound(KeyError, RuntimeError):
    """No vector with that id (a KeyError, and a RuntimeError as FAISS raised before)."""
