"""Browsing the register without an image: the marks that pass the filters (and a text
condition), one page at a time, newest filing first.

WIPO's Global Brand Database and EUIPO's eSearch let users list marks by classes, codes,
owner and dates alone; this is that listing, with the same filter semantics and the same
visibility rule as search (service/marks/filters.py, service/security/access.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from service.marks.filters import SearchFilters
from service.storage.db.dialect import Dialect, bind_values
from service.storage.mark_record import MarkRecord
from service.storage.record_filters import filter_sql
from service.storage.record_rows import COLUMNS, row_to_record

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class MarkPage:
    """One page of a listing: its marks, and how many pass the conditions in all."""

    marks: list[MarkRecord]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def listing_sql(filters: SearchFilters, words: str | None, sql: Dialect,
                include_unpublished: bool) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of a listing: the filters, and ``words`` as a case-insensitive
    part of the mark's name or of its verbal element."""
    where, params = filter_sql(filters, sql, include_unpublished)
    if words:
        needle = bind_values(params, [words], "w")
        name, verbal = (sql.contains(f"COALESCE({column}, '')", needle)
                        for column in ("name", "text"))
        where += f" AND ({name} OR {verbal})"
    return where, params


def list_page(conn: Connection, sql: Dialect, filters: SearchFilters, words: str | None,
              page: int, per_page: int, include_unpublished: bool) -> tuple[list[MarkRecord], int]:
    """The records of ``page`` (1-based) and the total count. Newest filing first, marks
    without a filing date last, then by id, so pages are stable."""
    where, params = listing_sql(filters, words, sql, include_unpublished)
    total = int(conn.execute(text(f"SELECT COUNT(*) FROM marks WHERE {where}"),
                             params).scalar_one())
    params.update(limit=per_page, offset=(page - 1) * per_page)
    rows = conn.execute(text(
        f"SELECT {COLUMNS} FROM marks WHERE {where} "
        "ORDER BY (filing_date IS NULL), filing_date DESC, id LIMIT :limit OFFSET :offset"),
        params).all()
    return [row_to_record(row) for row in rows], total
