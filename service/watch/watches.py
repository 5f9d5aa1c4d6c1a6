"""Trademark watch: the register's service for watches and their alerts.

A watch protects one or more marks (an uploaded image or a mark of the register) for an
owner (an API key, or ``cli`` for the operator on the data dir). Every mark added or
given a new image, by any path that writes through ``MarkWriter`` (CLI and Ray ingest,
``POST /v1/marks``; not a re-index), is scored against every watched mark
(service/watch/checker.py) and the matches at a watch's level become alerts, written in
the same transaction as the mark's record. ``run`` checks a period again, for a watch
made after its filings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, text

from index.base import VectorNotFound
from service.marks.filters import QueryError, SearchFilters, parse_filters
from service.marks.images import content_hash
from service.marks.metadata import MarkMetadata
from service.marks.pipeline import PreparedImage
from service.search.risk import RiskLevel
from service.search.searcher import LiveIndex, Searcher
from service.storage.mark_record import MarkRecord
from service.storage.stored_marks import MarkNotFound, StoredMarks
from service.watch.checker import Filing, WatchChecker
from service.watch.store import AlertDraft, Watch, WatchError, WatchStore

#: a watch protects at most this many marks
MAX_WATCHED_MARKS = 20
CHECK_BATCH = 256


@dataclass(frozen=True)
class WatchSpec:
    """A watch as asked for: what to protect and when to alert."""

    name: str
    owner: str
    images: Sequence[tuple[str, bytes]] = ()  # (label, image bytes)
    mark_ids: Sequence[str] = ()
    nice_classes: Sequence[int] = ()
    vienna_codes: Sequence[str] = ()
    min_risk: str | None = None
    min_score: float | None = None


def filing_of_prepared(mark_id: str, meta: MarkMetadata, image: PreparedImage) -> Filing:
    assert image.vectors is not None
    return Filing(mark_id, image.content_hash, image.vectors,
                  [c.kind for c, _ in image.components], image.colour, image.text,
                  list(meta.nice_classes), list(meta.vienna_codes))


def filing_of_record(record: MarkRecord, vectors: np.ndarray) -> Filing:
    return Filing(record.id, record.content_hash, vectors,
                  [c.kind for c in record.components], record.colour, record.text,
                  list(record.nice_classes), list(record.vienna_codes))


class Watches:
    """Make, list and remove watches; check filings; list and mark alerts."""

    def __init__(self, store: WatchStore, checker: WatchChecker, searcher: Searcher,
                 marks: StoredMarks, index: LiveIndex) -> None:
        self.store = store
        self.checker = checker
        self.searcher = searcher
        self.marks = marks
        self.index = index

    # -- the writer's hook (service/ingest/writer.py AlertWriter) --------------------------
    def alerts_for(self, marks: Sequence[tuple[str, MarkMetadata, PreparedImage]]
                   ) -> Callable[[Connection], None] | None:
        drafts = self.checker.check([filing_of_prepared(*m) for m in marks])
        if not drafts:
            return None
        return lambda conn: WatchStore.insert_alerts(conn, drafts)

    # -- watches --------------------------------------------------------------------------
    def add(self, spec: WatchSpec, include_unpublished: bool = True) -> Watch:
        """A new watch; each image is planned as a default search would send it."""
        return self.add_many([spec], include_unpublished)[0]

    def add_many(self, specs: Sequence[WatchSpec], include_unpublished: bool = True
                 ) -> list[Watch]:
        """New watches, their images planned in batches (one network pass and one index
        search a batch: a bulk import of thousands of watches). Every spec is checked
        before any is planned; a name taken already stops the import at that watch, the
        ones before it made."""
        checked = [self._checked(spec, include_unpublished) for spec in specs]
        images = [(data, mark_id) for _, marks in checked for _, mark_id, _, data in marks]
        plans = iter(self.searcher.stored_queries(images))
        version = self.searcher.embedder.version
        made = []
        for spec, (filters, marks) in zip(specs, checked, strict=True):
            planned = [(label, mark_id, digest, version, next(plans), data)
                       for label, mark_id, digest, data in marks]
            made.append(self.store.create(spec.name.strip(), spec.owner, planned,
                                          filters.nice_classes, filters.vienna_codes,
                                          spec.min_risk, spec.min_score))
        return made

    def _checked(self, spec: WatchSpec, include_unpublished: bool
                 ) -> tuple[SearchFilters, list[tuple[str, str | None, str, bytes]]]:
        """The spec's filters and its marks (label, register id, content hash, image), or
        a WatchError saying what is wrong with it."""
        name = spec.name.strip()
        if not name or len(name) > 200:
            raise WatchError("a watch needs a name of 1 to 200 characters")
        count = len(spec.images) + len(spec.mark_ids)
        if not 1 <= count <= MAX_WATCHED_MARKS:
            raise WatchError(f"a watch protects 1 to {MAX_WATCHED_MARKS} marks "
                             f"(an image or a register mark id each), got {count}")
        if spec.min_risk is not None and spec.min_risk not in {r.value for r in RiskLevel}:
            raise WatchError(f"min risk must be low, medium or high, got {spec.min_risk!r}")
        if spec.min_score is not None and not 0.0 <= spec.min_score <= 1.0:
            raise WatchError(f"min score must be between 0 and 1, got {spec.min_score}")
        try:
            filters = parse_filters(nice_classes=list(spec.nice_classes),
                                    vienna_codes=list(spec.vienna_codes))
        except QueryError as exc:
            raise WatchError(str(exc).replace("invalid filter", "invalid watch", 1)) from exc
        marks: list[tuple[str, str | None, str, bytes]] = []
        for mark_id in dict.fromkeys(spec.mark_ids):
            try:
                record = self.marks.get(mark_id, include_unpublished)
            except MarkNotFound as exc:
                raise WatchError(f"no mark with id {mark_id!r} in the register") from exc
            data = self.marks.images.read(record.image_key, record.media_type)
            marks.append((mark_id, mark_id, record.content_hash, data))
        marks += [(label, None, content_hash(data), data) for label, data in spec.images]
        return filters, marks

    def list(self, owner: str | None = None) -> list[Watch]:
        return self.store.list(owner)

    def get(self, watch_id: int, owner: str | None = None) -> Watch:
        return self.store.get(watch_id, owner)

    def find(self, name: str, owner: str | None = None) -> Watch:
        return self.store.find(name, owner)

    def remove(self, watch: Watch) -> None:
        self.store.remove(watch.id)

    def replan(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Plan again every watched mark planned with another model (after a re-index to a
        new model: until then they raise no alerts); returns how many."""
        version = self.searcher.embedder.version
        stale = self.store.stale(version)
        step = self.searcher.settings.batch_size
        for start in range(0, len(stale), step):
            chunk = stale[start:start + step]
            plans = self.searcher.stored_queries([(image, None) for _, image in chunk])
            for (watched_mark_id, _), plan in zip(chunk, plans, strict=True):
                self.store.replace_plan(watched_mark_id, version, plan)
            if on_progress is not None:
                on_progress(start + len(chunk), len(stale))
        return len(stale)

    # -- checking a period again -----------------------------------------------------------
    def run(self, since: str | None = None, on_progress: Callable[[int, int], None] | None = None
            ) -> int:
        """Check every mark added or changed since ``since`` (ISO date; None: all) against
        the watches as they are now; returns the alerts written (each at most once)."""
        with self.marks.records.connection() as conn:
            sql = "SELECT id FROM marks"
            params = {}
            if since:
                sql += " WHERE updated_at >= :since"
                params["since"] = since
            ids = [str(r[0]) for r in conn.execute(text(sql + " ORDER BY id"), params)]
        written = 0
        store = self.index.store
        for start in range(0, len(ids), CHECK_BATCH):
            records = self.marks.records.get_many(ids[start:start + CHECK_BATCH])
            filings = []
            for record in records.values():
                wanted = np.array(record.all_vector_ids(), np.int64)
                try:
                    filings.append(filing_of_record(record, store.vectors(wanted)))
                except VectorNotFound:
                    continue  # its vectors are not in this index (being rebuilt)
            written += self._write(self.checker.check(filings))
            if on_progress is not None:
                on_progress(min(start + CHECK_BATCH, len(ids)), len(ids))
        return written

    def _write(self, drafts: list[AlertDraft]) -> int:
        if not drafts:
            return 0
        with self.marks.records.transaction() as conn:
            before = int(conn.execute(text("SELECT COUNT(*) FROM alerts")).scalar_one())
            WatchStore.insert_alerts(conn, drafts)
            return int(conn.execute(text("SELECT COUNT(*) FROM alerts")).scalar_one()) - before
