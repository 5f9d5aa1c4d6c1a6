"""Ingest of a folder: every image under it becomes a mark, in bounded memory.

A reader -> mapper -> writer run (as clip-retrieval's inference composes them): the
folder is walked lazily and read in chunks with their metadata rows (the reader), each
chunk is decoded, split and embedded in the worker processes or on a Ray cluster while
the previous one is written (the mapper, service/marks/pipeline.py), and each chunk is
written in the write order of service/ingest/writer.py (the writer). What the run must
remember (metadata rows, mark ids claimed) is kept on disk by an ``IngestLedger``;
every chunk is committed as it goes, so an interrupted ingest, run again, skips what it
wrote. One bad file is one failed line, never the end of the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from models.embedder import Embedder
from service.ingest.ledger import IngestLedger
from service.ingest.writer import MarkWriter, WriteItem
from service.marks.metadata import MarkMetadata, MetadataError, read_metadata_file
from service.marks.pipeline import (
    FileOutcome,
    PrepareSpec,
    batched,
    iter_image_files,
    map_in_chunks,
    mark_id_for,
    worker_pool,
)
from service.settings import Settings
from service.storage.mark_record import MarkRecord
from service.storage.records import RecordStore


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


Emit = Callable[[IngestEvent], None]


class FolderIngest:
    """Runs folder ingests into one register through its ``MarkWriter``."""

    def __init__(self, writer: MarkWriter, records: RecordStore, embedder: Embedder,
                 spec: PrepareSpec, settings: Settings) -> None:
        self.writer = writer
        self.records = records
        self.embedder = embedder
        self.spec = spec
        self.settings = settings

    def ingest_folder(self, folder: Path, metadata_file: Path | None = None,
                      on_event: Emit | None = None,
                      on_prepared: Callable[[int], None] | None = None) -> IngestSummary:
        """Add or update every image under ``folder``; unchanged files are skipped.
        ``on_event`` hears each file's outcome once it is written (per chunk);
        ``on_prepared`` how many files the workers have prepared, as they finish (a
        progress bar that moves every few files)."""
        started = time.perf_counter()
        summary = IngestSummary()
        emit = on_event or (lambda _e: None)
        folder = folder.resolve()
        if not folder.is_dir():
            raise FileNotFoundError(f"not a folder: {folder}")
        index = self.writer.index
        with IngestLedger() as ledger:
            if metadata_file is not None:
                ledger.load_metadata(_metadata_rows(metadata_file, summary, emit))
            with index.lock:
                index.require_index()
                executor, spec = self._workers()
                try:
                    files = ((str(p), p.relative_to(folder).as_posix())
                             for p in iter_image_files(folder))
                    chunks = batched(files, self.settings.ingest_chunk)  # bounded memory
                    for outcomes, tasks, existing in self._prepared(chunks, folder, ledger,
                                                                    spec, executor,
                                                                    on_prepared):
                        self._write_chunk(outcomes, tasks, existing, ledger, summary, emit)
                finally:
                    if executor is not None:
                        executor.shutdown(cancel_futures=True)
                    index.save()
                for file, error in ledger.unseen_errors():
                    message = (f"the metadata names {file}, but there is no such image under "
                               f"{folder}\n{_row_problems(MetadataError(error))}")
                    summary.count("failed")
                    summary.failures.append((file, message))
                    emit(IngestEvent(file, None, "failed", message))
                for file in ledger.unseen_files():  # a row for an image that is not there
                    message = f"the metadata names {file}, but there is no such image under " \
                              f"{folder}"
                    summary.count("failed")
                    summary.failures.append((file, message))
                    emit(IngestEvent(file, None, "failed", message))
                self.records.set_meta("last_ingest",
                                      datetime.now(UTC).isoformat(timespec="seconds"))
        summary.seconds = time.perf_counter() - started
        return summary

    def _workers(self) -> tuple[Executor | None, PrepareSpec]:
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
        on_prepared: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[list[FileOutcome], list[IngestTask], dict[str, MarkRecord]]]:
        """Per chunk of ``(path, relative path)``: its metadata rows, mark ids and the
        records they already have (whose content hashes let workers skip unchanged
        files), then the chunk prepared in the workers. The lookup still holds when the
        chunk is written: the write lock is held, and the chunk written in between cannot
        have touched these marks (a mark id is written once a run: ``IngestLedger.claim``)."""
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

        for outcomes in map_in_chunks(work(), executor, on_prepared):
            yield outcomes, *task_chunks.pop(0)

    def _write_chunk(self, outcomes: list[FileOutcome], tasks: list[IngestTask],
                     existing: dict[str, MarkRecord], ledger: IngestLedger,
                     summary: IngestSummary, emit: Emit) -> None:
        """One prepared chunk: failures and unchanged files reported, the rest written."""
        batch: list[WriteItem] = []
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
                fail(_row_problems(row))
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
        results = self.writer.write_batch(batch)
        for rel, (record, _) in zip(batch_rel, results, strict=True):
            outcome_name = "updated" if record.id in existing else "added"
            summary.count(outcome_name)
            emit(IngestEvent(rel, record.id, outcome_name))


def _metadata_rows(metadata_file: Path, summary: IngestSummary, emit: Emit
                   ) -> Iterator[tuple[str, MarkMetadata | MetadataError]]:
    """The metadata file's rows by file. A row without a file is reported here; a file
    whose row is invalid fails as a whole when it is met (it is not ingested under a
    path-derived id, which would leave a duplicate once the row is fixed)."""
    for file, meta in read_metadata_file(metadata_file):
        if isinstance(meta, MetadataError) and file.startswith("<"):
            summary.count("failed")
            summary.failures.append((file, str(meta)))
            emit(IngestEvent(file, None, "failed", str(meta)))
        else:
            yield file, meta


def _row_problems(error: MetadataError) -> str:
    """One line per bad field of a metadata row (the CLI prints each as its own error)."""
    return "\n".join(f"invalid metadata row, {line}" for line in error.problems)


def _given_id(row: MarkMetadata | MetadataError | None) -> str | None:
    return row.id if isinstance(row, MarkMetadata) else None


def _same_metadata(a: MarkMetadata, b: MarkMetadata) -> bool:
    return a.model_dump(exclude={"id"}) == b.model_dump(exclude={"id"})
