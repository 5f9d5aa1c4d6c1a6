"""The register's live vector store and the one way writes reach it.

Ingest, removal, re-index and repair share one ``IndexWriter``: one write lock, the count
of changes not yet saved (saved every ``index_save_every``), and while a re-index runs
the log of the writes it must replay on the new index before the swap. Searches read
``store`` as it is at that moment (the swap is one assignment under the lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from index.base import IndexMismatchError, VectorStore
from service.storage.mark_record import MarkRecord
from service.storage.records import RecordStore
from service.storage.vector_fields import vector_fields

#: (operation, ids, vectors) applied while a re-index runs
ReindexLog = list[tuple[str, np.ndarray, np.ndarray | None]]


class IndexWriter:
    """The vector store in use, its lock, what is unsaved and what a re-index must
    replay; the records give a vector's scalar fields to stores that filter by them."""

    def __init__(self, store: VectorStore, path: Path, records: RecordStore, save_every: int,
                 error: IndexMismatchError | None = None) -> None:
        self.store = store
        self.path = path
        self.records = records
        self.save_every = save_every
        self.error = error  # the store was made by another model: only a re-index helps
        self.lock = threading.RLock()
        self.dirty = 0
        self.reindex_log: ReindexLog | None = None

    @property
    def native_filters(self) -> bool:
        """The store filters by the vectors' own fields (Milvus), not by id sets."""
        return self.store.native_filters

    def require_index(self) -> None:
        """Raise the index's mismatch, if it has one: it may not be searched or written."""
        if self.error is not None:
            raise self.error

    def save(self) -> None:
        with self.lock:
            self.store.save(self.path)
            self.dirty = 0

    def changed(self, n: int) -> None:
        """Count ``n`` written marks; save when enough are unsaved."""
        self.dirty += n
        if self.dirty >= self.save_every:
            self.save()

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            owners: dict[int, MarkRecord] | None = None) -> None:
        """Add to the live index, and to the log of a running re-index."""
        self.add_to(self.store, ids, vectors, owners)
        if self.reindex_log is not None:
            self.reindex_log.append(("add", ids, vectors))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove from the live index (and from a running re-index's); how many were."""
        arr = np.fromiter(ids, dtype=np.int64)
        if self.reindex_log is not None:
            self.reindex_log.append(("remove", arr, None))
        return self.store.remove(arr)

    def add_to(self, store: VectorStore, ids: np.ndarray, vectors: np.ndarray,
               owners: dict[int, MarkRecord] | None = None) -> None:
        """``store.add``, with each vector's scalar fields when the store filters by them:
        from ``owners`` (records the caller just wrote), else read from the records."""
        if not store.native_filters:
            store.add(ids, vectors)
            return
        if owners is None:
            owners = self.records.get_by_vector_ids([int(i) for i in ids])
        fields = [vector_fields(owners[int(i)]) if int(i) in owners else None for i in ids]
        known = [n for n, f in enumerate(fields) if f is not None]  # removed since: skipped
        store.add(ids[known], vectors[known], [fields[n] for n in known])

    def swap(self, fresh: VectorStore) -> None:
        """Replay what the re-index logged onto ``fresh``, save it and make it the store
        (the caller holds the lock)."""
        for operation, ids, vectors in self.reindex_log or []:
            if operation == "add":
                assert vectors is not None
                self.add_to(fresh, ids, vectors)
            else:
                fresh.remove(ids)
        fresh.save(self.path)  # Milvus: the alias moves to the new collection
        self.store = fresh
        self.error = None
        self.dirty = 0

    def close(self) -> None:
        """Save what is unsaved and let the store go (Milvus: drop a replaced collection)."""
        with self.lock:
            if self.dirty and self.error is None:
                self.save()
            self.store.close()
