"""Where the records live, and an SQLAlchemy engine set up for each kind of database.

SQLite: one connection shared by the process (the record store serialises it), WAL
journal, ``synchronous=FULL`` so an acknowledged mark survives a power cut, and write
transactions opened with ``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a
read lock. PostgreSQL: a small connection pool through psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

#: execution option naming how a SQLite transaction begins ("IMMEDIATE" for writes)
SQLITE_BEGIN = "tmsearch_sqlite_begin"


class DatabaseUrlError(ValueError):
    """A database URL this service cannot use."""


def database_url(location: str | Path) -> URL:
    """The SQLAlchemy URL for a records location: a file path (SQLite), ``sqlite:///...``,
    or ``postgresql://user:password@host:port/db`` (driven by psycopg 3)."""
    if isinstance(location, Path) or "://" not in location:
        return URL.create("sqlite", database=str(Path(location).expanduser().resolve()))
    try:
        url = make_url(location)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise DatabaseUrlError(f"not a database URL: {redacted(location)}") from exc
    backend, _, driver = url.drivername.partition("+")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise DatabaseUrlError(f"PostgreSQL is reached through psycopg, not {driver}")
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        if not url.database or url.database == ":memory:":
            raise DatabaseUrlError("a SQLite records database must be a file")
        return url.set(drivername="sqlite")
    raise DatabaseUrlError(
        f"unsupported records database {backend!r}: use a SQLite file or postgresql://")


def redacted(location: str | Path | URL) -> str:
    """A location fit for logs and error messages: never the password."""
    if isinstance(location, URL):
        return location.render_as_string(hide_password=True)
    text = str(location)
    if "://" not in text:
        return text
    try:
        return make_url(text).render_as_string(hide_password=True)
    except Exception:
        return text.split("://", 1)[0] + "://..."


def create_records_engine(url: URL, pool_size: int = 5) -> Engine:
    """An engine for ``url`` (see ``database_url``) tuned for the record store."""
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the dev install has it
        raise DatabaseUrlError(
            "PostgreSQL records need psycopg: pip install 'tmsearch[postgres]'") from exc
    return create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                         pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged mark survives
    cursor.execute("PRAGMA busy_timeout=30000")  # another process's write, waited for
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
