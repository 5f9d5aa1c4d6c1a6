"""Mark records in SQLite (WAL): the register's source of truth.

Each record names the int64 ``vector_id`` under which its embedding sits in the vector
store. Vector ids are handed out from a counter in the same transaction as the record
and never reused, so an updated mark gets a fresh id and a stale vector can always be
told apart from a live one (see ``Register.reconcile``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from service.access import is_published, published_sql
from service.metadata import MarkMetadata
from service.query import SearchFilters
from service.text_match import normalise_text, trigram_terms

SCHEMA = """
CREATE TABLE IF NOT EXISTS marks (
    id TEXT PRIMARY KEY,
    vector_id INTEGER NOT NULL UNIQUE,
    name TEXT,
    owner TEXT,
    application_number TEXT,
    registration_number TEXT,
    nice_classes TEXT NOT NULL DEFAULT '[]',
    vienna_codes TEXT NOT NULL DEFAULT '[]',
    status TEXT,
    filing_date TEXT,
    content_hash TEXT NOT NULL,
    image_key TEXT NOT NULL,
    media_type TEXT NOT NULL,
    source TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    colour BLOB,
    text TEXT
);
CREATE INDEX IF NOT EXISTS marks_image_key ON marks(image_key);
CREATE INDEX IF NOT EXISTS marks_status ON marks(status);
CREATE TABLE IF NOT EXISTS components (
    vector_id INTEGER PRIMARY KEY,
    mark_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    box TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS components_mark ON components(mark_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- the verbal elements (normalised, service/text_match.py) for words lookups by trigram
CREATE VIRTUAL TABLE IF NOT EXISTS mark_words USING fts5(
    mark_id UNINDEXED, words, tokenize='trigram'
);
"""

_COLUMNS = (
    "id, vector_id, name, owner, application_number, registration_number, nice_classes, "
    "vienna_codes, status, filing_date, content_hash, image_key, media_type, source, "
    "created_at, updated_at, colour, text"
)


@dataclass(frozen=True)
class ComponentRecord:
    """A component of a composite mark (service/components.py) with its own vector."""

    vector_id: int
    kind: str
    box: tuple[int, int, int, int]  # x, y, w, h in the stored image's pixels


@dataclass
class MarkRecord:
    """A stored mark: its metadata, where its image is, and its vector ids (the whole
    mark's, and one per component of a composite mark)."""

    id: str
    vector_id: int
    content_hash: str
    image_key: str
    media_type: str
    name: str | None = None
    owner: str | None = None
    application_number: str | None = None
    registration_number: str | None = None
    nice_classes: list[int] = field(default_factory=list)
    vienna_codes: list[str] = field(default_factory=list)
    status: str | None = None
    filing_date: str | None = None
    source: str | None = None
    created_at: str = ""
    updated_at: str = ""
    components: list[ComponentRecord] = field(default_factory=list)
    colour: np.ndarray | None = field(default=None, repr=False)  # service/colour.py
    text: str | None = None  # the verbal element as read by OCR (service/ocr.py)

    @property
    def published(self) -> bool:
        return is_published(self.status)

    def all_vector_ids(self) -> list[int]:
        return [self.vector_id, *(c.vector_id for c in self.components)]

    def component(self, vector_id: int) -> ComponentRecord | None:
        """The component a vector id belongs to; None for the whole mark."""
        return next((c for c in self.components if c.vector_id == vector_id), None)

    def metadata(self) -> MarkMetadata:
        return MarkMetadata(
            id=self.id,
            name=self.name,
            owner=self.owner,
            application_number=self.application_number,
            registration_number=self.registration_number,
            nice_classes=self.nice_classes,
            vienna_codes=self.vienna_codes,
            status=self.status,
            filing_date=self.filing_date,
        )


@dataclass(frozen=True)
class NewImage:
    """The image side of an upsert: content identity and where the bytes were stored."""

    content_hash: str
    image_key: str
    media_type: str
    components: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()  # (kind, box)
    colour: np.ndarray | None = None
    text: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _filter_sql(filters: SearchFilters, include_unpublished: bool = True
                ) -> tuple[str, list[object]]:
    """A WHERE clause and its parameters for ``filters``; values are always bound."""
    clauses: list[str] = ["1" if include_unpublished else published_sql()]
    params: list[object] = []
    if filters.nice_classes:
        marks = ",".join("?" * len(filters.nice_classes))
        clauses.append(
            f"EXISTS (SELECT 1 FROM json_each(marks.nice_classes) WHERE value IN ({marks}))"
        )
        params.extend(filters.nice_classes)
    if filters.vienna_codes:
        any_of = " OR ".join("(value = ? OR substr(value, 1, ?) = ?)" for _ in filters.vienna_codes)
        clauses.append(f"EXISTS (SELECT 1 FROM json_each(marks.vienna_codes) WHERE {any_of})")
        for prefix in filters.vienna_codes:
            params.extend([prefix, len(prefix) + 1, prefix + "."])
    if filters.status:
        clauses.append(f"status IN ({','.join('?' * len(filters.status))})")
        params.extend(s.value for s in filters.status)
    if filters.filed_from:
        clauses.append("filing_date >= ?")
        params.append(filters.filed_from.isoformat())
    if filters.filed_to:
        clauses.append("filing_date <= ?")
        params.append(filters.filed_to.isoformat())
    if filters.owner:
        clauses.append("instr(lower(owner), lower(?)) > 0")
        params.append(filters.owner)
    return " AND ".join(clauses), params


def _row_to_record(row: sqlite3.Row) -> MarkRecord:
    data = dict(row)
    data["nice_classes"] = json.loads(data["nice_classes"])
    data["vienna_codes"] = json.loads(data["vienna_codes"])
    if data["colour"] is not None:
        data["colour"] = np.frombuffer(data["colour"], dtype=np.float32).copy()
    return MarkRecord(**data)


class RecordStore:
    """Thread-safe access to the marks table; one connection, serialised by a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")  # an acknowledged mark survives
            self._conn.executescript(SCHEMA)
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(marks)")}
            if "colour" not in columns:  # registers made before colour signatures
                self._conn.execute("ALTER TABLE marks ADD COLUMN colour BLOB")
            if "text" not in columns:  # registers made before verbal elements were read
                self._conn.execute("ALTER TABLE marks ADD COLUMN text TEXT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta_locked(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._set_meta_locked(key, value)

    # -- reads --------------------------------------------------------------------------
    def count(self, include_unpublished: bool = True) -> int:
        where = "" if include_unpublished else f" WHERE {published_sql()}"
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM marks{where}").fetchone()[0])

    def count_with_words(self, include_unpublished: bool = True) -> int:
        sql = "SELECT COUNT(*) FROM mark_words"
        if not include_unpublished:
            sql += f" w JOIN marks m ON m.id = w.mark_id WHERE {published_sql('m.status')}"
        with self._lock:
            return int(self._conn.execute(sql).fetchone()[0])

    def get(self, mark_id: str) -> MarkRecord | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM marks WHERE id=?", (mark_id,)
            ).fetchone()
        if row is None:
            return None
        record = _row_to_record(row)
        self._attach_components([record])
        return record

    def get_many(self, mark_ids: Sequence[str]) -> dict[str, MarkRecord]:
        return self._fetch_in("id", list(mark_ids), key=lambda r: r.id)

    def get_by_vector_ids(self, vector_ids: Sequence[int]) -> dict[int, MarkRecord]:
        """The mark each vector id belongs to (whole-mark or component vectors)."""
        wanted = [int(v) for v in vector_ids]
        out: dict[int, MarkRecord] = self._fetch_in("vector_id", wanted, key=lambda r: r.vector_id)
        rest = [v for v in wanted if v not in out]
        owners: dict[int, str] = {}
        for start in range(0, len(rest), 500):
            chunk = rest[start : start + 500]
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT vector_id, mark_id FROM components WHERE vector_id IN "
                    f"({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            owners.update((int(r[0]), str(r[1])) for r in rows)
        if owners:
            marks = self.get_many(sorted(set(owners.values())))
            out.update((v, marks[m]) for v, m in owners.items() if m in marks)
        return out

    def _fetch_in(self, column: str, values: list, key) -> dict:  # type: ignore[no-untyped-def]
        out = {}
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM marks WHERE {column} IN ({marks})", chunk
                ).fetchall()
            records = [_row_to_record(row) for row in rows]
            self._attach_components(records)
            for record in records:
                out[key(record)] = record
        return out

    def _attach_components(self, records: Sequence[MarkRecord]) -> None:
        if not records:
            return
        by_id = {r.id: r for r in records}
        ids = list(by_id)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT vector_id, mark_id, kind, box FROM components WHERE mark_id IN "
                f"({','.join('?' * len(ids))}) ORDER BY vector_id", ids
            ).fetchall()
        for r in rows:
            by_id[r["mark_id"]].components.append(
                ComponentRecord(int(r["vector_id"]), r["kind"], tuple(json.loads(r["box"])))
            )

    def iter_all(self, batch: int = 1000) -> Iterator[MarkRecord]:
        """All records in vector-id order, fetched in pages (bounded memory)."""
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM marks WHERE vector_id > ? ORDER BY vector_id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            records = [_row_to_record(row) for row in rows]
            self._attach_components(records)
            yield from records
            last = int(rows[-1]["vector_id"])

    def vector_ids(self) -> list[int]:
        """Every live vector id: whole marks and components."""
        with self._lock:
            return [int(r[0]) for r in self._conn.execute(
                "SELECT vector_id FROM marks UNION ALL SELECT vector_id FROM components")]

    def vector_ids_matching(self, filters: SearchFilters, include_unpublished: bool = True,
                            mark_ids: Sequence[str] | None = None) -> list[int]:
        """Vector ids of the marks that pass ``filters`` (semantics: service/query.py),
        among ``mark_ids`` when given."""
        where, params = _filter_sql(filters, include_unpublished)
        if mark_ids is not None:
            where += f" AND id IN ({','.join('?' * len(mark_ids))})"
            params = [*params, *mark_ids]
        with self._lock:
            rows = self._conn.execute(  # the filter is evaluated once, for marks
                f"WITH hit AS (SELECT id, vector_id FROM marks WHERE {where}) "
                f"SELECT vector_id FROM hit UNION ALL "
                f"SELECT c.vector_id FROM components c JOIN hit ON hit.id = c.mark_id", params)
            return [int(r[0]) for r in rows]

    def unpublished_vector_ids(self) -> list[int]:
        """Vector ids of the marks the public may not see (service/access.py); uses the
        status index, so it costs little while few marks are unpublished."""
        with self._lock:
            rows = self._conn.execute(
                f"WITH hit AS (SELECT id, vector_id FROM marks WHERE NOT {published_sql()}) "
                f"SELECT vector_id FROM hit UNION ALL "
                f"SELECT c.vector_id FROM components c JOIN hit ON hit.id = c.mark_id")
            return [int(r[0]) for r in rows]

    def marks_with_words(self, words: str, limit: int = 200) -> dict[str, str]:
        """Marks whose verbal element shares character trigrams with ``words`` (normalised),
        most shared first: {mark id: its normalised words}. Words shorter than three
        characters are looked up as substrings."""
        terms = trigram_terms(words)
        long_terms = [t for t in terms if len(t) >= 3]
        short_terms = [t for t in terms if len(t) < 3]
        found: dict[str, str] = {}
        with self._lock:
            if long_terms:
                match = " OR ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
                rows = self._conn.execute(
                    "SELECT mark_id, words FROM mark_words WHERE mark_words MATCH ? "
                    "ORDER BY rank LIMIT ?", (match, limit)).fetchall()
                found.update((str(r[0]), str(r[1])) for r in rows)
            for term in short_terms:
                rows = self._conn.execute(
                    "SELECT mark_id, words FROM mark_words WHERE instr(words, ?) > 0 LIMIT ?",
                    (term, limit)).fetchall()
                found.update((str(r[0]), str(r[1])) for r in rows)
        return found

    def image_keys(self) -> Iterator[tuple[str, str, str]]:
        """``(mark id, image key, media type)`` of every mark, for consistency checks."""
        with self._lock:
            rows = self._conn.execute("SELECT id, image_key, media_type FROM marks").fetchall()
        for row in rows:
            yield str(row[0]), str(row[1]), str(row[2])

    def image_key_in_use(self, image_key: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM marks WHERE image_key=? LIMIT 1", (image_key,)
            ).fetchone()
        return row is not None

    # -- writes -------------------------------------------------------------------------
    def upsert(
        self, items: Iterable[tuple[str, MarkMetadata, NewImage | None, str | None]]
    ) -> list[tuple[MarkRecord, int | None]]:
        """Insert or update marks in one transaction.

        Each item is ``(mark_id, metadata, new_image_or_None, source)``. With a new image the
        mark gets a fresh vector id; without one only its metadata changes. Returns, per
        item, the stored record and the vector id it replaced (to be removed from the
        vector store), or None.
        """
        results: list[tuple[MarkRecord, int | None]] = []
        now = _now()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                next_id = int(self._meta_locked("next_vector_id") or 1)
                for mark_id, meta, image, source in items:
                    old = self._conn.execute(
                        f"SELECT {_COLUMNS} FROM marks WHERE id=?", (mark_id,)
                    ).fetchone()
                    old_rec = _row_to_record(old) if old is not None else None
                    if old_rec is None and image is None:
                        raise ValueError(f"mark {mark_id!r} does not exist and has no image")
                    replaced: int | None = None
                    components: list[ComponentRecord] = []
                    if image is not None:
                        vector_id = next_id
                        next_id += 1
                        replaced = old_rec.vector_id if old_rec else None
                        self._conn.execute("DELETE FROM components WHERE mark_id=?", (mark_id,))
                        for kind, box in image.components:
                            components.append(ComponentRecord(next_id, kind, tuple(box)))
                            self._conn.execute(
                                "INSERT INTO components(vector_id, mark_id, kind, box) "
                                "VALUES (?, ?, ?, ?)", (next_id, mark_id, kind, json.dumps(box)))
                            next_id += 1
                    else:
                        assert old_rec is not None
                        vector_id = old_rec.vector_id
                        image = NewImage(old_rec.content_hash, old_rec.image_key,
                                         old_rec.media_type, colour=old_rec.colour,
                                         text=old_rec.text)
                        components = self._components_locked(mark_id)
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
                    self._conn.execute(
                        f"INSERT OR REPLACE INTO marks({_COLUMNS}) VALUES "
                        f"({','.join('?' * 18)})",
                        (
                            record.id, record.vector_id, record.name, record.owner,
                            record.application_number, record.registration_number,
                            json.dumps(record.nice_classes), json.dumps(record.vienna_codes),
                            record.status, record.filing_date, record.content_hash,
                            record.image_key, record.media_type, record.source,
                            record.created_at, record.updated_at,
                            None if record.colour is None
                            else np.asarray(record.colour, np.float32).tobytes(),
                            record.text,
                        ),
                    )
                    self._set_words_locked(mark_id, record.text)
                    results.append((record, replaced))
                self._set_meta_locked("next_vector_id", str(next_id))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return results

    def delete(self, mark_ids: Sequence[str]) -> list[MarkRecord]:
        """Delete marks in one transaction; returns the records that existed."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                found = self.get_many(mark_ids)
                self._conn.executemany(
                    "DELETE FROM marks WHERE id=?", [(m,) for m in found]
                )
                self._conn.executemany(
                    "DELETE FROM components WHERE mark_id=?", [(m,) for m in found]
                )
                self._conn.executemany(
                    "DELETE FROM mark_words WHERE mark_id=?", [(m,) for m in found]
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return list(found.values())

    def _set_words_locked(self, mark_id: str, text: str | None) -> None:
        self._conn.execute("DELETE FROM mark_words WHERE mark_id=?", (mark_id,))
        words = normalise_text(text)
        if words:
            self._conn.execute("INSERT INTO mark_words(mark_id, words) VALUES (?, ?)",
                               (mark_id, words))

    def _components_locked(self, mark_id: str) -> list[ComponentRecord]:
        rows = self._conn.execute(
            "SELECT vector_id, kind, box FROM components WHERE mark_id=? ORDER BY vector_id",
            (mark_id,),
        ).fetchall()
        return [ComponentRecord(int(r[0]), r[1], tuple(json.loads(r[2]))) for r in rows]

    def _meta_locked(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta_locked(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )
