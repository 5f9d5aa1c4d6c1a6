"""The register's live vector store and the one way writes reach it.

Ingest, removal, re-index and repair share one ``IndexWriter``: one write lock, the count
of changes not yet saved (saved every ``index_save_every``), and while a re-index runs
the log of the writes it must replay on the new index before the swap. Searches read
``store`` as it is at that moment (the swap is one assignment under the lock).

With the FAISS store, every process holds the index in its own memory, so the writer
also follows the vector log (service/storage/vector_log.py): ``follow`` applies what
other processes wrote since it last looked (a running server calls it every few seconds),
and ``save`` follows first, under a lock that one process at a time holds, so that a
saved index always holds every process's writes and two saves never lose each other's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from index.base import IndexMismatchError, VectorStore
from service.storage import vector_log
from service.storage.mark_record import MarkRecord
from service.storage.records import RecordStore
from service.storage.vector_fields import vector_fields

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tmsearch.index")
SAVE_LOCK = ".save.lock"  # beside the index file: one saving process at a time

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
        # the vector log: only for a store in this process's memory (not Milvus)
        self.log_as: str | None = None if store.native_filters else uuid.uuid4().hex[:16]
        self.log_seq = vector_log.saved_seq(path) if self.log_as else 0
        self._own_applied_upto = 0  # after a reload: own rows up to here are applied too
        self._stop_following: threading.Event | None = None

    def start_following(self, every_s: float) -> None:
        """``follow`` every ``every_s`` seconds in a background thread, until ``close``."""
        if self.log_as is None or self._stop_following is not None:
            return
        stop = self._stop_following = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.follow()
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    log.exception("following other processes' writes failed")

        threading.Thread(target=loop, name="index-follower", daemon=True).start()

    # -- other processes' writes ---------------------------------------------------------
    def follow(self) -> int:
        """Apply what other processes wrote since the last look; how many rows. A log
        pruned past where this process stands, or a ``reload`` row, loads the saved
        index again."""
        if self.log_as is None or self.error is not None:
            return 0
        applied = 0
        with self.lock:
            with self.records.connection() as conn:
                behind = self.log_seq < vector_log.pruned_upto(conn)
            if behind:
                self._reload()
            with self.records.connection() as conn:
                entries = vector_log.since(conn, self.log_seq)
            while entries:
                applied += self._apply(entries)
                with self.records.connection() as conn:
                    entries = vector_log.since(conn, self.log_seq)
        return applied

    def _apply(self, entries: list[vector_log.LogEntry]) -> int:
        """Others' adds, and every remove (ours too: a remove of ours may follow an add of
        theirs that this process had not seen yet), in log order."""
        adds: dict[int, np.ndarray] = {}
        count = 0

        def flush() -> None:
            if adds:
                self.add(np.fromiter(adds, np.int64, len(adds)), np.stack(list(adds.values())))
                adds.clear()

        dim = self.store.info.dim
        for entry in entries:
            self.log_seq = entry.seq
            own = entry.writer == self.log_as and entry.seq > self._own_applied_upto
            if entry.op == vector_log.RELOAD and not own:
                adds.clear()
                self._reload()
                count += 1
            elif entry.op == vector_log.REMOVE and entry.vector_id is not None:
                adds.pop(entry.vector_id, None)
                flush()
                self.remove([entry.vector_id])
                count += 1
            elif entry.op == vector_log.ADD and not own and entry.vector is not None:
                if entry.vector.shape[0] != dim:  # another model's: reconcile re-embeds
                    log.warning("vector %s in the log has dim %s, not %s", entry.vector_id,
                                entry.vector.shape[0], dim)
                    continue
                adds[int(entry.vector_id)] = entry.vector  # type: ignore[arg-type]
                count += 1
        flush()
        return count

    def _reload(self) -> None:
        """The saved index again (another process replaced it, or the log moved on)."""
        from index.faiss_store import FaissStore

        with self.records.connection() as conn:
            head = vector_log.head(conn)
        if self.path.is_file():
            self.store = FaissStore.load(self.path, expect=self.store.info)
        self.log_seq = vector_log.saved_seq(self.path)
        self._own_applied_upto = head  # rows up to now, ours too, are not in memory yet
        self.dirty = 0

    @contextlib.contextmanager
    def _saving(self) -> Iterator[None]:
        """One process at a time between following the log and writing the index."""
        if fcntl is None or self.log_as is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.parent / SAVE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @property
    def native_filters(self) -> bool:
        """The store filters by the vectors' own fields (Milvus), not by id sets."""
        return self.store.native_filters

    def require_index(self) -> None:
        """Raise the index's mismatch, if it has one: it may not be searched or written."""
        if self.error is not None:
            raise self.error

    def save(self) -> None:
        """Write the index file (FAISS: with every process's writes, see module doc)."""
        with self.lock, self._saving():
            self.follow()
            self.store.save(self.path)
            self.dirty = 0
            if self.log_as is not None:
                vector_log.write_saved_seq(self.path, self.log_seq)
                with self.records.transaction() as conn:
                    vector_log.prune(conn, self.log_seq)

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
        self.store = fresh
        self.error = None
        with self._saving():
            self.follow()  # what other processes wrote meanwhile, onto the new index
            fresh.save(self.path)  # Milvus: the alias moves to the new collection
            if self.log_as is not None:  # the others load the new index
                with self.records.transaction() as conn:
                    vector_log.append_reload(conn, self.log_as)
                    self.log_seq = vector_log.head(conn)
                vector_log.write_saved_seq(self.path, self.log_seq)
        self.dirty = 0

    def close(self) -> None:
        """Save what is unsaved and let the store go (Milvus: drop a replaced collection)."""
        if self._stop_following is not None:
            self._stop_following.set()
        with self.lock:
            if self.dirty and self.error is None:
                self.save()
            self.store.close()
