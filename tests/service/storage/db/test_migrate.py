"""Migrations: one schema on SQLite and PostgreSQL, new databases brought to head,
registers from before migrations stamped, newer schemas refused, and the DDL a DBA can
apply by hand."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from service.marks.metadata import MarkMetadata
from service.storage.db.engine import create_records_engine, database_url
from service.storage.db.migrate import (
    HEAD,
    SchemaError,
    alembic_config,
    current_revision,
    upgrade_sql,
)
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore

TABLES = {"marks", "components", "meta", "mark_words", "api_keys", "alembic_version",
          "vector_log", "report_jobs"}
NEWER_THAN_0003 = ("vector_log", "report_jobs", "watches", "watched_marks", "alerts",
                   "alert_deliveries")  # what a register at 0002 does not have
NEWER_THAN_0006 = ("watches", "watched_marks", "alerts", "alert_deliveries")


def test_head_names_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD


def _schema(location: str | Path) -> dict[str, dict[str, bool]]:
    """{table: {column: nullable}} of the tables a record store made."""
    RecordStore(location).close()
    engine = create_records_engine(database_url(location))
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == HEAD
            found = inspect(conn)
            names = set(found.get_table_names()) & TABLES
            if "mark_words" not in names and conn.dialect.name == "sqlite":  # FTS5 table
                names.add("mark_words") if found.has_table("mark_words") else None
            return {t: {c["name"]: bool(c["nullable"]) for c in found.get_columns(t)}
                    for t in sorted(names)}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_sqlite_and_postgresql_get_the_same_schema(tmp_path: Path, postgres_url: str) -> None:
    on_sqlite, on_postgres = _schema(tmp_path / "r.sqlite3"), _schema(postgres_url)
    assert set(on_postgres) == TABLES
    # FTS5 columns carry no constraints; the ordinary tables match column for column
    assert set(on_sqlite["mark_words"]) == set(on_postgres["mark_words"]) == {"mark_id",
                                                                             "words"}
    for table in TABLES - {"mark_words"}:
        assert on_sqlite[table] == on_postgres[table], table


OPEN_AND_ADD = """
import sys, time
from service.marks.metadata import MarkMetadata
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore
time.sleep(max(0.0, float(sys.argv[3]) - time.time()))  # all open at the same moment
store = RecordStore(sys.argv[1])
store.upsert([(sys.argv[2], MarkMetadata(), NewImage("h", sys.argv[2], "image/png"), None)])
store.close()
"""


@pytest.mark.postgres
def test_a_new_database_opened_by_processes_at_once(postgres_url: str) -> None:
    """Each opener migrates or waits on the advisory lock; none sees a half schema."""
    import subprocess
    import sys
    import time

    start = str(time.time() + 4.0)  # after every process has imported its modules
    runs = [subprocess.Popen([sys.executable, "-c", OPEN_AND_ADD, postgres_url, f"p{n}", start],
                             stderr=subprocess.PIPE, text=True) for n in range(3)]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
    store = RecordStore(postgres_url)
    assert sorted(store.get_many(["p0", "p1", "p2"])) == ["p0", "p1", "p2"]
    store.close()


@pytest.mark.postgres
def test_a_new_database_opened_by_threads_at_once(postgres_url: str) -> None:
    stores: list[RecordStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            stores.append(RecordStore(postgres_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(stores) == 3
    stores[0].upsert([("a", MarkMetadata(), NewImage("h", "k", "image/png"), None)])
    assert all(s.count() == 1 for s in stores)
    for store in stores:
        store.close()


# the records schema as releases before migrations created it (service/storage/records.py then)
PRE_MIGRATION_SCHEMA = """
CREATE TABLE marks (id TEXT PRIMARY KEY, vector_id INTEGER NOT NULL UNIQUE, name TEXT,
    owner TEXT, application_number TEXT, registration_number TEXT,
    nice_classes TEXT NOT NULL DEFAULT '[]', vienna_codes TEXT NOT NULL DEFAULT '[]',
    status TEXT, filing_date TEXT, content_hash TEXT NOT NULL, image_key TEXT NOT NULL,
    media_type TEXT NOT NULL, source TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE components (vector_id INTEGER PRIMARY KEY, mark_id TEXT NOT NULL,
    kind TEXT NOT NULL, box TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO marks VALUES ('old-1', 7, 'Old mark', 'Acme', NULL, NULL, '[9]', '[]', NULL,
    NULL, 'h1', 'k1', 'image/png', NULL, '2025-01-01T00:00:00+00:00',
    '2025-01-01T00:00:00+00:00');
INSERT INTO meta VALUES ('next_vector_id', '8');
"""


def test_a_register_from_before_migrations_is_stamped_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(PRE_MIGRATION_SCHEMA)
    store = RecordStore(path)
    old = store.get("old-1")
    assert old is not None and old.name == "Old mark" and old.nice_classes == [9]
    assert old.colour is None and old.text is None  # the columns added since
    ((new, _),) = store.upsert([("new", MarkMetadata(), NewImage("h2", "k2", "image/png",
                                                                 text="Zenith"), None)])
    assert new.vector_id == 8 and store.marks_with_words("zenith") == {"new": "zenith"}
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_a_schema_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    RecordStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaError, match="newer tmsearch"):
        RecordStore(path)


@pytest.mark.postgres
def test_the_ddl_a_dba_applies_by_hand_is_what_the_store_reads(postgres_url: str) -> None:
    """``tmsearch db upgrade --sql`` output, applied with psql's driver, makes a database
    a record store opens with migrations off."""
    import psycopg

    ddl = upgrade_sql(database_url(postgres_url))
    assert "CREATE TABLE marks" in ddl and "gin_trgm_ops" in ddl
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(ddl)
    store = RecordStore(postgres_url, migrate=False)
    store.upsert([("a", MarkMetadata(name="A"), NewImage("h", "k", "image/png",
                                                         text="Acme"), None)])
    assert store.get("a").name == "A" and store.marks_with_words("acme") == {"a": "acme"}
    store.close()


def test_the_sqlite_ddl_makes_the_fts_words_table(tmp_path: Path) -> None:
    ddl = upgrade_sql(database_url(tmp_path / "x.sqlite3"))
    assert "USING fts5" in ddl and "alembic_version" in ddl


def test_words_rows_are_rekeyed_by_vector_id_on_sqlite(tmp_path: Path) -> None:
    """Migration 0003: words rows written by revision 0002 (any rowid) get their mark's
    vector id as rowid, and replacing or removing a mark's words still works."""
    path = tmp_path / "records.sqlite3"
    store = RecordStore(path)
    store.upsert([(m, MarkMetadata(), NewImage(f"h{m}", f"k{m}", "image/png", text=w), None)
                  for m, w in (("a", "Zenith"), ("b", "Korvex"), ("c", None))])
    store.close()
    with sqlite3.connect(path) as conn:  # as revision 0002 left them
        rows = conn.execute("SELECT mark_id, words FROM mark_words").fetchall()
        conn.execute("DELETE FROM mark_words")
        conn.executemany("INSERT INTO mark_words(rowid, mark_id, words) VALUES (?, ?, ?)",
                         [(900 + n, m, w) for n, (m, w) in enumerate(rows)])
        conn.execute("UPDATE alembic_version SET version_num = '0002'")
        for table in NEWER_THAN_0003:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    store = RecordStore(path)
    with sqlite3.connect(path) as conn:
        keyed = dict(conn.execute("SELECT mark_id, rowid FROM mark_words"))
    assert keyed == {"a": store.get("a").vector_id, "b": store.get("b").vector_id}
    store.upsert([("a", MarkMetadata(), NewImage("h9", "k9", "image/png", text="Boltra"),
                   None)])
    store.delete(["b"])
    assert store.marks_with_words("zenith") == {} and store.marks_with_words("korvex") == {}
    assert store.marks_with_words("boltra") == {"a": "boltra"}
    store.close()


def test_words_rows_gain_their_sound_on_upgrade(tmp_path: Path) -> None:
    """Migration 0006: words rows written before it (words alone) get the sound terms, so
    homophones of marks already in the register are found."""
    path = tmp_path / "records.sqlite3"
    store = RecordStore(path)
    store.upsert([("a", MarkMetadata(), NewImage("ha", "ka", "image/png", text="乐百氏"), None)])
    store.close()
    with sqlite3.connect(path) as conn:  # as revision 0005 left it
        conn.execute("UPDATE mark_words SET words = '乐百氏'")
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
        for table in NEWER_THAN_0006:
            conn.execute(f"DROP TABLE {table}")
    store = RecordStore(path)
    assert store.marks_with_words("乐佰氏") == {"a": "乐百氏"}
    store.close()
