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
from PIL import Image

from index.base import IndexInfo, IndexMismatchError, VectorStore
from index.choice import choose_index
from index.faiss_store import FaissStore
from models.embedder import Embedder
from models.preprocess import prepare
from service.colour import SearchMode
from service.components import MAX_FIGURES, Component
from service.consistency import check
from service.data_lock import DataDirBusy, DataDirLock
from service.explain import Explanation
from service.explain import explain as explain_pair
from service.image_store import ImageStore
from service.images import ImageLimits, decode_image
from service.ingest_ledger import IngestLedger
from service.metadata import MarkMetadata, MetadataError, read_metadata_file
from service.ocr import TextReader
from service.pipeline import (
    FileOutcome,
    PreparedImage,
    PreparedQuery,
    PrepareSpec,
    component_inputs,
    embed_prepared_images,
    iter_image_files,
    map_in_chunks,
    mark_id_for,
    prepare_bytes,
    query_inputs,
    worker_pool,
)
from service.query import QueryError, SearchFilters, SearchOptions
from service.ranking import (
    MIN_WORDS_SIMILARITY,
    QueryRow,
    agreement_row,
    crowding,
    crowding_penalties,
    final_score,
    may_reach,
    query_rows,
    row_evidence,
    shape_score,
    with_agreement,
)
from service.records import ComponentRecord, MarkRecord, NewImage, RecordStore
from service.risk import RiskLevel, RiskThresholds
from service.settings import Settings
from service.text_match import normalise_text, text_similarity
from service.vector_fields import filter_expression, vector_fields

INDEX_FILE = Path("index") / "vectors.tmsi"
# index hits fetched per wanted mark: a mark has up to 1 + MAX_FIGURES vectors
COMPONENT_DEPTH = 1 + MAX_FIGURES
RECORDS_FILE = "records.sqlite3"


def records_location(settings: Settings) -> str | Path:
    """The register's records: ``TMSEARCH_DATABASE_URL``, or a SQLite file in the data dir."""
    return settings.database_url or settings.resolved_data_dir / RECORDS_FILE


class MarkNotFound(KeyError):
    """No mark with that id."""


class ReindexRunning(RuntimeError):
    """A re-index was asked for while one runs."""


@dataclass
class SearchResult:
    """One earlier mark found by a search, and what matched: which of its components
    (None: the whole mark) and which part of the query (None: the whole query)."""

    record: MarkRecord
    score: float
    component: ComponentRecord | None = None
    query_part: Component | None = None
    shape_score: float | None = None  # the shape similarity alone, before colour and words
    risk: RiskLevel = RiskLevel.low  # from the score (service/risk.py)
    words: WordsMatch | None = None  # the query's words against the mark's, when both have

    def match(self) -> dict[str, Any]:
        """Which component of the result matched which part of the query, and the words
        (JSON-ready)."""
        c, q, w = self.component, self.query_part, self.words
        return {"component": c.kind if c else "whole", "box": list(c.box) if c else None,
                "query_part": q.kind if q else "whole", "query_box": list(q.box) if q else None,
                "words": None if w is None else {"query": w.query, "mark": w.mark,
                                                 "similarity": round(w.similarity, 4)}}


class Results(list[SearchResult]):
    """One query's results, best first, and the query's words as searched with."""

    query_text: str = ""


