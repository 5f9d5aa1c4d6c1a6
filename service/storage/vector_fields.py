"""The scalar fields a vector store that filters natively (Milvus) holds per vector, and
the conditions over them (``index.field_filter``) a search's filters become there.

Every vector of a mark (its whole image and its figures) carries the mark's fields, so a
filter selects vectors inside the vector search itself, as the SQL id selector does for
FAISS, and ``k`` marks come back however selective the filter is. Semantics are those of
``service.marks.filters``: Vienna codes are stored with every prefix by whole levels, so a prefix
filter is an ``array_contains_any``; a mark without a filing date never matches a date
filter; the publication rule is ``service.security.access``'s. The owner filter (a substring)
has no native form in Milvus 2.3 (``like`` takes prefixes only), so the register turns
it into an id selector from the records.
"""

from __future__ import annotations

from typing import Any

from index.field_filter import FieldCondition, FieldFilter
from service.marks.filters import SearchFilters
from service.security.access import UNPUBLISHED_STATUSES
from service.storage.mark_record import MarkRecord

NO_DATE = ""  # what a mark without a filing date stores (never in a date range)


def vienna_prefixes(codes: list[str]) -> list[str]:
    """``26.01.03`` -> ``26``, ``26.01``, ``26.01.03`` (each once)."""
    out: dict[str, None] = {}
    for code in codes:
        parts = code.split(".")
        for depth in range(1, len(parts) + 1):
            out[".".join(parts[:depth])] = None
    return list(out)


def vector_fields(record: MarkRecord) -> dict[str, Any]:
    """The fields stored beside each of ``record``'s vectors."""
    return {
        "status": record.status or "",
        "nice": list(record.nice_classes),
        "vienna": vienna_prefixes(record.vienna_codes),
        "filed": record.filing_date or NO_DATE,
    }


def field_filter(filters: SearchFilters, include_unpublished: bool) -> FieldFilter | None:
    """The conditions over the vectors' fields for ``filters`` (without the owner part);
    None when nothing restricts the search."""
    parts: list[FieldCondition] = []
    if not include_unpublished:
        parts.append(FieldCondition("status", "not in", tuple(sorted(UNPUBLISHED_STATUSES))))
    if filters.status:
        parts.append(FieldCondition("status", "in", tuple(s.value for s in filters.status)))
    if filters.nice_classes:
        parts.append(FieldCondition("nice", "contains any", tuple(filters.nice_classes)))
    if filters.vienna_codes:
        parts.append(FieldCondition("vienna", "contains any", tuple(filters.vienna_codes)))
    if filters.filed_from:
        parts.append(FieldCondition("filed", ">=", filters.filed_from.isoformat()))
    if filters.filed_to:
        parts += [FieldCondition("filed", "<=", filters.filed_to.isoformat()),
                  FieldCondition("filed", "!=", NO_DATE)]
    return tuple(parts) or None
