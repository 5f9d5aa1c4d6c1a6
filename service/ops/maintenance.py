"""Keeping the index true to the records: reconcile on open, repair on demand, re-index
with a new model or index kind, and the register's statistics.

The records and the stored images are the source of truth (service/ingest/writer.py);
these operations rebuild the index from them, never the other way round.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexInfo, VectorStore
from index.choice import choose_index
from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.ingest.writer import MarkWriter
from service.marks.pipeline import batched
from service.ops.consistency import check
from service.search.risk import RiskThresholds
from service.settings import Settings
from service.storage.data_lock import DataDirLock
from service.storage.index_writer import IndexWriter
from service.storage.layout import DataDir
from service.storage.stored_marks import StoredMarks


class ReindexRunning(RuntimeError):
    """A re-index was asked for while one runs."""


@dataclass
class ReconcileReport:
    restored: int = 0  # records whose vectors were missing, re-embedded
    dropped: int = 0  # vectors without a record, removed
    unreadable: list[str] = field(default_factory=list)  # records whose image is gone


@dataclass
class RepairReport:
    restored: int = 0  # vectors re-embedded from stored images
    dropped: int = 0  # vectors of no record, removed from the index
    orphans_deleted: int = 0  # stored images (and thumbnails) of no record
    leftovers_deleted: int = 0  # temp files, unnamed index segments, re-index scraps
    unreadable: list[str] = field(default_factory=list)  # marks whose image is gone
    removed: list[str] = field(default_factory=list)  # of those, removed (drop_unreadable)


class Maintenance:
    """Reconcile, repair, re-index and stats of one register's data dir."""

    def __init__(self, index: IndexWriter, writer: MarkWriter, marks: StoredMarks,
                 embedder: Embedder, settings: Settings, lock: DataDirLock,
                 layout: DataDir) -> None:
        self.index = index
        self.writer = writer
        self.marks = marks
        self.records = marks.records
        self.embedder = embedder
        self.settings = settings
        self.lock = lock
        self.layout = layout
        self.data_dir = layout.root

    @staticmethod
    def expected(embedder: Embedder) -> IndexInfo:
        """What an index of this model must say it holds."""
        return IndexInfo(model_version=embedder.version, dim=embedder.dim)

    def reconcile(self) -> ReconcileReport:
        """Make the index hold exactly one vector per record: a record without a vector
        is re-embedded from its stored image, a vector without a record (replaced or
        removed before a crash) is dropped."""
        report = ReconcileReport()
        index = self.index
        with index.lock:
            index.require_index()
            indexed = set(index.store.ids().tolist())
            live = set(self.records.vector_ids())
            stray = indexed - live
            if stray:
                report.dropped = index.store.remove(stray)
            missing = live - indexed
            if missing:
                by_vector = self.records.get_by_vector_ids(sorted(missing))
                records = list({r.id: r for r in by_vector.values()}.values())
                for batch in batched(records, self.settings.batch_size):
                    ids, inputs = [], []
                    for record in batch:
                        try:
                            for vector_id, model_input in self.marks.stored_inputs(record,
                                                                                   missing):
                                ids.append(vector_id)
                                inputs.append(model_input)
                        except Exception:  # noqa: BLE001 - reported, never fatal
                            report.unreadable.append(record.id)
                    if ids:
                        index.add_to(index.store, np.array(ids),
                                     self.embedder.embed_prepared(inputs))
                        report.restored += len(ids)
            if report.dropped or report.restored:
                index.save()
        return report

    def repair(self, drop_unreadable: bool = False) -> RepairReport:
        """Mend what ``service.ops.consistency.check`` finds, with the data dir held alone:
        vectors the index lacks are re-embedded and those it should not hold dropped
        (``reconcile``), stored files no record uses and leftovers of interrupted writes
        are deleted. Marks whose stored image is gone cannot be re-embedded: they are
        removed with ``drop_unreadable``, else listed (ingest them again)."""
        with self.lock.exclusive("repair"), self.index.lock:
            self.index.require_index()
            reconciled = self.reconcile()
            self.index.save()
            found = check(self.layout)
            stored = self.marks.images.files()
            for key in found.orphan_images:
                for path in stored.get(key, []):
                    path.unlink(missing_ok=True)
            for name in found.temp_files:
                path = self.data_dir / name
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            removed = self.writer.remove(found.missing_images) if drop_unreadable else []
        return RepairReport(reconciled.restored, reconciled.dropped, len(found.orphan_images),
                            len(found.temp_files), found.missing_images, removed)

    def reindex(self, on_progress: Callable[[int, int], None] | None = None,
                index: str | None = None, memory_budget: int | None = None) -> int:
        """Re-embed every stored mark with the current model into a new index of the kind
        that ``index`` (default: the settings') and the memory budget call for, then swap.

        Nothing waits for it: searches use the old index until the swap, and marks added,
        updated or removed meanwhile go to the old index and to a log that is replayed on
        the new one before the swap. The swap is one assignment under the write lock,
        after the new index is saved, so no query ever sees a half-built index.
        """
        live = self.index
        with live.lock:
            if live.reindex_log is not None:
                raise ReindexRunning("a re-index is already running")
            live.reindex_log = []
            total = self.records.count()
        vectors_file = live.path.with_name("reindex-vectors.f32")
        try:
            ids, done = self._embed_all(vectors_file, total, on_progress)
            vectors = (np.memmap(vectors_file, np.float32, "r").reshape(-1, self.embedder.dim)
                       if len(ids) else np.empty((0, self.embedder.dim), np.float32))
            plan = choose_index(len(ids), self.embedder.dim,
                                memory_budget or self.settings.memory_budget,
                                index or self.settings.index)
            info = replace(self.expected(self.embedder), kind=plan.kind, params=plan.params)
            fresh = self._build_store(info, ids, vectors)
            del vectors
            with live.lock:
                live.swap(fresh)
                self.records.set_meta("last_reindex",
                                      datetime.now(UTC).isoformat(timespec="seconds"))
        finally:
            with live.lock:
                live.reindex_log = None
            vectors_file.unlink(missing_ok=True)
        return done

    def _embed_all(self, vectors_file: Path, total: int,
                   on_progress: Callable[[int, int], None] | None) -> tuple[np.ndarray, int]:
        """Every stored mark's vectors, written to ``vectors_file`` (memory stays bounded
        whatever the register's size); returns their ids and the number of marks."""
        ids: list[np.ndarray] = []
        done = 0
        vectors_file.parent.mkdir(parents=True, exist_ok=True)
        with open(vectors_file, "wb") as out:
            for batch in batched(self.records.iter_all(), self.settings.batch_size):
                batch_ids, inputs = [], []
                for record in batch:
                    try:
                        for vector_id, model_input in self.marks.stored_inputs(record):
                            batch_ids.append(vector_id)
                            inputs.append(model_input)
                    except Exception:  # noqa: BLE001 - an unreadable image is left out;
                        continue  # `reconcile` reports it
                if inputs:
                    out.write(self.embedder.embed_prepared(inputs).tobytes())
                    ids.append(np.array(batch_ids, dtype=np.int64))
                done += len(batch)
                if on_progress:
                    on_progress(done, total)
        return (np.concatenate(ids) if ids else np.empty(0, np.int64)), done

    def _build_store(self, info: IndexInfo, ids: np.ndarray, vectors: np.ndarray
                     ) -> VectorStore:
        """A new store holding ``vectors``, not yet the register's (a re-index's)."""
        if not self.index.native_filters:
            return FaissStore.build(info, ids, vectors, workdir=self.index.path.parent)
        fresh = self.index.store.fresh(info)
        try:
            for start in range(0, len(ids), 8192):
                self.index.add_to(fresh, ids[start:start + 8192],
                                  np.asarray(vectors[start:start + 8192]))
        except BaseException:
            fresh.drop()
            raise
        return fresh

    def stats(self, risk: RiskThresholds, include_unpublished: bool = True) -> dict[str, Any]:
        """The register at a glance. Without unpublished marks, the counts are those of
        published marks and the vector count is left out (it would count the others)."""
        store = self.index.store
        on_disk = None
        if not self.index.native_filters and self.index.path.is_file():
            on_disk = FaissStore.read_info(self.index.path).model_version
        return {
            "data_dir": str(self.data_dir),
            "marks": self.records.count(include_unpublished),
            "marks_with_words": self.records.count_with_words(include_unpublished),
            "vectors": len(store) if include_unpublished else None,
            "model_version": self.embedder.version,
            "model_trained": bool(self.embedder.meta.get("trained", False)),
            "index_model_version": on_disk or store.info.model_version,
            "index_type": store.info.kind,
            "records": self.records.backend,
            "index": {k: v for k, v in store.describe().items() if k != "kind"},
            "dim": self.embedder.dim,
            "device": str(self.embedder.device),
            "needs_reindex": self.index.error is not None,
            "risk_thresholds": f"high >= {risk.high}, medium >= {risk.medium} "
                               f"({risk.source})",
            "last_ingest": self.records.get_meta("last_ingest"),
            "last_reindex": self.records.get_meta("last_reindex"),
        }
