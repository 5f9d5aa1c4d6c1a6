"""Browsing without an image: filters, words, pages and visibility over the records, on
SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

from datetime import date

from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata, MarkStatus
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore
from tests.service.storage.conftest import img

NO_FILTERS = parse_filters()


def _fill(store: RecordStore) -> None:
    rows = [
        ("old", MarkMetadata(name="Acme", owner="Acme Ltd", nice_classes=[9],
                             vienna_codes=["26.01.01"], filing_date=date(2019, 1, 5),
                             status=MarkStatus.registered)),
        ("new", MarkMetadata(name="Zenith", owner="Zenith Co", nice_classes=[9, 42],
                             vienna_codes=["26.11.01"], filing_date=date(2024, 6, 1),
                             status=MarkStatus.registered)),
        ("filed", MarkMetadata(name="Secret", owner="Acme Ltd", nice_classes=[9],
                               filing_date=date(2025, 2, 2), status=MarkStatus.filed)),
        ("undated", MarkMetadata(name="Plain", nice_classes=[25])),
    ]
    store.upsert([(mark_id, meta, img(n), None) for n, (mark_id, meta) in enumerate(rows)])
    store.upsert([("worded", MarkMetadata(nice_classes=[42], filing_date=date(2020, 3, 3)),
                   NewImage("hw", "kw", "image/png", text="BLUE RIVER"), None)])


def _ids(store: RecordStore, words: str | None = None, include_unpublished: bool = True,
         **filters: str) -> list[str]:
    listing = store.list_marks(parse_filters(**filters), words,
                               include_unpublished=include_unpublished, per_page=100)
    return [r.id for r in listing.marks]


def test_newest_filing_first_and_undated_last(store: RecordStore) -> None:
    _fill(store)
    assert _ids(store) == ["filed", "new", "worded", "old", "undated"]


def test_filters_have_the_search_semantics(store: RecordStore) -> None:
    _fill(store)
    assert _ids(store, nice_classes="42") == ["new", "worded"]
    assert _ids(store, vienna_codes="26.01") == ["old"]
    assert _ids(store, vienna_codes="26") == ["new", "old"]
    assert _ids(store, owner="acme") == ["filed", "old"]
    assert _ids(store, filed_from="2020-01-01", filed_to="2024-12-31") == ["new", "worded"]
    assert _ids(store, status="registered") == ["new", "old"]


def test_words_match_the_name_or_the_verbal_element(store: RecordStore) -> None:
    _fill(store)
    assert _ids(store, "zen") == ["new"]
    assert _ids(store, "river") == ["worded"]
    assert _ids(store, "nothing like it") == []
    assert _ids(store, "%") == []  # a bound value, not a LIKE pattern


def test_filed_marks_stay_hidden_from_the_public(store: RecordStore) -> None:
    _fill(store)
    assert "filed" not in _ids(store, include_unpublished=False)
    public = store.list_marks(NO_FILTERS, "secret", include_unpublished=False)
    assert (public.marks, public.total) == ([], 0)  # the count does not give it away
    assert store.list_marks(NO_FILTERS, "secret").total == 1


def test_pages_are_stable_and_counted(store: RecordStore) -> None:
    store.upsert([(f"m{n:02d}", MarkMetadata(filing_date=date(2020, 1, 1)), img(n), None)
                  for n in range(25)])
    pages = [store.list_marks(NO_FILTERS, page=p, per_page=10) for p in (1, 2, 3, 4)]
    assert [len(p.marks) for p in pages] == [10, 10, 5, 0]
    assert {p.total for p in pages} == {25} and {p.pages for p in pages} == {3}
    seen = [r.id for p in pages for r in p.marks]
    assert seen == [f"m{n:02d}" for n in range(25)]  # same date: by id, no repeats
    capped = store.list_marks(NO_FILTERS, per_page=10_000)
    assert capped.per_page == 100
