"""HNSW graph search: fast and accurate, but float32 vectors plus a graph (about 1.3 KiB a
vector at dim 256, M=32), so it buys speed, not memory.

FAISS cannot delete from an HNSW graph. A removed or replaced vector stays in the graph as
a tombstone: its position is marked dead and every search excludes dead positions with an
``IDSelectorBitmap``; ids are never reused, so a tombstone can never hide a newer vector.
The graph labels are positions (0..n-1); ``labels`` maps them to our ids and a ``RowMap``
maps ids back. A rebuild (``tmsearch reindex``) compacts the tombstones away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.base import VectorNotFound
from index.fileformat import IndexFile
from index.rowmap import RowMap

DEFAULTS: dict[str, Any] = {"M": 32, "efConstruction": 80, "efSearch": 64}


class HnswEngine:
    kind = "hnsw"
    approximate = True

    def __init__(self, dim: int, params: dict[str, Any],
                 index: faiss.IndexHNSWFlat | None = None,
                 labels: np.ndarray | None = None, dead: np.ndarray | None = None) -> None:
        self.dim = dim
        self.params = {**DEFAULTS, **params}
        if index is None:
            index = faiss.IndexHNSWFlat(dim, int(self.params["M"]), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = int(self.params["efConstruction"])
        self.index = index
        n = int(index.ntotal)
        self._labels = np.empty(max(n, 1024), np.int64)
        self._dead = np.zeros(max(n, 1024), bool)
        if n:
            self._labels[:n] = labels if labels is not None else np.arange(n)
            if dead is not None:
                self._dead[:n] = dead
        live = np.flatnonzero(~self._dead[:n])
        self.rowmap = RowMap(self._labels[live], live)
        self._live_bits: np.ndarray | None = None

    @classmethod
    def from_file(cls, path: Path, content: IndexFile) -> HnswEngine:
        index = faiss.deserialize_index(content.faiss_blob)
        n = int(index.ntotal)
        dead = np.unpackbits(content.arrays["dead"], count=n, bitorder="little").astype(bool)
        return cls(content.info.dim, content.info.params, index, content.arrays["labels"], dead)

    @property
    def _n(self) -> int:
        return int(self.index.ntotal)

    @property
    def tombstones(self) -> int:
        return self._n - len(self.rowmap)

    def __len__(self) -> int:
        return len(self.rowmap)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        start, n = self._n, len(ids)
        if start + n > len(self._labels):
            size = max(start + n, 2 * len(self._labels))
            self._labels = np.resize(self._labels, size)
            self._dead = np.concatenate([self._dead[:start], np.zeros(size - start, bool)])
        self.index.add(vectors)
        self._labels[start : start + n] = ids
        previous = self.rowmap.assign(ids, np.arange(start, start + n, dtype=np.int64))
        self._dead[previous[previous >= 0]] = True  # an upsert leaves a tombstone
        self._live_bits = None

    def remove(self, ids: np.ndarray) -> int:
        previous = self.rowmap.delete(ids)
        self._dead[previous[previous >= 0]] = True
        self._live_bits = None
        return int((previous >= 0).sum())

    def ids(self) -> np.ndarray:
        return self.rowmap.items()[0]

    def contains(self, ids: np.ndarray) -> np.ndarray:
        return self.rowmap.lookup(ids) >= 0

    def reconstruct(self, vector_id: int) -> np.ndarray:
        pos = int(self.rowmap.lookup(np.array([vector_id]))[0])
        if pos < 0:
            raise VectorNotFound(vector_id)
        return self.index.reconstruct(pos)

    def exact_vectors(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos = self.rowmap.lookup(ids)
        found = pos >= 0
        out = np.zeros((len(ids), self.dim), np.float32)
        if found.any():
            out[found] = self.index.reconstruct_batch(pos[found])
        return out, found

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None,
               options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        ef = int(options.get("ef_search") or self.params["efSearch"])
        bits = self._bits(allowed)
        selector = None if bits is None else faiss.IDSelectorBitmap(self._n, faiss.swig_ptr(bits))
        params = faiss.SearchParametersHNSW(efSearch=max(ef, k), sel=selector)
        scores, pos = self.index.search(queries, k, params=params)
        ids = np.where(pos >= 0, self._labels[pos.clip(min=0)], -1)
        return scores, ids

    def _bits(self, allowed: np.ndarray | None) -> np.ndarray | None:
        """Bitmap of the positions a search may return (None: all)."""
        n = self._n
        if allowed is not None:
            mask = np.zeros(n, bool)
            pos = self.rowmap.lookup(allowed)
            mask[pos[pos >= 0]] = True
            return np.packbits(mask, bitorder="little")
        if self.tombstones == 0:
            return None
        if self._live_bits is None:
            self._live_bits = np.packbits(~self._dead[:n], bitorder="little")
        return self._live_bits

    def to_file(self, path: Path) -> tuple[np.ndarray, dict[str, Any], dict[str, np.ndarray]]:
        n = self._n
        arrays = {"labels": self._labels[:n].copy(),
                  "dead": np.packbits(self._dead[:n], bitorder="little")}
        return faiss.serialize_index(self.index), {"tombstones": self.tombstones}, arrays

    def after_save(self, path: Path) -> None:
        pass

    def nbytes(self) -> int:
        hnsw = self.index.hnsw
        graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
        return int(self._n * self.dim * 4 + graph + self._labels.nbytes + self._dead.nbytes
                   + self.rowmap.nbytes)

    def describe(self) -> dict[str, Any]:
        return {"M": self.params["M"], "efConstruction": self.params["efConstruction"],
                "efSearch": self.params["efSearch"], "tombstones": self.tombstones}
