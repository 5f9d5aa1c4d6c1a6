"""What one ingest run must remember, kept on disk so memory stays bounded.

An ingest of a national register's folder walks millions of files and may read a
metadata file of millions of rows. Holding the rows, the mark ids already claimed in
this run and the files already seen in Python dicts and sets would grow with the folder
(about 1 KB a metadata row). The ledger keeps them in a private temporary SQLite
database instead (``sqlite3.connect("")``: on disk, with a small page cache, deleted
when it is closed), looked up one chunk of files at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from service.marks.metadata import MarkMetadata, MetadataError

_SCHEMA = """
CREATE TABLE metadata (file TEXT PRIMARY KEY, meta TEXT, error TEXT, seen INTEGER DEFAULT 0);
CREATE TABLE claimed (mark_id TEXT PRIMARY KEY);
"""
_LOAD_BATCH = 5000
_SQL_VARIABLES = 900  # under SQLite's default limit of bound parameters


class IngestLedger:
    """Metadata rows by file, mark ids claimed and files seen, for one ingest run."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect("", isolation_level=None)
        self._conn.executescript("PRAGMA cache_size=-4096;" + _SCHEMA)  # 4 MB of pages

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> IngestLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load_metadata(self, rows: Iterable[tuple[str, MarkMetadata | MetadataError]]) -> None:
        """Store every row of a metadata file; a later row for the same file wins."""
        sql = "INSERT OR REPLACE INTO metadata (file, meta, error) VALUES (?, ?, ?)"
        batch: list[tuple[str, str | None, str | None]] = []
        self._conn.execute("BEGIN")
        for file, meta in rows:
            if isinstance(meta, MetadataError):
                batch.append((file, None, str(meta)))
            else:
                batch.append((file, meta.model_dump_json(), None))
            if len(batch) >= _LOAD_BATCH:
                self._conn.executemany(sql, batch)
                batch.clear()
        self._conn.executemany(sql, batch)
        self._conn.execute("COMMIT")

    def metadata_for(self, files: Sequence[str]) -> dict[str, MarkMetadata | MetadataError]:
        """The metadata rows of these files (those that have one), marking them seen."""
        out: dict[str, MarkMetadata | MetadataError] = {}
        for start in range(0, len(files), _SQL_VARIABLES):
            part = list(files[start:start + _SQL_VARIABLES])
            marks = ",".join("?" * len(part))
            rows = self._conn.execute(
                f"SELECT file, meta, error FROM metadata WHERE file IN ({marks})", part)
            for file, meta, error in rows:
                out[file] = (MetadataError(error) if error is not None
                             else MarkMetadata.model_validate_json(meta))
            self._conn.execute(f"UPDATE metadata SET seen = 1 WHERE file IN ({marks})", part)
        return out

    def claim(self, mark_id: str) -> bool:
        """True the first time a mark id is claimed in this run, False after that."""
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO claimed (mark_id) VALUES (?)", (mark_id,))
        return cursor.rowcount == 1

    def unseen_errors(self) -> Iterator[tuple[str, str]]:
        """Invalid metadata rows whose file was not found under the ingested folder."""
        rows = self._conn.execute(
            "SELECT file, error FROM metadata WHERE error IS NOT NULL AND seen = 0 "
            "ORDER BY file")
        yield from rows

    def unseen_files(self) -> Iterator[str]:
        """Valid metadata rows whose file was not found under the ingested folder."""
        rows = self._conn.execute(
            "SELECT file FROM metadata WHERE error IS NULL AND seen = 0 ORDER BY file")
        yield from (row[0] for row in rows)
