"""Bring a records database to the schema this release reads, with alembic.

``ensure_schema`` runs when the record store opens (``TMSEARCH_DATABASE_MIGRATE``): a
database already at head costs one query; a new one gets every migration; a SQLite file
from before migrations existed is recognised and stamped. ``tmsearch db upgrade`` runs
the same by hand, and ``--sql`` prints the DDL for a DBA who applies it themselves.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL

from service.storage.db.engine import SQLITE_BEGIN

MIGRATIONS = Path(__file__).with_name("migrations")
#: the newest revision in ``migrations/versions`` (a test keeps the two in step)
HEAD = "0007"
# alembic loads env.py as a module by name, which two threads must not do at once;
# processes are kept apart by the database (BEGIN IMMEDIATE, an advisory lock)
_ALEMBIC_RUNNING = threading.Lock()


class SchemaError(RuntimeError):
    """The database's schema is not one this release can read."""


def alembic_config(url: URL | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here rather than read from an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url
    return config


def known_revisions() -> set[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in scripts.walk_revisions()}


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None before any migration."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def ensure_schema(engine: Engine) -> str:
    """Migrate the database to ``HEAD`` if it is behind; returns the revision it is at."""
    with engine.connect() as conn:
        revision = current_revision(conn)
    if revision == HEAD:
        return revision
    if revision is not None and revision not in known_revisions():
        raise SchemaError(
            f"the records database is at schema revision {revision}, which this release "
            "does not know: it was migrated by a newer tmsearch")
    upgrade(engine)
    return HEAD


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction."""
    with _ALEMBIC_RUNNING, engine.connect() as conn, conn.execution_options(
            **{SQLITE_BEGIN: "IMMEDIATE"}).begin():
        config = alembic_config(connection=conn)
        if current_revision(conn) is None and _is_legacy_sqlite(conn):
            _bring_legacy_sqlite_to_baseline(conn)
            command.stamp(config, "0001")
        command.upgrade(config, revision)


def upgrade_sql(url: URL, revision: str = "head") -> str:
    """The DDL that brings an empty database of ``url``'s kind to ``revision``."""
    config = alembic_config(url=url)
    config.output_buffer = io.StringIO()
    with _ALEMBIC_RUNNING:
        command.upgrade(config, revision, sql=True)
    return config.output_buffer.getvalue()


def _is_legacy_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite" and inspect(conn).has_table("marks")


def _bring_legacy_sqlite_to_baseline(conn: Connection) -> None:
    """Registers made before migrations: add what later releases added by hand."""
    columns = {c["name"] for c in inspect(conn).get_columns("marks")}
    if "colour" not in columns:  # registers made before colour signatures
        conn.exec_driver_sql("ALTER TABLE marks ADD COLUMN colour BLOB")
    if "text" not in columns:  # registers made before verbal elements were read
        conn.exec_driver_sql("ALTER TABLE marks ADD COLUMN text TEXT")
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS meta "
                         "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS components (vector_id INTEGER PRIMARY "
                         "KEY, mark_id TEXT NOT NULL, kind TEXT NOT NULL, box TEXT NOT NULL)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS components_mark ON components(mark_id)")
    conn.exec_driver_sql("CREATE VIRTUAL TABLE IF NOT EXISTS mark_words USING fts5("
                         "mark_id UNINDEXED, words, tokenize='trigram')")
