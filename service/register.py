"""The register: the one place that knows how a mark becomes a record and a vector, and
how a query image becomes a ranked list of earlier marks.

The CLI, the API and the web page all call this module; none of them touches FAISS or
SQLite directly.

Write order (what keeps records and vectors consistent, whatever moment a crash hits):

1. the stored image and thumbnail are written (content-addressed, atomic rename); a crash
   here leaves at most an orphan file;
2. the records are upserted in one SQLite transaction that also hands out fresh vector
   ids; this commit is the acknowledgement: once it returns, the mark is in the register;
3. the vectors are added to (and replaced vector ids removed from) the in-memory index;
4. the index is persisted by atomic rename every ``index_save_every`` changes, at the end
   of a batch and on close.

On open, :meth:`Register.reconcile` compares the index's ids with the records' vector
ids: a record without a vector is re-embedded from its stored image, a vector without a
record (replaced or removed before the crash) is dropped. SQLite and the stored images
are therefore the source of truth and the index is a checkpointed cache of them.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from index.base import IndexInfo, IndexMismatchError, VectorStore
from index.choice import choose_index
from index.faiss_store import FaissStore
from models.embedder import Embedder
from service.ingest.ledger import IngestLedger
from service.marks.images import ImageLimits
from service.marks.metadata import MarkMetadata, MetadataError, read_metadata_file
from service.marks.ocr import TextReader
from service.marks.pipeline import (
    FileOutcome,
    PreparedImage,
    PreparedQuery,
    PrepareSpec,
    embed_prepared_images,
    iter_image_files,
    map_in_chunks,
    mark_id_for,
    prepare_bytes,
    worker_pool,
)
from service.ops.consistency import check
from service.search.explain import Explanation
from service.search.query import SearchOptions
from service.search.results import Results, SearchResult
from service.search.risk import RiskThresholds
from service.search.searcher import Searcher
from service.settings import Settings
from service.storage.data_lock import DataDirBusy, DataDirLock
from service.storage.image_store import ImageStore
from service.storage.records import MarkRecord, NewImage, RecordStore
from service.storage.stored_marks import StoredMarks
from service.storage.vector_fields import vector_fields

INDEX_FILE = Path("index") / "vectors.tmsi"
RECORDS_FILE = "records.sqlite3"


def records_location(settings: Settings) -> str | Path:
    """The register's records: ``TMSEARCH_DATABASE_URL``, or a SQLite file in the data dir."""
    return settings.database_url or settings.resolved_data_dir / RECORDS_FILE




class ReindexRunning(RuntimeError):
    """A re-index was asked for while one runs."""








@dataclass
class IngestEvent:
    """One file's fate during an ingest, for progress bars and error lines."""

    path: str
    mark_id: str | None
    outcome: str  # added | updated | skipped | failed
    message: str | None = None


@dataclass(frozen=True)
class IngestTask:
    """One file of an ingest: where it is, the mark it becomes and its metadata row."""

    path: str
    rel: str  # relative to the ingested folder, POSIX separators
    mark_id: str
    metadata: MarkMetadata | MetadataError | None = None


@dataclass
class IngestSummary:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


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


