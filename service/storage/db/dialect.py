"""The few SQL phrases that differ between SQLite and PostgreSQL, so the record store
writes every query once. The schema is the same on both (``migrations``); only the words
index differs: an FTS5 trigram table on SQLite, a pg_trgm GIN index on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

# an arbitrary constant: the advisory lock that serialises writers on PostgreSQL
WRITE_LOCK_KEY = 0x746D73  # "tms"


class Dialect:
    """SQLite's phrasing (the default); ``PostgresDialect`` overrides what differs."""

    name = "sqlite"

    def json_element_exists(self, column: str, condition: str) -> str:
        """True when an element (``value``) of the JSON array in ``column`` meets
        ``condition``."""
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE {condition})"

    def json_scalar(self, value: int | str) -> int | str:
        """How a bound value compares with a JSON array element."""
        return value

    def contains(self, column: str, needle: str) -> str:
        """Case-insensitive substring test of ``column`` for the bound ``needle``."""
        return f"instr(lower({column}), lower({needle})) > 0"

    def lock_writers(self, conn: Connection) -> None:
        """Make this write transaction the only one (SQLite: BEGIN IMMEDIATE did)."""

    def set_words(self, conn: Connection, mark_id: str, old_vector_id: int | None,
                  vector_id: int, words: str | None) -> None:
        """Replace a mark's words row. On SQLite the row's rowid is the mark's vector id:
        the FTS5 table cannot index ``mark_id``, and a lookup by it would scan the table
        (migration 0003)."""
        if old_vector_id is not None:
            conn.execute(text("DELETE FROM mark_words WHERE rowid = :old"),
                         {"old": old_vector_id})
        if words:
            conn.execute(text("INSERT INTO mark_words(rowid, mark_id, words) "
                              "VALUES (:rowid, :id, :words)"),
                         {"rowid": vector_id, "id": mark_id, "words": words})

    def delete_words(self, conn: Connection, marks: dict[str, int]) -> None:
        """Delete the words rows of ``marks`` ({mark id: vector id})."""
        delete_in(conn, "mark_words", "rowid", list(marks.values()))

    def words_like(self, conn: Connection, long_terms: list[str], short_terms: list[str],
                   limit: int) -> list[tuple[str, str]]:
        """``(mark id, words)`` sharing a trigram (or, for short words, a substring)
        with the terms, most shared first."""
        found: list[tuple[str, str]] = []
        if long_terms:
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            found += conn.execute(text(
                "SELECT mark_id, words FROM mark_words WHERE mark_words MATCH :match "
                "ORDER BY rank LIMIT :limit"), {"match": match, "limit": limit}).all()
        for term in short_terms:
            found += conn.execute(text(
                "SELECT mark_id, words FROM mark_words WHERE instr(words, :term) > 0 "
                "LIMIT :limit"), {"term": term, "limit": limit}).all()
        return [(str(m), str(w)) for m, w in found]


class PostgresDialect(Dialect):
    name = "postgresql"

    def json_element_exists(self, column: str, condition: str) -> str:
        return (f"EXISTS (SELECT 1 FROM json_array_elements_text(({column})::json) "
                f"AS element(value) WHERE {condition})")

    def json_scalar(self, value: int | str) -> int | str:
        return str(value)  # json_array_elements_text gives text

    def contains(self, column: str, needle: str) -> str:
        return f"strpos(lower({column}), lower({needle})) > 0"

    def lock_writers(self, conn: Connection) -> None:
        # one writer at a time across every process, as SQLite has it: vector ids come
        # from a counter row read and written in the same transaction
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})

    def set_words(self, conn: Connection, mark_id: str, old_vector_id: int | None,
                  vector_id: int, words: str | None) -> None:
        conn.execute(text("DELETE FROM mark_words WHERE mark_id = :id"), {"id": mark_id})
        if words:
            conn.execute(text("INSERT INTO mark_words(mark_id, words) VALUES (:id, :words)"),
                         {"id": mark_id, "words": words})

    def delete_words(self, conn: Connection, marks: dict[str, int]) -> None:
        delete_in(conn, "mark_words", "mark_id", list(marks))

    def words_like(self, conn: Connection, long_terms: list[str], short_terms: list[str],
                   limit: int) -> list[tuple[str, str]]:
        terms = [*long_terms, *short_terms]
        if not terms:
            return []
        params: dict[str, Any] = {"limit": limit, "query": " ".join(long_terms or terms)}
        likes = []
        for i, term in enumerate(terms):  # LIKE '%abc%' is served by the pg_trgm GIN index
            params[f"t{i}"] = "%" + _like_escape(term) + "%"
            likes.append(f"words LIKE :t{i}")
        shared = " + ".join(f"(CASE WHEN {like} THEN 1 ELSE 0 END)" for like in likes)
        rows = conn.execute(text(
            f"SELECT mark_id, words FROM mark_words WHERE {' OR '.join(likes)} "
            f"ORDER BY {shared} DESC, similarity(words, :query) DESC, mark_id LIMIT :limit"),
            params).all()
        return [(str(m), str(w)) for m, w in rows]


def bind_values(params: dict[str, Any], values: Sequence[object], prefix: str = "p") -> str:
    """Bind ``values`` under fresh names in ``params``; returns ``:p0, :p1, ...``."""
    names = []
    for value in values:
        name = f"{prefix}{len(params)}"
        params[name] = value
        names.append(f":{name}")
    return ", ".join(names)


def delete_in(conn: Connection, table: str, column: str, values: list[Any]) -> None:
    """``DELETE FROM table WHERE column IN values``, 500 bound values a statement."""
    for start in range(0, len(values), 500):
        params: dict[str, Any] = {}
        listed = bind_values(params, values[start : start + 500])
        conn.execute(text(f"DELETE FROM {table} WHERE {column} IN ({listed})"), params)


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def dialect_for(backend: str) -> Dialect:
    """The phrasing for an SQLAlchemy backend name ("sqlite" or "postgresql")."""
    return PostgresDialect() if backend == "postgresql" else Dialect()
