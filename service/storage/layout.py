"""Where a register's state lives in its data dir (``--data-dir``, default ``./var``).

One object names every path, so no module spells a file name of its own::

    <data dir>/records.sqlite3   the records (unless TMSEARCH_DATABASE_URL names a server)
    <data dir>/keys.sqlite3      API keys (hashed), likewise
    <data dir>/index/vectors.tmsi  the FAISS index (and its side files); not with Milvus
    <data dir>/images/, thumbs/  stored images and thumbnails, content-addressed
    <data dir>/reports/          finished batch reports
    <data dir>/.lock             held shared by every process, alone by repair and restore
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.security.keys import KEYS_FILE
from service.settings import Settings

#: the FAISS index, relative to the data dir
INDEX_FILE = Path("index") / "vectors.tmsi"
#: the SQLite records, relative to the data dir
RECORDS_FILE = "records.sqlite3"


@dataclass(frozen=True)
class DataDir:
    """The paths of one data dir; ``database_url`` moves records and keys to a server."""

    root: Path
    database_url: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> DataDir:
        return cls(settings.resolved_data_dir, settings.database_url)

    @property
    def index_file(self) -> Path:
        return self.root / INDEX_FILE

    @property
    def records_file(self) -> Path:
        """The SQLite records file (there is one unless the records are on a server)."""
        return self.root / RECORDS_FILE

    @property
    def records(self) -> str | Path:
        """Where the records are: the database server's URL, or the SQLite file."""
        return self.database_url or self.records_file

    @property
    def keys(self) -> str | Path:
        """Where the API keys are: the records' database server, or a file beside them."""
        return self.database_url or self.root / KEYS_FILE

    @property
    def reports(self) -> Path:
        return self.root / "reports"