class Register:
    """A trademark register held in a data dir: records, stored images and a vector index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.data_dir = settings.resolved_data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock = DataDirLock(self.data_dir)
        try:
            self.lock.shared()
        except DataDirBusy:
            self.lock.close()
            raise
        self.embedder = embedder or Embedder(
            settings.model_path, settings.device, settings.batch_size
        )
        self.records = RecordStore(records_location(settings), settings.database_migrate)
        self.images = ImageStore(self.data_dir)
        self.index_path = self.data_dir / INDEX_FILE
        self.spec = PrepareSpec(
            input_size=self.embedder.config.input_size,
            input_mode=self.embedder.config.input_mode,
            limits=ImageLimits(
                settings.max_upload_bytes, settings.max_image_pixels, settings.stored_image_max_side
            ),
            thumbnail_size=settings.thumbnail_size,
            read_text=settings.read_text,
        )
        self.reader = TextReader() if settings.read_text else None
        self.marks = StoredMarks(self.records, self.images, self.spec)
        self.searcher = Searcher(
            self, self.marks, self.embedder, self.spec, settings, self.reader,
            RiskThresholds.for_model(self.embedder.weights_path, self.embedder.version))
        self._write_lock = threading.RLock()
        self._dirty = 0
        # (operation, ids, vectors) applied while a re-index runs, replayed before its swap
        self._reindex_log: list[tuple[str, np.ndarray, np.ndarray | None]] | None = None
        self.index_error: IndexMismatchError | None = None
        self.store = self._load_store()
        if self.index_error is None:
            self.reconcile()

    # -- search (service/search/searcher.py) and reads (service/storage/stored_marks.py) --
    @property
    def risk(self) -> RiskThresholds:
        """The risk levels results get (calibrated for the loaded model, or defaults)."""
        return self.searcher.risk

    @risk.setter
    def risk(self, thresholds: RiskThresholds) -> None:
        self.searcher.risk = thresholds

    def search(self, data: bytes, k: int | None = None, options: SearchOptions | None = None
               ) -> Results:
        """Marks most similar to the image in ``data``, best first."""
        return self.searcher.search(data, k, options)

    def similar(self, mark_id: str, k: int | None = None, options: SearchOptions | None = None
                ) -> Results:
        """Marks most similar to a mark already in the register (itself left out)."""
        return self.searcher.similar(mark_id, k, options)

    def search_prepared(self, queries: Sequence[PreparedQuery], k: int | None = None,
                        options: SearchOptions | None = None) -> list[Results]:
        """Batch search of prepared queries (see ``Searcher.search_prepared``)."""
        return self.searcher.search_prepared(queries, k, options)

    def search_many(self, queries: Iterable[tuple[str, bytes | Exception]],
                    k: int | None = None, options: SearchOptions | None = None,
                    ) -> Iterator[tuple[str, list[SearchResult] | Exception]]:
        """Many queries, embedded in batches with the model loaded once; order kept."""
        return self.searcher.search_many(queries, k, options)

    def explain(self, result_id: str, data: bytes | None = None, query_id: str | None = None,
                include_unpublished: bool = True) -> Explanation:
        """Which regions of the query and of a result drive their similarity."""
        return self.searcher.explain(result_id, data, query_id, include_unpublished)

    def get(self, mark_id: str, include_unpublished: bool = True) -> MarkRecord:
        """The mark's record; MarkNotFound if there is none or the caller may not see it."""
        return self.marks.get(mark_id, include_unpublished)

    def image(self, mark_id: str, include_unpublished: bool = True) -> tuple[bytes, str]:
        return self.marks.image(mark_id, include_unpublished)

    def thumbnail(self, mark_id: str, include_unpublished: bool = True) -> bytes:
        return self.marks.thumbnail(mark_id, include_unpublished)

    # -- lifecycle ----------------------------------------------------------------------
    def _expected_info(self) -> IndexInfo:
        return IndexInfo(model_version=self.embedder.version, dim=self.embedder.dim)

    @property
    def native_filters(self) -> bool:
        """The store filters by the vectors' own fields (Milvus), not by id sets."""
        return bool(getattr(self.store, "native_filters", False))

    def _load_store(self) -> VectorStore:
        if self.settings.vector_store != "faiss":
            from index.milvus_store import MilvusStore, mismatch

            expect = self._expected_info()
            store = MilvusStore.open(self.settings.vector_store, self.settings.milvus_collection,
                                     expect, self.settings.milvus_consistency,
                                     check_model=False, index=self.settings.milvus_index)
            if (store.info.model_version, store.info.dim) != (expect.model_version, expect.dim):
                self.index_error = mismatch(store.collection, store.info, expect)
            return store
        if not self.index_path.is_file():
            return FaissStore(self._expected_info())
        try:
            return FaissStore.load(self.index_path, expect=self._expected_info())
        except IndexMismatchError as exc:
            self.index_error = exc
            return FaissStore(self._expected_info())

    def close(self) -> None:
        with self._write_lock:
            if self._dirty and self.index_error is None:
                self.save_index()
            if hasattr(self.store, "close"):
                self.store.close()  # Milvus: drop a collection a re-index replaced
            self.records.close()
            self.lock.close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_index(self) -> None:
        with self._write_lock:
            self.store.save(self.index_path)
            self._dirty = 0

    def _changed(self, n: int) -> None:
        self._dirty += n
        if self._dirty >= self.settings.index_save_every:
            self.save_index()

    def require_index(self) -> None:
        """Raise the index's mismatch, if it has one: it may not be searched or written."""
        if self.index_error is not None:
            raise self.index_error

    # -- consistency --------------------------------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """Make the index hold exactly one vector per record (see the module docstring)."""
        report = ReconcileReport()
        with self._write_lock:
            self.require_index()
            indexed = set(self.store.ids().tolist())
            live = set(self.records.vector_ids())
            stray = indexed - live
            if stray:
                report.dropped = self.store.remove(stray)
            missing = live - indexed
            if missing:
                by_vector = self.records.get_by_vector_ids(sorted(missing))
                records = list({r.id: r for r in by_vector.values()}.values())
                for batch in _batched(records, self.settings.batch_size):
                    ids, inputs = [], []
                    for record in batch:
                        try:
                            for vector_id, model_input in self.marks.stored_inputs(record, missing):
                                ids.append(vector_id)
                                inputs.append(model_input)
                        except Exception:  # noqa: BLE001 - reported, never fatal
                            report.unreadable.append(record.id)
                    if ids:
                        self._store_add(self.store, np.array(ids),
                                        self.embedder.embed_prepared(inputs))
                        report.restored += len(ids)
            if report.dropped or report.restored:
                self.save_index()
        return report

    def repair(self, drop_unreadable: bool = False) -> RepairReport:
        """Mend what ``service.ops.consistency.check`` finds, with the data dir held alone:
        vectors the index lacks are re-embedded and those it should not hold dropped
        (``reconcile``), stored files no record uses and leftovers of interrupted writes
        are deleted. Marks whose stored image is gone cannot be re-embedded: they are
        removed with ``drop_unreadable``, else listed (ingest them again)."""
        with self.lock.exclusive("repair"), self._write_lock:
            self.require_index()
            reconciled = self.reconcile()
            self.save_index()
            found = check(self.data_dir, records_location(self.settings), INDEX_FILE)
            stored = self.images.files()
            for key in found.orphan_images:
                for path in stored.get(key, []):
                    path.unlink(missing_ok=True)
            for name in found.temp_files:
                path = self.data_dir / name
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            removed = self.remove(found.missing_images) if drop_unreadable else []
        return RepairReport(reconciled.restored, reconciled.dropped, len(found.orphan_images),
                            len(found.temp_files), found.missing_images, removed)

    # -- writes -------------------------------------------------------------------------
    def _write_batch(
        self, items: Sequence[tuple[str, MarkMetadata, PreparedImage | None, str | None]]
    ) -> list[tuple[MarkRecord, int | None]]:
        """Steps 1-3 of the write order for a batch of marks."""
        previous = self.records.get_many([mark_id for mark_id, _, p, _ in items if p is not None])
        prepared = [p for _, _, p, _ in items if p is not None]
        # the image files are written (and fsynced: disk waits, not CPU) while the model
        # runs on what the workers did not embed
        with ThreadPoolExecutor(max_workers=1) as disk:
            stored = disk.submit(self._store_images, [p for _, _, p, _ in items])
            embed_prepared_images(self.embedder, prepared)
            new_images = stored.result()
        vectors = np.concatenate([p.vectors for p in prepared]) if prepared else None
        results = self.records.upsert(
            (mark_id, meta, image, source)
            for (mark_id, meta, _, source), image in zip(items, new_images, strict=True)
        )
        written = {v: rec for rec, _ in results for v in rec.all_vector_ids()}
        replaced = [old for _, old in results if old is not None]
        replaced += [c.vector_id for old in previous.values() for c in old.components]
        if replaced:
            self._index_remove(replaced)
        if vectors is not None:
            ids = [v for (rec, _), img in zip(results, new_images, strict=True) if img
                   for v in rec.all_vector_ids()]
            self._index_add(np.array(ids, dtype=np.int64), vectors, written)
        if self.native_filters:  # metadata-only changes: the vectors' fields follow them
            kept = np.array([v for (rec, _), img in zip(results, new_images, strict=True)
                             if img is None for v in rec.all_vector_ids()], dtype=np.int64)
            if len(kept):
                self._index_add(kept, self.store.vectors(kept),  # type: ignore[attr-defined]
                                written)
        self._collect_unused_images(previous.values())
        self._changed(len(items))
        return results

    def _store_images(self, prepared: Sequence[PreparedImage | None]) -> list[NewImage | None]:
        """Step 1 of the write order: the image files, before any record names them."""
        present = [image for image in prepared if image is not None]
        keys = iter(self.images.put_many(
            [(image.stored_bytes, image.media_type, image.thumbnail) for image in present]))
        new_images: list[NewImage | None] = []
        for image in prepared:
            if image is None:
                new_images.append(None)
                continue
            parts = tuple((c.kind, c.box) for c, _ in image.components)
            new_images.append(NewImage(image.content_hash, next(keys), image.media_type, parts,
                                       image.colour, image.text))
        return new_images

    def _collect_unused_images(self, records: Iterable[MarkRecord]) -> None:
        """Delete stored files that no record refers to any more (images are shared)."""
        for record in records:
            if not self.records.image_key_in_use(record.image_key):
                self.images.delete(record.image_key, record.media_type)

    def add_mark(
        self, data: bytes, metadata: MarkMetadata, mark_id: str | None = None,
        source: str | None = None,
    ) -> tuple[MarkRecord, bool]:
        """Add or replace one mark from uploaded bytes. Returns ``(record, created)``.

        The bytes are decoded before anything is written, so a bad image changes nothing.
        """
        mark_id = mark_id or metadata.id
        if not mark_id:
            raise MetadataError("a mark needs an id")
        prepared = prepare_bytes(data, self.spec)
        with self._write_lock:
            self.require_index()
            ((record, replaced),) = self._write_batch([(mark_id, metadata, prepared, source)])
        return record, replaced is None

    def remove(self, mark_ids: Iterable[str]) -> list[str]:
        """Remove marks (records first, then vectors, then unshared image files)."""
        with self._write_lock:
            self.require_index()
            removed = self.records.delete(list(dict.fromkeys(mark_ids)))
            self._index_remove(v for r in removed for v in r.all_vector_ids())
            self._collect_unused_images(removed)
            if removed:
                self.save_index()
        return [r.id for r in removed]

    def ingest_folder(
        self,
        folder: Path,
        metadata_file: Path | None = None,
        on_event: Callable[[IngestEvent], None] | None = None,
    ) -> IngestSummary:
        """Add or update every image under ``folder``; unchanged files are skipped.

        Streams: the folder is walked lazily, a chunk of files at a time is prepared in
        the worker processes while the previous one is embedded and written, and what
        the run must remember (metadata rows, mark ids claimed) is kept on disk by an
        :class:`IngestLedger`, so memory does not grow with the folder. Every chunk is
        committed as it goes: an interrupted ingest, run again, skips what it wrote.
        """
        started = time.perf_counter()
        summary = IngestSummary()
        emit = on_event or (lambda _e: None)
        folder = folder.resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"not a folder: {folder}")
        with IngestLedger() as ledger:
            if metadata_file is not None:
                ledger.load_metadata(self._metadata_rows(metadata_file, summary, emit))
            with self._write_lock:
                self.require_index()
                executor, spec = self._ingest_workers()
                try:
                    files = ((str(p), p.relative_to(folder).as_posix())
                             for p in iter_image_files(folder))
                    chunks = _batched(files, self.settings.ingest_chunk)  # bounded memory
                    for outcomes, tasks, existing in self._prepared(chunks, folder, ledger,
                                                                    spec, executor):
                        self._apply_chunk(outcomes, tasks, existing, ledger, summary, emit)
                finally:
                    if executor is not None:
                        executor.shutdown(cancel_futures=True)
                    self.save_index()
                for file, error in ledger.unseen_errors():
                    message = f"{error} (and no such image under {folder})"
                    summary.count("failed")
                    summary.failures.append((file, message))
                    emit(IngestEvent(file, None, "failed", message))
                self.records.set_meta("last_ingest",
                                      datetime.now(UTC).isoformat(timespec="seconds"))
        summary.seconds = time.perf_counter() - started
        return summary

    @staticmethod
    def _metadata_rows(
        metadata_file: Path, summary: IngestSummary, emit: Callable[[IngestEvent], None]
    ) -> Iterator[tuple[str, MarkMetadata | MetadataError]]:
        """The metadata file's rows by file. A row without a file is reported here; a
        file whose row is invalid fails as a whole when it is met (it is not ingested
        under a path-derived id, which would leave a duplicate once the row is fixed)."""
        for file, meta in read_metadata_file(metadata_file):
            if isinstance(meta, MetadataError) and file.startswith("<"):
                summary.count("failed")
                summary.failures.append((file, str(meta)))
                emit(IngestEvent(file, None, "failed", str(meta)))
            else:
                yield file, meta

    def _ingest_workers(self) -> tuple[Executor | None, PrepareSpec]:
        """Decode workers and what they do. On a CPU they embed too, one model thread
        each: the main process embedding beside them made the two fight for the cores
        (its batches ran 5x slower). With a GPU the register embeds in large batches.
        On a Ray cluster (``settings.ray``) the nodes embed, on their CPUs."""
        embed_there = replace(self.spec, embed_with=str(self.embedder.weights_path))
        if self.settings.ray:
            from service.ingest.ray_executor import RayExecutor

            return RayExecutor(self.settings.ray), embed_there
        if self.settings.workers <= 0:
            return None, self.spec
        on_cpu = self.embedder.device.type == "cpu"
        return worker_pool(self.settings.workers), embed_there if on_cpu else self.spec

    def _prepared(
        self, chunks: Iterator[list[tuple[str, str]]], folder: Path, ledger: IngestLedger,
        spec: PrepareSpec, executor: Executor | None,
    ) -> Iterator[tuple[list[FileOutcome], list[IngestTask], dict[str, MarkRecord]]]:
        """Per chunk of ``(path, relative path)``: its metadata rows, mark ids and the
        records they already have (whose content hashes let workers skip unchanged
        files), then the chunk prepared in the workers. The lookup still holds when the chunk
        is written: the write lock is held, and the chunk written in between cannot have
        touched these marks (a mark id is written once a run: ``IngestLedger.claim``)."""
        task_chunks: list[tuple[list[IngestTask], dict[str, MarkRecord]]] = []

        def work() -> Iterator[list[tuple[str, str | None, PrepareSpec]]]:
            for chunk in chunks:
                rows = ledger.metadata_for([rel for _, rel in chunk])
                tasks = [IngestTask(path, rel, _given_id(rows.get(rel))
                                    or mark_id_for(Path(path), folder), rows.get(rel))
                         for path, rel in chunk]
                known = self.records.get_many([t.mark_id for t in tasks])
                task_chunks.append((tasks, known))
                yield [(t.path, known[t.mark_id].content_hash if t.mark_id in known else None,
                        spec) for t in tasks]

        for outcomes in map_in_chunks(work(), executor):
            yield outcomes, *task_chunks.pop(0)

    def _apply_chunk(
        self,
        outcomes: list[FileOutcome],
        tasks: list[IngestTask],
        existing: dict[str, MarkRecord],
        ledger: IngestLedger,
        summary: IngestSummary,
        emit: Callable[[IngestEvent], None],
    ) -> None:
        batch: list[tuple[str, MarkMetadata, PreparedImage | None, str | None]] = []
        batch_rel: list[str] = []
        for outcome, task in zip(outcomes, tasks, strict=True):
            rel, mark_id, row = task.rel, task.mark_id, task.metadata

            def fail(message: str, rel: str = rel, mark_id: str = mark_id) -> None:
                summary.count("failed")
                summary.failures.append((rel, message))
                emit(IngestEvent(rel, mark_id, "failed", message))

            if not ledger.claim(mark_id):
                fail(f"another file in this ingest already has mark id {mark_id!r}")
                continue
            if isinstance(row, MetadataError):
                fail(f"invalid metadata row: {row}")
                continue
            if outcome.error is not None:
                fail(outcome.error)
                continue
            old = existing.get(mark_id)
            meta = row
            if meta is None:
                meta = old.metadata() if old is not None else MarkMetadata()
            if outcome.unchanged:
                assert old is not None
                if _same_metadata(old.metadata(), meta):
                    summary.count("skipped")
                    emit(IngestEvent(rel, mark_id, "skipped"))
                    continue
            batch.append((mark_id, meta, outcome.prepared, rel))
            batch_rel.append(rel)
        if not batch:
            return
        results = self._write_batch(batch)
        for rel, (record, _) in zip(batch_rel, results, strict=True):
            outcome_name = "updated" if record.id in existing else "added"
            summary.count(outcome_name)
            emit(IngestEvent(rel, record.id, outcome_name))

    # -- reads --------------------------------------------------------------------------
    # -- maintenance --------------------------------------------------------------------
    def reindex(self, on_progress: Callable[[int, int], None] | None = None,
                index: str | None = None, memory_budget: int | None = None) -> int:
        """Re-embed every stored mark with the current model into a new index of the kind
        that ``index`` (default: the settings') and the memory budget call for, then swap.

        Nothing waits for it: searches use the old index until the swap, and marks added,
        updated or removed meanwhile go to the old index and to a log that is replayed on
        the new one before the swap. The swap is one assignment under the write lock, after
        the new index is saved, so no query ever sees a half-built index.
        """
        with self._write_lock:
            if self._reindex_log is not None:
                raise ReindexRunning("a re-index is already running")
            self._reindex_log = []
            total = self.records.count()
        vectors_file = self.index_path.with_name("reindex-vectors.f32")
        try:
            ids, done = self._embed_all(vectors_file, total, on_progress)
            vectors = (np.memmap(vectors_file, np.float32, "r").reshape(-1, self.embedder.dim)
                       if len(ids) else np.empty((0, self.embedder.dim), np.float32))
            plan = choose_index(len(ids), self.embedder.dim,
                                memory_budget or self.settings.memory_budget,
                                index or self.settings.index)
            info = replace(self._expected_info(), kind=plan.kind, params=plan.params)
            fresh = self._build_store(info, ids, vectors)
            del vectors
            with self._write_lock:
                for operation, op_ids, op_vectors in self._reindex_log:
                    if operation == "add":
                        self._store_add(fresh, op_ids, op_vectors)
                    else:
                        fresh.remove(op_ids)
                fresh.save(self.index_path)  # Milvus: the alias moves to the new collection
                self.store = fresh
                self.index_error = None
                self._dirty = 0
                self.records.set_meta("last_reindex",
                                      datetime.now(UTC).isoformat(timespec="seconds"))
        finally:
            with self._write_lock:
                self._reindex_log = None
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
            for batch in _batched(self.records.iter_all(), self.settings.batch_size):
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
        if not self.native_filters:
            return FaissStore.build(info, ids, vectors, workdir=self.index_path.parent)
        fresh = self.store.fresh(info)  # type: ignore[attr-defined]
        try:
            for start in range(0, len(ids), 8192):
                self._store_add(fresh, ids[start:start + 8192],
                                np.asarray(vectors[start:start + 8192]))
        except BaseException:
            fresh.drop()
            raise
        return fresh

    def _store_add(self, store: VectorStore, ids: np.ndarray, vectors: np.ndarray,
                   owners: dict[int, MarkRecord] | None = None) -> None:
        """``store.add``, with each vector's scalar fields when the store filters by them:
        from ``owners`` (records the caller just wrote), else read from the records."""
        if not getattr(store, "native_filters", False):
            store.add(ids, vectors)
            return
        if owners is None:
            owners = self.records.get_by_vector_ids([int(i) for i in ids])
        fields = [vector_fields(owners[int(i)]) if int(i) in owners else None for i in ids]
        known = [n for n, f in enumerate(fields) if f is not None]  # removed since: skipped
        store.add(ids[known], vectors[known], [fields[n] for n in known])

    def _index_add(self, ids: np.ndarray, vectors: np.ndarray,
                   owners: dict[int, MarkRecord] | None = None) -> None:
        """Add to the live index, and to the log of a running re-index."""
        self._store_add(self.store, ids, vectors, owners)
        if self._reindex_log is not None:
            self._reindex_log.append(("add", ids, vectors))

    def _index_remove(self, ids: Iterable[int]) -> int:
        arr = np.fromiter(ids, dtype=np.int64)
        if self._reindex_log is not None:
            self._reindex_log.append(("remove", arr, None))
        return self.store.remove(arr)

    def stats(self, include_unpublished: bool = True) -> dict[str, Any]:
        """The register at a glance. Without unpublished marks, the counts are those of
        published marks and the vector count is left out (it would count the others)."""
        on_disk = None
        if not self.native_filters and self.index_path.is_file():
            on_disk = FaissStore.read_info(self.index_path).model_version
        return {
            "data_dir": str(self.data_dir),
            "marks": self.records.count(include_unpublished),
            "marks_with_words": self.records.count_with_words(include_unpublished),
            "vectors": len(self.store) if include_unpublished else None,
            "model_version": self.embedder.version,
            "model_trained": bool(self.embedder.meta.get("trained", False)),
            "index_model_version": on_disk or self.store.info.model_version,
            "index_type": self.store.info.kind,
            "records": self.records.backend,
            "index": {k: v for k, v in self.store.describe().items() if k != "kind"},
            "dim": self.embedder.dim,
            "device": str(self.embedder.device),
            "needs_reindex": self.index_error is not None,
            "risk_thresholds": f"high >= {self.risk.high}, medium >= {self.risk.medium} "
                               f"({self.risk.source})",
            "last_ingest": self.records.get_meta("last_ingest"),
            "last_reindex": self.records.get_meta("last_reindex"),
        }


def _given_id(row: MarkMetadata | MetadataError | None) -> str | None:
    return row.id if isinstance(row, MarkMetadata) else None


def _same_metadata(a: MarkMetadata, b: MarkMetadata) -> bool:
    return a.model_dump(exclude={"id"}) == b.model_dump(exclude={"id"})


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