@dataclass(frozen=True)
class WordsMatch:
    """The query's words, the mark's verbal element and how alike they are (0..1)."""

    query: str
    mark: str
    similarity: float


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
        self.risk = RiskThresholds.for_model(self.embedder.weights_path, self.embedder.version)
        self.reader = TextReader() if settings.read_text else None
        self._write_lock = threading.RLock()
        self._dirty = 0
        # (operation, ids, vectors) applied while a re-index runs, replayed before its swap
        self._reindex_log: list[tuple[str, np.ndarray, np.ndarray | None]] | None = None
        self.index_error: IndexMismatchError | None = None
        self.store = self._load_store()
        if self.index_error is None:
            self.reconcile()

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

    def _require_index(self) -> None:
        if self.index_error is not None:
            raise self.index_error

    # -- consistency --------------------------------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """Make the index hold exactly one vector per record (see the module docstring)."""
        report = ReconcileReport()
        with self._write_lock:
            self._require_index()
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
                            for vector_id, model_input in self._stored_inputs(record, missing):
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
        """Mend what ``service.consistency.check`` finds, with the data dir held alone:
        vectors the index lacks are re-embedded and those it should not hold dropped
        (``reconcile``), stored files no record uses and leftovers of interrupted writes
        are deleted. Marks whose stored image is gone cannot be re-embedded: they are
        removed with ``drop_unreadable``, else listed (ingest them again)."""
        with self.lock.exclusive("repair"), self._write_lock:
            self._require_index()
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

    def _stored_spec(self, data: bytes) -> PrepareSpec:
        """Stored images were accepted once already: only the size limit is relaxed."""
        return PrepareSpec(
            self.spec.input_size,
            self.spec.input_mode,
            ImageLimits(max(len(data), 1), self.spec.limits.max_pixels, self.spec.limits.max_side),
            self.spec.thumbnail_size,
            self.spec.read_text,
        )

    def _stored_image(self, record: MarkRecord) -> Image.Image:
        data = self.images.read(record.image_key, record.media_type)
        return decode_image(data, self._stored_spec(data).limits).image

    def _stored_inputs(self, record: MarkRecord, wanted: set[int] | None = None
                       ) -> list[tuple[int, np.ndarray]]:
        """(vector id, network input) for a stored mark's whole image and its components
        (cut by their recorded boxes), limited to ``wanted`` ids when given."""
        image = self._stored_image(record)
        out: list[tuple[int, np.ndarray]] = []
        if wanted is None or record.vector_id in wanted:
            out.append((record.vector_id,
                        prepare(image, self.spec.input_size, self.spec.input_mode)))
        parts = [c for c in record.components if wanted is None or c.vector_id in wanted]
        inputs = component_inputs(image, self.spec, [Component(c.kind, c.box) for c in parts])
        out += [(c.vector_id, model_input) for c, (_, model_input) in zip(parts, inputs,
                                                                          strict=True)]
        return out

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
            self._require_index()
            ((record, replaced),) = self._write_batch([(mark_id, metadata, prepared, source)])
        return record, replaced is None

    def remove(self, mark_ids: Iterable[str]) -> list[str]:
        """Remove marks (records first, then vectors, then unshared image files)."""
        with self._write_lock:
            self._require_index()
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
                self._require_index()
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
            from service.ray_executor import RayExecutor

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
    def get(self, mark_id: str, include_unpublished: bool = True) -> MarkRecord:
        """The mark's record; MarkNotFound if there is none, or if it is unpublished and
        the caller may not see unpublished marks (the same answer: no existence leak)."""
        record = self.records.get(mark_id)
        if record is None or not (include_unpublished or record.published):
            raise MarkNotFound(mark_id)
        return record

    def image(self, mark_id: str, include_unpublished: bool = True) -> tuple[bytes, str]:
        record = self.get(mark_id, include_unpublished)
        return self.images.read(record.image_key, record.media_type), record.media_type

    def thumbnail(self, mark_id: str, include_unpublished: bool = True) -> bytes:
        record = self.get(mark_id, include_unpublished)
        return self.images.thumb_path(record.image_key).read_bytes()

    def search(
        self, data: bytes, k: int | None = None, options: SearchOptions | None = None
    ) -> Results:
        """Marks most similar to the image in ``data``, best first."""
        options = options or SearchOptions()
        query = query_inputs(data, self.spec, options.crop, options.rotation_tolerant,
                             self._query_reader(options))
        return self.search_prepared([query], k, options)[0]

    def _query_reader(self, options: SearchOptions) -> TextReader | None:
        """OCR for the query image unless its words are typed or reading is off."""
        return self.reader if options.read_text and options.text is None else None

    def similar(
        self, mark_id: str, k: int | None = None, options: SearchOptions | None = None
    ) -> Results:
        """Marks most similar to a mark already in the register (itself left out)."""
        options = options or SearchOptions()
        record = self.get(mark_id, options.include_unpublished)
        data = self.images.read(record.image_key, record.media_type)
        spec = self._stored_spec(data)
        # the mark's words were read at ingest; a crop may cut them, so it is read again
        reader = self._query_reader(options) if options.crop else None
        query = query_inputs(data, spec, options.crop, options.rotation_tolerant, reader)
        if options.crop is None and options.read_text and options.text is None:
            query = replace(query, text=record.text or "")
        options = replace(options, exclude_ids=options.exclude_ids | {mark_id})
        return self.search_prepared([query], k, options)[0]

    def search_prepared(
        self,
        queries: Sequence[PreparedQuery],
        k: int | None = None,
        options: SearchOptions | None = None,
    ) -> list[Results]:
        """Batch search. Each query is one or more views (prepared network inputs); a mark
        scores its best view on shape, combined with colour as the mode says. Filters
        select the candidate vectors inside the index search.
        """
        self._require_index()
        options = options or SearchOptions()
        k = min(k or self.settings.default_k, self.settings.max_k)
        if not queries:
            return []
        allowed = excluded = expr = None
        if self.native_filters:  # the store filters; only the owner needs the records
            expr = filter_expression(options.filters, options.include_unpublished)
            if options.filters.owner:
                allowed = np.array(self.records.vector_ids_matching(
                    SearchFilters(owner=options.filters.owner)), np.int64)
        elif not options.filters.is_empty():
            allowed = np.array(self.records.vector_ids_matching(
                options.filters, options.include_unpublished), np.int64)
        elif not options.include_unpublished:
            excluded = np.array(self.records.unpublished_vector_ids(), np.int64)
        if allowed is not None and allowed.size == 0:
            return [Results() for _ in queries]
        allowed_set = None if allowed is None or expr is not None else set(allowed.tolist())
        flat = [view.model_input for query in queries for view in query.views]
        stored = self.embedder.embed_prepared(flat)
        plans: list[tuple[int, int, list[QueryRow]]] = []  # per query: its rows' span
        blocks: list[np.ndarray] = []
        first = total = 0
        for query in queries:
            count = len(query.views)
            rows, meta = query_rows(stored[first:first + count],
                                    [view.part is None for view in query.views],
                                    flat[first:first + count], self.embedder.layout,
                                    query.cut)
            blocks.append(rows)
            plans.append((total, total + len(rows), meta))
            first += count
            total += len(rows)
        matrix = np.concatenate(blocks)
        # a mark owns several vectors (whole + components): fetch enough to fill k marks
        depth = (k + len(options.exclude_ids)) * COMPONENT_DEPTH
        if options.mode is SearchMode.colour:
            depth *= 2  # colour can lift a mark that is further away in shape
        if expr is not None:
            hits = self.store.search(matrix, depth, allowed, expr=expr)
        else:
            hits = self.store.search(matrix, depth, allowed, excluded_ids=excluded)
        wanted = [int(i) for i in np.unique(hits.ids) if i >= 0]
        records = self.records.get_by_vector_ids(wanted)
        out: list[Results] = []
        for query, (lo, hi, meta) in zip(queries, plans, strict=True):
            whole = [view.part is None for view in query.views]
            evidences, crowds, owners = [], [], []
            for r, row in zip(range(lo, hi), meta, strict=True):
                ids = hits.ids[r]
                row_owners = [records.get(int(v)) for v in ids]  # looked up once a hit
                on_component = np.array([rec is not None and rec.vector_id != v
                                         for v, rec in zip(ids, row_owners, strict=True)],
                                        dtype=bool)
                evidence = row_evidence(row, hits.scores[r], on_component)
                evidences.append(evidence)
                owners.append(row_owners)
                crowds.append(crowding(evidence[ids >= 0]))
            penalties = crowding_penalties(crowds, meta, whole)
            best: dict[str, tuple[float, int, int]] = {}  # evidence, vector, query view
            for r, row, evidence, penalty, row_owners in zip(
                    range(lo, hi), meta, evidences, penalties, owners, strict=True):
                for v, value, record in zip(hits.ids[r], evidence - penalty, row_owners,
                                            strict=True):
                    if record is None or record.id in options.exclude_ids:
                        continue  # removed since, or excluded (the mark searched from)
                    if not (options.include_unpublished or record.published):
                        continue  # filed since the index search ran
                    if record.id not in best or value > best[record.id][0]:
                        best[record.id] = (float(value), int(v), row.view)
            words = normalise_text(query.text if options.text is None else options.text)
            if words:  # marks found by their words join those found by shape
                self._add_word_candidates(best, records, words, matrix[lo:hi], meta,
                                          penalties, allowed_set,
                                          options.exclude_ids, options.include_unpublished,
                                          None if allowed_set is not None else options.filters)
            first: list[tuple[float, float, float | None, WordsMatch | None, int, int]] = []
            for evidence, v, view in best.values():
                record = records[v]
                shape = shape_score(evidence)
                own = query.views[view].colour  # a figure's own colours, when a part matched
                colour = None if record.colour is None else float(
                    record.colour @ (query.colour if own is None else own))
                matched, alike = None, None
                if words and record.text:
                    similarity = text_similarity(words, normalise_text(record.text))
                    if similarity >= MIN_WORDS_SIMILARITY:
                        matched, alike = WordsMatch(words, record.text, similarity), similarity
                score = final_score(shape, colour, alike, options.mode)
                first.append((score, shape, colour, matched, v, view))
            # the second stage: the agreement of the wholes, for the marks that may reach k
            agree = agreement_row(meta, whole)
            kth = sorted((f[0] for f in first), reverse=True)[k - 1] if len(first) >= k else 0.0
            found = ({} if agree is None else
                     {int(v): float(e) for v, e in zip(hits.ids[lo + agree],
                                                       evidences[agree], strict=True)})
            ranked = []
            for score, shape, colour, matched, v, view in first:
                record = records[v]
                if agree is not None and may_reach(score, shape, kth):
                    agreement = found.get(record.vector_id)
                    if agreement is None:
                        agreement = self._whole_evidence(matrix[lo + agree], meta[agree],
                                                         record.vector_id)
                    shape = with_agreement(shape, agreement)
                    score = final_score(shape, colour,
                                        None if matched is None else matched.similarity,
                                        options.mode)
                ranked.append(SearchResult(record, score, record.component(v),
                                           query.views[view].part, shape,
                                           self.risk.level(score), matched))
            results = Results(sorted(ranked, key=lambda r: -r.score)[:k])
            results.query_text = words
            out.append(results)
        return out

    def _whole_evidence(self, row: np.ndarray, meta: QueryRow, vector_id: int) -> float:
        """Evidence of one query row on a mark's stored whole vector (0 when the vector is
        not in this index, e.g. while it is being rebuilt)."""
        try:
            vector = self.store.reconstruct(vector_id)
        except Exception:  # noqa: BLE001 - any store: a missing vector is no agreement
            return 0.0
        return float(meta.signal.evidence(np.array([float(row @ vector)]))[0])

    def _add_word_candidates(
        self, best: dict[str, tuple[float, int, int]],
        records: dict[int, MarkRecord], words: str, rows: np.ndarray,
        meta: list[QueryRow], penalties: list[float],
        allowed: set[int] | None, excluded: frozenset[str], include_unpublished: bool,
        filters: SearchFilters | None = None,
    ) -> None:
        """Marks whose words resemble the query's but whose shape was not in the hits:
        their shape evidence is computed from their stored vectors, as the hits' was.
        They pass the filters as the hits did: by the allowed ids, or (a store that
        filters natively) by the records' SQL restricted to these few marks."""
        found = self.records.marks_with_words(words)
        new = [m for m in found if m not in best and m not in excluded
               and text_similarity(words, found[m]) >= MIN_WORDS_SIMILARITY]
        if allowed is None and filters is not None and not filters.is_empty() and new:
            allowed = set(self.records.vector_ids_matching(filters, True, mark_ids=new))
        for record in self.records.get_many(new).values():
            if allowed is not None and record.vector_id not in allowed:
                continue
            if not (include_unpublished or record.published):
                continue
            scored: list[tuple[float, int, int]] = []
            for v in record.all_vector_ids():
                try:
                    vector = self.store.reconstruct(v)
                except Exception:  # noqa: BLE001 - vector not in this index (being rebuilt)
                    continue
                raw = rows @ vector
                on_component = np.array([v != record.vector_id])
                values = [float(row_evidence(row, raw[i:i + 1], on_component)[0]) - penalty
                          for i, (row, penalty) in enumerate(zip(meta, penalties, strict=True))]
                i = int(np.argmax(values))
                scored.append((values[i], v, meta[i].view))
            if scored:
                best[record.id] = max(scored, key=lambda s: s[0])
                for _, v, _ in scored:
                    records[v] = record

    def search_many(
        self,
        queries: Iterable[tuple[str, bytes | Exception]],
        k: int | None = None,
        options: SearchOptions | None = None,
    ) -> Iterator[tuple[str, list[SearchResult] | Exception]]:
        """Many queries, embedded in batches with the model loaded once; order kept."""
        options = options or SearchOptions()
        for chunk in _batched(queries, self.settings.batch_size):
            prepared: list[PreparedQuery] = []
            slots: list[tuple[str, int | Exception]] = []
            for name, data in chunk:
                if isinstance(data, Exception):
                    slots.append((name, data))
                    continue
                try:
                    prepared.append(query_inputs(
                        data, self.spec, options.crop, options.rotation_tolerant,
                        self._query_reader(options)))
                    slots.append((name, len(prepared) - 1))
                except Exception as exc:  # noqa: BLE001 - reported per query
                    slots.append((name, exc))
            results = self.search_prepared(prepared, k, options) if prepared else []
            for name, slot in slots:
                yield name, slot if isinstance(slot, Exception) else results[slot]

    def explain(self, result_id: str, data: bytes | None = None, query_id: str | None = None,
                include_unpublished: bool = True) -> Explanation:
        """Which regions of the query and of a result drive their similarity (heat maps).
        The query is uploaded bytes or a mark already in the register. The score is the
        one a default search gives the pair (service/ranking.py), so the explanation
        shows the number on the result card; 0.0 when the result is not among the
        search's ``max_k`` best."""
        if (data is None) == (query_id is None):
            raise QueryError("give either a query image or a query mark id, not both")
        result = self._stored_image(self.get(result_id, include_unpublished))
        options = SearchOptions(include_unpublished=include_unpublished)
        k = self.settings.max_k
        if query_id is not None:
            query = self._stored_image(self.get(query_id, include_unpublished))
            found = self.similar(query_id, k, options) if query_id != result_id else None
        else:
            assert data is not None
            query = decode_image(data, self.spec.limits).image
            found = self.search(data, k, options)
        score = 1.0 if found is None else next(
            (r.score for r in found if r.record.id == result_id), 0.0)
        return replace(explain_pair(self.embedder, query, result), score=score)

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
                        for vector_id, model_input in self._stored_inputs(record):
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


