"""Exact search: every vector kept as float32 behind an id map (1 KiB a vector at dim 256)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.base import VectorNotFound
from index.fileformat import IndexFile

# IndexIDMap2 keeps a reverse hash map (id -> position) that is not serialised: about
# 40 bytes an entry in a libstdc++ unordered_map, counted in ``nbytes``.
_REV_MAP_BYTES = 40


class FlatEngine:
    kind = "flat"
    approximate = False

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def from_file(cls, path: Path, content: IndexFile) -> FlatEngine:
        return cls(content.info.dim, faiss.deserialize_index(content.faiss_blob))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.remove_ids(faiss.IDSelectorBatch(ids))  # add is an upsert
        self.index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        return np.isin(ids, self.ids())

    def reconstruct(self, vector_id: int) -> np.ndarray:
        try:
            return self.index.reconstruct(int(vector_id))
        except RuntimeError as exc:
            raise VectorNotFound(vector_id) from exc

    def exact_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = self.contains(ids)
        out = np.zeros((len(ids), self.dim), np.float32)
        for i in np.flatnonzero(found):
            out[i] = self.index.reconstruct(int(ids[i]))
        return out, found

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        params = None
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(allowed)
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def to_file(self, path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        return faiss.serialize_index(self.index), {}, {}

    def after_save(self, path: Path) -> None:
        pass

    def nbytes(self) -> int:
        return len(self) * (self.dim * 4 + 8 + _REV_MAP_BYTES)

    def describe(self) -> dict[str, Any]:
        return {}
