"""Exact inner-product search with FAISS behind an id map.

Vectors are unit length, so inner product is cosine similarity. The store is saved as one
file written atomically (temp file, fsync, rename): a JSON header with the model version
that made the vectors, then the serialised FAISS index. One file means a crash can never
pair an index with the header of another.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

from index.base import IndexInfo, IndexMismatchError, SearchHits

INDEX_FILE = "vectors.tmsi"
_MAGIC = b"TMSI1\n"


class FaissStore:
    """A flat (exact) FAISS index with stable int64 ids; thread-safe for one writer."""

    def __init__(self, info: IndexInfo, index: faiss.Index | None = None) -> None:
        self.info = info
        self._index = index if index is not None else faiss.IndexIDMap2(
            faiss.IndexFlatIP(info.dim)
        )
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.info.dim:
            raise ValueError(f"vectors must be (n, {self.info.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        if len(ids) == 0:
            return
        with self._lock:
            self._index.remove_ids(faiss.IDSelectorBatch(ids))  # add is an upsert
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: Iterable[int]) -> int:
        arr = np.fromiter(ids, dtype=np.int64)
        if len(arr) == 0:
            return 0
        with self._lock:
            return int(self._index.remove_ids(faiss.IDSelectorBatch(arr)))

    def ids(self) -> np.ndarray:
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def reconstruct(self, vector_id: int) -> np.ndarray:
        with self._lock:
            return self._index.reconstruct(int(vector_id))

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> SearchHits:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        with self._lock:
            n = len(self)
            k_eff = max(1, min(k, n)) if n else 1
            if n == 0:
                return SearchHits(
                    np.full((len(queries), k), -1, np.int64),
                    np.zeros((len(queries), k), np.float32),
                )
            params = None
            if allowed_ids is not None:
                selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, np.int64))
                params = faiss.SearchParameters(sel=selector)
            scores, ids = self._index.search(queries, k_eff, params=params)
        if k_eff < k:
            pad = k - k_eff
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=0.0)
        return SearchHits(ids.astype(np.int64), scores.astype(np.float32))

    def save(self, path: Path) -> None:
        """Atomically write header and index to ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            blob = faiss.serialize_index(self._index)
            header = json.dumps(asdict(self.info)).encode()
        with _atomic_writer(path) as fh:
            fh.write(_MAGIC + len(header).to_bytes(8, "little") + header)
            fh.write(memoryview(blob))

    @staticmethod
    def read_info(path: Path) -> IndexInfo:
        with open(path, "rb") as fh:
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise ValueError(f"{path} is not a tmsearch index file")
            size = int.from_bytes(fh.read(8), "little")
            return IndexInfo(**json.loads(fh.read(size)))

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
        data = path.read_bytes()
        offset = len(_MAGIC) + 8 + int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 8], "little")
        blob = np.frombuffer(data, dtype=np.uint8, offset=offset)
        return cls(info, faiss.deserialize_index(blob))


@contextmanager
def _atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write to a temp file beside ``path``; rename over it only once fully on disk."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
