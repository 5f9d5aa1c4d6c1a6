"""Marks and searches shared by the tests that run one register on two back ends
(Milvus next to FAISS, PostgreSQL next to SQLite) and expect the same answers."""

from __future__ import annotations

from datetime import date

from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from tests.imagegen import make_mark, to_bytes

SEEDS = range(30)
STATUSES = ["registered", "filed", "published", None, "expired"]


def meta(seed: int) -> MarkMetadata:
    return MarkMetadata(
        id=f"mark-{seed}", name=f"Mark {seed}", owner=["Acme Ltd", "Globex", "Initech"][seed % 3],
        nice_classes=[[9], [25, 35], [9, 42]][seed % 3],
        vienna_codes=[["26.01.03"], ["27.05.01"], ["26.11.01", "01.01.01"]][seed % 3],
        status=STATUSES[seed % 5],
        filing_date=None if seed % 7 == 0 else date(2010 + seed % 12, 1 + seed % 9, 15))


OPTIONS = {
    "public": SearchOptions(),
    "examiner": SearchOptions(include_unpublished=True),
    "nice 9": SearchOptions(filters=parse_filters(nice_classes="9"), include_unpublished=True),
    "vienna 26": SearchOptions(filters=parse_filters(vienna_codes="26"), include_unpublished=True),
    "vienna 26.01": SearchOptions(filters=parse_filters(vienna_codes="26.01")),
    "status": SearchOptions(filters=parse_filters(status="registered,expired")),
    "dates": SearchOptions(filters=parse_filters(filed_from="2013-01-01", filed_to="2019-12-31"),
                           include_unpublished=True),
    "owner": SearchOptions(filters=parse_filters(owner="acme"), include_unpublished=True),
    "filed only, public": SearchOptions(filters=parse_filters(status="filed")),
    "all at once": SearchOptions(filters=parse_filters(nice_classes="9,42", vienna_codes="26",
                                                       filed_from="2011-01-01", owner="ini")),
}


def result_ids(register: Register, seed: int, options: SearchOptions, k: int = 8) -> list[str]:
    return [r.record.id for r in register.search(to_bytes(make_mark(seed)), k, options)]
