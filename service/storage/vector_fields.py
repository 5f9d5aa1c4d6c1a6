"""The scalar fields a vector store that filters natively (Milvus) holds per vector, and
the filter expression a search's filters become there.

Every vector of a mark (its whole image and its figures) carries the mark's fields, so a
filter selects vectors inside the vector search itself, as the SQL id selector does for
FAISS, and ``k`` marks come back however selective the filter is. Semantics are those of
``service.search.query``: Vienna codes are stored with every prefix by whole levels, so a prefix
filter is an ``array_contains_any``; a mark without a filing date never matches a date
filter; the publication rule is ``service.security.access``'s. The owner filter (a substring)
has no native form in Milvus 2.3 (``like`` takes prefixes only), so the register turns
it into an id selector from the records.
"""

from __future__ import annotations

import json
from typing import Any

from service.search.query import SearchFilters
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


def filter_expression(filters: SearchFilters, include_unpublished: bool) -> str | None:
    """The Milvus boolean expression for ``filters`` (without the owner part); None when
    nothing restricts the search."""
    parts: list[str] = []
    if not include_unpublished:
        parts.append(f"status not in {json.dumps(sorted(UNPUBLISHED_STATUSES))}")
    if filters.status:
        parts.append(f"status in {json.dumps([s.value for s in filters.status])}")
    if filters.nice_classes:
        parts.append(f"array_contains_any(nice, {json.dumps(filters.nice_classes)})")
    if filters.vienna_codes:
        parts.append(f"array_contains_any(vienna, {json.dumps(filters.vienna_codes)})")
    if filters.filed_from:
        parts.append(f'filed >= "{filters.filed_from.isoformat()}"')
    if filters.filed_to:
        parts.append(f'(filed <= "{filters.filed_to.isoformat()}" and filed != "{NO_DATE}")')
    return " and ".join(parts) if parts else None
