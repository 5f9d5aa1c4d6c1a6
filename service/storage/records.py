"""Mark records: the register's source of truth, in SQLite (a file in the data dir, the
default) or PostgreSQL (``TMSEARCH_DATABASE_URL``), one schema for both (service/storage/db).

Each record names the int64 ``vector_id`` under which its embedding sits in the vector
store. Vector ids are handed out from a counter in the same transaction as the record
and never reused, so an updated mark gets a fresh id and a stale vector can always be
told apart from a live one (see ``Register.reconcile``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from service.marks.filters import SearchFilters
from service.marks.metadata import MarkMetadata
from service.marks.words import indexed_words, lookup_terms, words_of_index
from service.security.access import published_sql
from service.storage import vector_log
from service.storage.db.dialect import bind_values, delete_in, dialect_for
from service.storage.db.engine import SQLITE_BEGIN, create_records_engine, database_url, redacted
from service.storage.db.migrate import ensure_schema
from service.storage.mark_record import ComponentRecord, MarkRecord, NewImage
from service.storage.record_filters import filter_sql
from service.storage.record_listing import MAX_PER_PAGE, MarkPage, list_page
from service.storage.record_rows import COLUMNS, component_of, row_to_record, store_row


class RecordStoreUnavailable(RuntimeError):
    """The records database cannot be reached (a server down, a wrong password)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RecordStore:
    """The marks, their components and verbal elements in a SQL database.

    ``location`` is a SQLite file path or a database URL (``postgresql://...``). The
    schema is migrated to this release's on open unless ``migrate`` is False (then a
    database behind it is refused by the first query). SQLite shares one connection,
    serialised by a lock; PostgreSQL draws connections from a pool, and its writers are
    serialised by an advisory lock, as SQLite's are by BEGIN IMMEDIATE.
    """

    def __init__(self, location: str | Path, migrate: bool = True) -> None:
        self.url = database_url(location)
        self.location = redacted(self.url)
        self.engine = create_records_engine(self.url)
        self.sql = dialect_for(self.url.get_backend_name())
        self._lock: AbstractContextManager[Any] = (
            threading.RLock() if self.sql.name == "sqlite" else nullcontext())
        try:
            if migrate:
                ensure_schema(self.engine)
            else:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            self.engine.dispose()
            raise RecordStoreUnavailable(
                f"cannot reach the records database {self.location}: {exc.orig}") from exc
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.sql.name

    def close(self) -> None:
        with self._lock:
            self.engine.dispose()

    def connection(self) -> AbstractContextManager[Connection]:
        """A read connection (for the vector log's readers)."""
        return self._read()

    def transaction(self) -> AbstractContextManager[Connection]:
        """The one write transaction (for the vector log's writers)."""
        return self._write()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._lock, self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; the only one in flight, whichever process runs it."""
        with self._lock, self.engine.connect() as conn:
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                self.sql.lock_writers(conn)
                yield conn

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            return self._meta(conn, key)

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            self._set_meta(conn, key, value)

    # -- reads --------------------------------------------------------------------------
    def count(self, include_unpublished: bool = True) -> int:
        where = "" if include_unpublished else f" WHERE {published_sql()}"
        with self._read() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM marks{where}")).scalar_one())

    def count_with_words(self, include_unpublished: bool = True) -> int:
        sql = "SELECT COUNT(*) FROM mark_words"
        if not include_unpublished:
            sql += f" w JOIN marks m ON m.id = w.mark_id WHERE {published_sql('m.status')}"
        with self._read() as conn:
            return int(conn.execute(text(sql)).scalar_one())

    def get(self, mark_id: str) -> MarkRecord | None:
        with self._read() as conn:
            row = conn.execute(text(f"SELECT {COLUMNS} FROM marks WHERE id = :id"),
                               {"id": mark_id}).first()
            if row is None:
                return None
            record = row_to_record(row)
            self._attach_components(conn, [record])
        return record

    def get_many(self, mark_ids: Sequence[str]) -> dict[str, MarkRecord]:
        with self._read() as conn:
            return self._fetch_in(conn, "id", list(mark_ids), key=lambda r: r.id)

    def get_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, MarkRecord]:
        """The mark each vector id belongs to (whole-mark or component vectors)."""
        wanted = [int(v) for v in vector_ids]
        with self._read() as conn:
            out: dict[int, MarkRecord] = self._fetch_in(conn, "vector_id", wanted,
                                                        key=lambda r: r.vector_id)
            rest = [v for v in wanted if v not in out]
            owners: dict[int, str] = {}
            for start in range(0, len(rest), 500):
                params: dict[str, Any] = {}
                listed = bind_values(params, rest[start : start + 500])
                rows = conn.execute(text(
                    f"SELECT vector_id, mark_id FROM components WHERE vector_id IN ({listed})"),
                    params).all()
                owners.update((int(r[0]), str(r[1])) for r in rows)
            if owners:
                marks = self._fetch_in(conn, "id", sorted(set(owners.values())),
                                       key=lambda r: r.id)
                out.update((v, marks[m]) for v, m in owners.items() if m in marks)
        return out

    def _fetch_in(self, conn: Connection, column: str, values: list, key) -> dict:  # type: ignore[no-untyped-def]
        out = {}
        for start in range(0, len(values), 500):
            params: dict[str, Any] = {}
            listed = bind_values(params, values[start : start + 500])
            rows = conn.execute(
                text(f"SELECT {COLUMNS} FROM marks WHERE {column} IN ({listed})"), params
            ).all()
            records = [row_to_record(row) for row in rows]
            self._attach_components(conn, records)
            for record in records:
                out[key(record)] = record
        return out

    def _attach_components(self, conn: Connection, records: Sequence[MarkRecord]) -> None:
        if not records:
            return
        by_id = {r.id: r for r in records}
        params: dict[str, Any] = {}
        listed = bind_values(params, list(by_id))
        rows = conn.execute(text(
            f"SELECT vector_id, mark_id, kind, box FROM components WHERE mark_id IN ({listed}) "
            "ORDER BY vector_id"), params).all()
        for r in rows:
            by_id[r.mark_id].components.append(component_of(r))

    def iter_all(self, batch: int = 1000) -> Iterator[MarkRecord]:
        """All records in vector-id order, fetched in pages (bounded memory)."""
        last = -1
        while True:
            with self._read() as conn:
                rows = conn.execute(text(
                    f"SELECT {COLUMNS} FROM marks WHERE vector_id > :last "
                    "ORDER BY vector_id LIMIT :batch"), {"last": last, "batch": batch}).all()
                records = [row_to_record(row) for row in rows]
                self._attach_components(conn, records)
            if not records:
                return
            yield from records
            last = records[-1].vector_id

    def list_marks(self, filters: SearchFilters, words: str | None = None, page: int = 1,
                   per_page: int = 20, include_unpublished: bool = True) -> MarkPage:
        """One page of the marks passing ``filters`` (service/storage/record_listing.py)."""
        page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
        words = (words or "").strip() or None  # blank words are no condition
        with self._read() as conn:
            records, total = list_page(conn, self.sql, filters, words, page, per_page,
                                       include_unpublished)
            self._attach_components(conn, records)
        return MarkPage(records, total, page, per_page)

    def vector_ids(self) -> list[int]:
        """Every live vector id: whole marks and components."""
        with self._read() as conn:
            return [int(r[0]) for r in conn.execute(text(
                "SELECT vector_id FROM marks UNION ALL SELECT vector_id FROM components"))]

    def vector_ids_matching(self, filters: SearchFilters, include_unpublished: bool = True,
                            mark_ids: Sequence[str] | None = None) -> list[int]:
        """Vector ids of the marks that pass ``filters`` (semantics: service/marks/filters.py),
        among ``mark_ids`` when given."""
        where, params = filter_sql(filters, self.sql, include_unpublished)
        if mark_ids is not None:
            if not mark_ids:
                return []
            where += f" AND id IN ({bind_values(params, list(mark_ids), 'm')})"
        with self._read() as conn:
            rows = conn.execute(text(  # the filter is evaluated once, for marks
                f"WITH hit AS (SELECT id, vector_id FROM marks WHERE {where}) "
                f"SELECT vector_id FROM hit UNION ALL "
                f"SELECT c.vector_id FROM components c JOIN hit ON hit.id = c.mark_id"), params)
            return [int(r[0]) for r in rows]

    def unpublished_vector_ids(self) -> list[int]:
        """Vector ids of the marks the public may not see (service/security/access.py); uses the
        status index, so it costs little while few marks are unpublished."""
        with self._read() as conn:
            rows = conn.execute(text(
                f"WITH hit AS (SELECT id, vector_id FROM marks WHERE NOT {published_sql()}) "
                f"SELECT vector_id FROM hit UNION ALL "
                f"SELECT c.vector_id FROM components c JOIN hit ON hit.id = c.mark_id"))
            return [int(r[0]) for r in rows]

    def marks_with_words(self, words: str, limit: int = 200) -> dict[str, str]:
        """Marks whose verbal element shares character trigrams with ``words`` (normalised),
        most shared first: {mark id: its normalised words}. Words shorter than three
        characters are looked up as substrings."""
        terms = lookup_terms(words)  # spelling and sound: a homophone is found too
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [t for t in terms if len(t) < 3]
        with self._read() as conn:
            found = self.sql.words_like(conn, long_terms, short_terms, limit)
        return {mark_id: words_of_index(stored) for mark_id, stored in found}

    def image_keys(self) -> Iterator[tuple[str, str, str]]:
        """``(mark id, image key, media type)`` of every mark, for consistency checks."""
        with self._read() as conn:
            rows = conn.execute(text("SELECT id, image_key, media_type FROM marks")).all()
        for row in rows:
            yield str(row[0]), str(row[1]), str(row[2])

    def image_key_in_use(self, image_key: str) -> bool:
        with self._read() as conn:
            row = conn.execute(text("SELECT 1 FROM marks WHERE image_key = :key LIMIT 1"),
                               {"key": image_key}).first()
        return row is not None

    # -- writes -------------------------------------------------------------------------
    def upsert(
        self, items: Iterable[tuple[str, MarkMetadata, NewImage | None, str | None]],
        vectors: Sequence[np.ndarray | None] | None = None, log_as: str | None = None,
        also: Callable[[Connection], None] | None = None,
    ) -> list[tuple[MarkRecord, int | None]]:
        """Insert or update marks in one transaction.

        Each item is ``(mark_id, metadata, new_image_or_None, source)``. With a new image the
        mark gets a fresh vector id; without one only its metadata changes. Returns, per
        item, the stored record and the vector id it replaced (to be removed from the
        vector store), or None. With ``log_as`` (a writer's name) each new image's
        ``vectors`` (whole mark, then figures) and the ids they replace go to the vector
        log in the same transaction (service/storage/vector_log.py). ``also`` writes more in
        the same transaction (the alerts a filing raises: service/watch/).
        """
        results: list[tuple[MarkRecord, int | None]] = []
        now = _now()
        item_vectors = iter(vectors) if vectors is not None else None
        with self._write() as conn:
            next_id = int(self._meta(conn, "next_vector_id") or 1)
            for mark_id, meta, image, source in items:
                mark_vectors = next(item_vectors) if item_vectors is not None else None
                old = conn.execute(text(f"SELECT {COLUMNS} FROM marks WHERE id = :id"),
                                   {"id": mark_id}).first()
                old_rec = row_to_record(old) if old is not None else None
                if old_rec is None and image is None:
                    raise ValueError(f"mark {mark_id!r} does not exist and has no image")
                replaced: int | None = None
                components: list[ComponentRecord] = []
                components_new = image is not None  # fresh vector ids (and vectors)
                if image is not None:
                    vector_id = next_id
                    next_id += 1
                    replaced = old_rec.vector_id if old_rec else None
                    if log_as and old_rec is not None:
                        vector_log.append(conn, log_as, removes=[old_rec.vector_id] + [
                            c.vector_id for c in self._components(conn, mark_id)])
                    conn.execute(text("DELETE FROM components WHERE mark_id = :id"),
                                 {"id": mark_id})
                    for kind, box in image.components:
                        components.append(ComponentRecord(next_id, kind, tuple(box)))
                        conn.execute(text(
                            "INSERT INTO components(vector_id, mark_id, kind, box) "
                            "VALUES (:vector_id, :mark_id, :kind, :box)"),
                            {"vector_id": next_id, "mark_id": mark_id, "kind": kind,
                             "box": json.dumps(box)})
                        next_id += 1
                else:
                    assert old_rec is not None
                    vector_id = old_rec.vector_id
                    image = NewImage(old_rec.content_hash, old_rec.image_key,
                                     old_rec.media_type, colour=old_rec.colour,
                                     text=old_rec.text)
                    components = self._components(conn, mark_id)
                record = MarkRecord(
                    id=mark_id,
                    vector_id=vector_id,
                    content_hash=image.content_hash,
                    image_key=image.image_key,
                    media_type=image.media_type,
                    name=meta.name,
                    owner=meta.owner,
                    application_number=meta.application_number,
                    registration_number=meta.registration_number,
                    nice_classes=list(meta.nice_classes),
                    vienna_codes=list(meta.vienna_codes),
                    status=meta.status.value if meta.status else None,
                    filing_date=meta.filing_date.isoformat() if meta.filing_date else None,
                    source=source or (old_rec.source if old_rec else None),
                    created_at=old_rec.created_at if old_rec else now,
                    updated_at=now,
                    components=components,
                    colour=image.colour,
                    text=image.text or None,
                )
                store_row(conn, record, exists=old_rec is not None)
                self.sql.set_words(conn, mark_id, old_rec.vector_id if old_rec else None,
                                   record.vector_id, indexed_words(record.text))
                if log_as and mark_vectors is not None and components_new:
                    vector_log.append(conn, log_as,
                                      list(zip(record.all_vector_ids(), mark_vectors, strict=True)))
                results.append((record, replaced))
            self._set_meta(conn, "next_vector_id", str(next_id))
            if also is not None:
                also(conn)
        return results

    def delete(self, mark_ids: Sequence[str], log_as: str | None = None) -> list[MarkRecord]:
        """Delete marks in one transaction (their vector ids logged as removed with
        ``log_as``); returns the records that existed."""
        with self._write() as conn:
            found = self._fetch_in(conn, "id", list(mark_ids), key=lambda r: r.id)
            if log_as:
                vector_log.append(conn, log_as, removes=[
                    v for r in found.values() for v in r.all_vector_ids()])
            self.sql.delete_words(conn, {m: r.vector_id for m, r in found.items()})
            delete_in(conn, "marks", "id", list(found))
            delete_in(conn, "components", "mark_id", list(found))
        return list(found.values())

    @staticmethod
    def _components(conn: Connection, mark_id: str) -> list[ComponentRecord]:
        rows = conn.execute(text(
            "SELECT vector_id, kind, box FROM components WHERE mark_id = :id "
            "ORDER BY vector_id"), {"id": mark_id}).all()
        return [component_of(r) for r in rows]

    @staticmethod
    def _meta(conn: Connection, key: str) -> str | None:
        row = conn.execute(text("SELECT value FROM meta WHERE key = :key"), {"key": key}).first()
        return None if row is None else str(row[0])

    @staticmethod
    def _set_meta(conn: Connection, key: str, value: str) -> None:
        conn.execute(text(
            "INSERT INTO meta(key, value) VALUES (:key, :value) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
            {"key": key, "value": value})
