"""The write protocol: how prepared marks become stored images, records and vectors.

Write order (what keeps records and vectors consistent, whatever moment a crash hits):

1. the stored image and thumbnail are written (content-addressed, atomic rename); a crash
   here leaves at most an orphan file;
2. the records are upserted in one transaction that also hands out fresh vector ids;
   this commit is the acknowledgement: once it returns, the mark is in the register;
3. the vectors are added to (and replaced vector ids removed from) the live index;
4. the index is persisted by atomic rename every ``index_save_every`` changes, at the end
   of a batch and on close.

On open, the register's ``reconcile`` (service/ops/maintenance.py) compares the index's
ids with the records' vector ids, so the records and the stored images are the source of
truth and the index is a checkpointed cache of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from sqlalchemy import Connection

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata, MetadataError
from service.marks.ocr import TextReader
from service.marks.pipeline import PreparedImage, PrepareSpec, embed_prepared_images, prepare_bytes
from service.storage.image_store import ImageStore
from service.storage.index_writer import IndexWriter
from service.storage.mark_record import MarkRecord, NewImage
from service.storage.records import RecordStore


class AlertWriter(Protocol):
    """The watch (service/watch/): the alerts a batch of new images raises, as a write
    to run inside the records' transaction (None: nothing to write)."""

    def alerts_for(self, marks: Sequence[tuple[str, MarkMetadata, PreparedImage]]
                   ) -> Callable[[Connection], None] | None: ...


#: one mark to write: its id, metadata, prepared image (None: metadata only) and source
WriteItem = tuple[str, MarkMetadata, PreparedImage | None, str | None]


class MarkWriter:
    """Adds, replaces and removes marks, in the write order above."""

    def __init__(self, index: IndexWriter, records: RecordStore, images: ImageStore,
                 embedder: Embedder, spec: PrepareSpec, reader: TextReader | None = None,
                 watch: AlertWriter | None = None) -> None:
        self.watch = watch  # alerts new images raise, written with their records
        self.reader = reader  # words of a single upload: the register's OCR, not a second
        self.index = index
        self.records = records
        self.images = images
        self.embedder = embedder
        self.spec = spec

    def add_mark(self, data: bytes, metadata: MarkMetadata, mark_id: str | None = None,
                 source: str | None = None) -> tuple[MarkRecord, bool]:
        """Add or replace one mark from uploaded bytes. Returns ``(record, created)``.

        The bytes are decoded before anything is written, so a bad image changes nothing.
        """
        mark_id = mark_id or metadata.id
        if not mark_id:
            raise MetadataError("a mark needs an id")
        prepared = prepare_bytes(data, self.spec, reader=self.reader)
        with self.index.lock:
            self.index.require_index()
            ((record, replaced),) = self.write_batch([(mark_id, metadata, prepared, source)])
        self.records.set_meta("last_ingest", datetime.now(UTC).isoformat(timespec="seconds"))
        return record, replaced is None

    def remove(self, mark_ids: Iterable[str]) -> list[str]:
        """Remove marks (records first, then vectors, then unshared image files)."""
        with self.index.lock:
            self.index.require_index()
            removed = self.records.delete(list(dict.fromkeys(mark_ids)), log_as=self.index.log_as)
            self.index.remove(v for r in removed for v in r.all_vector_ids())
            self.collect_unused_images(removed)
            if removed:
                self.index.save()
        return [r.id for r in removed]

    def write_batch(self, items: Sequence[WriteItem]) -> list[tuple[MarkRecord, int | None]]:
        """Steps 1-3 of the write order for a batch of marks (the caller holds the lock).
        Per item: its stored record and the vector id it replaced, or None."""
        previous = self.records.get_many([mark_id for mark_id, _, p, _ in items if p is not None])
        prepared = [p for _, _, p, _ in items if p is not None]
        # the image files are written (and fsynced: disk waits, not CPU) while the model
        # runs on what the workers did not embed
        with ThreadPoolExecutor(max_workers=1) as disk:
            stored = disk.submit(self._store_images, [p for _, _, p, _ in items])
            embed_prepared_images(self.embedder, prepared)
            new_images = stored.result()
        vectors = np.concatenate([p.vectors for p in prepared]) if prepared else None
        alerts = None if self.watch is None else self.watch.alerts_for(
            [(mark_id, meta, p) for mark_id, meta, p, _ in items if p is not None])
        results = self.records.upsert(
            ((mark_id, meta, image, source)
             for (mark_id, meta, _, source), image in zip(items, new_images, strict=True)),
            vectors=[p.vectors if p is not None else None for _, _, p, _ in items],
            log_as=self.index.log_as,  # other processes apply these (vector_log)
            also=alerts,  # the alerts, in the records' transaction (service/watch/)
        )
        written = {v: rec for rec, _ in results for v in rec.all_vector_ids()}
        replaced = [old for _, old in results if old is not None]
        replaced += [c.vector_id for old in previous.values() for c in old.components]
        if replaced:
            self.index.remove(replaced)
        if vectors is not None:
            ids = [v for (rec, _), img in zip(results, new_images, strict=True) if img
                   for v in rec.all_vector_ids()]
            self.index.add(np.array(ids, dtype=np.int64), vectors, written)
        if self.index.native_filters:  # metadata-only changes: the vectors' fields follow
            kept = np.array([v for (rec, _), img in zip(results, new_images, strict=True)
                             if img is None for v in rec.all_vector_ids()], dtype=np.int64)
            if len(kept):
                self.index.add(kept, self.index.store.vectors(kept), written)
        self.collect_unused_images(previous.values())
        self.index.changed(len(items))
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

    def collect_unused_images(self, records: Iterable[MarkRecord]) -> None:
        """Delete stored files that no record refers to any more (images are shared)."""
        for record in records:
            if not self.records.image_key_in_use(record.image_key):
                self.images.delete(record.image_key, record.media_type)
