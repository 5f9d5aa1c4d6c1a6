"""The search filters (service/marks/filters.py ``SearchFilters``) as SQL over the records,
in either dialect; every value is bound, never spliced."""

from __future__ import annotations

from typing import Any

from service.marks.filters import SearchFilters
from service.security.access import published_sql
from service.storage.db.dialect import Dialect, bind_values


def filter_sql(filters: SearchFilters, sql: Dialect, include_unpublished: bool = True
                ) -> tuple[str, dict[str, Any]]:
    """A WHERE clause and its parameters for ``filters``; values are always bound."""
    clauses: list[str] = ["TRUE" if include_unpublished else published_sql()]
    params: dict[str, Any] = {}
    if filters.nice_classes:
        listed = bind_values(params, [sql.json_scalar(c) for c in filters.nice_classes])
        clauses.append(sql.json_element_exists("marks.nice_classes", f"value IN ({listed})"))
    if filters.vienna_codes:
        any_of = []
        for prefix in filters.vienna_codes:  # the code itself, or one below it
            code, length, below = (bind_values(params, [v]) for v in (prefix, len(prefix) + 1,
                                                                 prefix + "."))
            any_of.append(f"(value = {code} OR substr(value, 1, {length}) = {below})")
        clauses.append(sql.json_element_exists("marks.vienna_codes", " OR ".join(any_of)))
    if filters.status:
        clauses.append(f"status IN ({bind_values(params, [s.value for s in filters.status])})")
    if filters.filed_from:
        clauses.append(f"filing_date >= {bind_values(params, [filters.filed_from.isoformat()])}")
    if filters.filed_to:
        clauses.append(f"filing_date <= {bind_values(params, [filters.filed_to.isoformat()])}")
    if filters.owner:
        clauses.append(sql.contains("owner", bind_values(params, [filters.owner])))
    return " AND ".join(clauses), params
