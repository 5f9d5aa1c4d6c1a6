"""Exact search: every vector kept as float32 behind an id map (1 KiB a vector at dim 256).

Scanning the vectors is memory-bound (140k vectors of dim 256 are 143 MB read per query).
FAISS scores fewer than 20 queries one query at a time, so each view of a query reads
the whole matrix again (140,933 vectors: 14.5 ms for one view, 22.5 ms for three on this
project's 2-core machine); one matrix product over the FAISS storage (a zero-copy torch
view) reads it once for all of them, on both cores (8 ms for one or two views, 14.5 ms
for three), with the same scores. Filtered searches keep FAISS's id selector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch

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
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            return self.index.search(queries, k, params=params)
        flat = faiss.downcast_index(self.index.index)
        stored = torch.from_numpy(
            faiss.rev_swig_ptr(flat.get_xb(), len(self) * self.dim).reshape(-1, self.dim))
        asked = torch.from_numpy(queries)
        if len(asked) == 1:  # a matrix product runs on every core, a vector product on one
            asked = asked.repeat(2, 1)
        with torch.inference_mode():
            best = torch.topk(stored @ asked.T, k, dim=0)
        scores = best.values.T[: len(queries)].numpy()
        positions = best.indices.T[: len(queries)].numpy()
        return scores, faiss.rev_swig_ptr(self.index.id_map.data(), len(self))[positions]

    def to_file(self, path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        return faiss.serialize_index(self.index), {}, {}

    def after_save(self, path: Path) -> None:
        pass

    def nbytes(self) -> int:
        return len(self) * (self.dim * 4 + 8 + _REV_MAP_BYTES)

    def describe(self) -> dict[str, Any]:
        return {}
