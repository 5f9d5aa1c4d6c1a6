"""The register: one data dir's marks, as the CLI, the API and the page see them.

A thin facade. It opens what the data dir holds (the records, the stored images, the
vector store, the model) and hands each job to the service that does it; they share one
``IndexWriter`` (service/storage/index_writer.py: the write lock, the unsaved count, the
re-index log):

- writes: ``MarkWriter`` (service/ingest/writer.py, the write order that keeps records
  and vectors consistent whatever moment a crash hits) and ``FolderIngest``
  (service/ingest/folder.py, batches in bounded memory);
- searches: ``Searcher`` (service/search/searcher.py: prepare the query, find the
  candidates, rank);
- reads: ``StoredMarks`` (service/storage/stored_marks.py);
- watch: ``Watches`` (service/watch/watches.py: watches, and the alerts new filings raise
  as the writer stores them);
- upkeep: ``Maintenance`` (service/ops/maintenance.py: reconcile on open, repair,
  re-index, stats).

None of its callers touches FAISS, Milvus or SQL directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from index.base import IndexMismatchError, VectorStore
from index.open_store import open_store
from models.embedder import Embedder
from service.ingest.folder import FolderIngest, IngestEvent, IngestSummary
from service.ingest.writer import MarkWriter
from service.marks.filters import SearchFilters
from service.marks.images import ImageLimits
from service.marks.metadata import MarkMetadata
from service.marks.ocr import TextReader
from service.marks.pipeline import PreparedQuery, PrepareSpec
from service.marks.svg_render import RenderLimits
from service.ops.maintenance import Maintenance, ReconcileReport, RepairReport
from service.search.explain import Explanation
from service.search.query import SearchOptions
from service.search.results import Results, SearchResult
from service.search.risk import RiskThresholds
from service.search.searcher import Searcher
from service.settings import Settings
from service.storage.data_lock import DataDirBusy, DataDirLock
from service.storage.image_store import ImageStore
from service.storage.index_writer import IndexWriter
from service.storage.layout import DataDir
from service.storage.mark_record import MarkRecord
from service.storage.record_listing import MarkPage
from service.storage.records import RecordStore
from service.storage.stored_marks import StoredMarks
from service.watch.checker import WatchChecker
from service.watch.store import WatchStore
from service.watch.watches import Watches


class Register:
    """A trademark register held in a data dir: records, stored images and a vector index."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.layout = DataDir.of(settings)
        self.data_dir = self.layout.root
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
        self.records = RecordStore(self.layout.records, settings.database_migrate)
        self.images = ImageStore(self.data_dir)
        self.spec = PrepareSpec(
            input_size=self.embedder.config.input_size,
            input_mode=self.embedder.config.input_mode,
            limits=ImageLimits(
                settings.max_upload_bytes, settings.max_image_pixels,
                settings.stored_image_max_side,
                RenderLimits(settings.svg_render_timeout_s, settings.svg_render_memory_mb),
            ),
            thumbnail_size=settings.thumbnail_size,
            read_text=settings.read_text,
        )
        self.reader = TextReader() if settings.read_text else None
        self.marks = StoredMarks(self.records, self.images, self.spec)
        expect = Maintenance.expected(self.embedder)
        store, error = open_store(settings.vector_store, self.layout.index_file, expect,
                                  milvus_collection=settings.milvus_collection,
                                  milvus_consistency=settings.milvus_consistency,
                                  milvus_index=settings.milvus_index)
        self.index = IndexWriter(store, self.layout.index_file, self.records,
                                 settings.index_save_every, error)
        self.writer = MarkWriter(self.index, self.records, self.images, self.embedder,
                                 self.spec, self.reader)
        self.folders = FolderIngest(self.writer, self.records, self.embedder, self.spec,
                                    settings)
        self.searcher = Searcher(
            self.index, self.marks, self.embedder, self.spec, settings, self.reader,
            RiskThresholds.for_model(self.embedder.weights_path, self.embedder.version))
        watch_store = WatchStore(self.records)
        self.watches = Watches(
            watch_store,
            WatchChecker(watch_store, self.embedder.layout, self.embedder.version,
                         lambda: self.searcher.risk),
            self.searcher, self.marks, self.index)
        self.writer.watch = self.watches  # new images raise their alerts as they are written
        self.maintenance = Maintenance(self.index, self.writer, self.marks, self.embedder,
                                       settings, self.lock, self.layout)
        if error is None:
            if self.index.follow():  # what other processes wrote since the index was saved
                self.index.save()  # (as a reconcile that restored vectors saves them)
            self.maintenance.reconcile()

    def follow_other_writers(self, every_s: float) -> None:
        """Apply other processes' writes every ``every_s`` seconds, in the background,
        until ``close`` (a server does: marks ingested with the CLI are found in seconds)."""
        self.index.start_following(every_s)

    # -- the index --------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        """The FAISS index file of the data dir."""
        return self.layout.index_file

    @property
    def store(self) -> VectorStore:
        """The vector store in use (a re-index swaps it)."""
        return self.index.store

    @property
    def index_error(self) -> IndexMismatchError | None:
        """Set when the index was made by another model: only a re-index helps."""
        return self.index.error

    @property
    def native_filters(self) -> bool:
        return self.index.native_filters

    def require_index(self) -> None:
        self.index.require_index()

    def save_index(self) -> None:
        self.index.save()

    def close(self) -> None:
        with self.index.lock:
            self.index.close()
            self.records.close()
            self.lock.close()

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes (service/ingest/) -------------------------------------------------------------
    def add_mark(self, data: bytes, metadata: MarkMetadata, mark_id: str | None = None,
                 source: str | None = None) -> tuple[MarkRecord, bool]:
        """Add or replace one mark from uploaded bytes. Returns ``(record, created)``."""
        return self.writer.add_mark(data, metadata, mark_id, source)

    def remove(self, mark_ids: Iterable[str]) -> list[str]:
        """Remove marks (records first, then vectors, then unshared image files)."""
        return self.writer.remove(mark_ids)

    def ingest_folder(self, folder: Path, metadata_file: Path | None = None,
                      on_event: Callable[[IngestEvent], None] | None = None,
                      on_prepared: Callable[[int], None] | None = None) -> IngestSummary:
        """Add or update every image under ``folder``; unchanged files are skipped."""
        return self.folders.ingest_folder(folder, metadata_file, on_event, on_prepared)

    # -- searches (service/search/) and reads (service/storage/stored_marks.py) ------------
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

    def browse(self, filters: SearchFilters, words: str | None = None, page: int = 1,
               per_page: int = 20, include_unpublished: bool = True) -> MarkPage:
        """The marks passing ``filters`` without an image to compare, a page at a time."""
        return self.records.list_marks(filters, words, page, per_page, include_unpublished)

    def image(self, mark_id: str, include_unpublished: bool = True) -> tuple[bytes, str]:
        return self.marks.image(mark_id, include_unpublished)

    def thumbnail(self, mark_id: str, include_unpublished: bool = True) -> bytes:
        return self.marks.thumbnail(mark_id, include_unpublished)

    # -- upkeep (service/ops/maintenance.py) ----------------------------------------------
    def reconcile(self) -> ReconcileReport:
        """Make the index hold exactly one vector per record."""
        return self.maintenance.reconcile()

    def repair(self, drop_unreadable: bool = False) -> RepairReport:
        """Mend drift between records, stored files and the index (data dir held alone)."""
        return self.maintenance.repair(drop_unreadable)

    def reindex(self, on_progress: Callable[[int, int], None] | None = None,
                index: str | None = None, memory_budget: int | None = None) -> int:
        """Re-embed every stored mark into a new index, then swap; marks re-embedded. The
        watched marks are planned again with the model that made it."""
        done = self.maintenance.reindex(on_progress, index, memory_budget)
        self.watches.replan()
        return done

    def stats(self, include_unpublished: bool = True) -> dict[str, Any]:
        """The register at a glance."""
        return self.maintenance.stats(self.risk, include_unpublished)
