"""Filters: parsing, validation, Vienna prefix semantics and the record store's SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.marks.filters import QueryError, parse_filters, vienna_matches
from service.marks.metadata import MarkMetadata, MarkStatus
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore


def test_filters_parse_comma_lists_and_dates() -> None:
    f = parse_filters(nice_classes="9, 42;9", vienna_codes="26,26.01.03", status="filed,registered",
                      filed_from="2020-01-01", filed_to="", owner=" Acme ")
    assert f.nice_classes == [9, 42]
    assert f.vienna_codes == ["26", "26.01.03"]
    assert f.status == [MarkStatus.filed, MarkStatus.registered]
    assert f.filed_from == date(2020, 1, 1) and f.filed_to is None
    assert f.owner == "Acme"
    assert not f.is_empty()
    assert parse_filters().is_empty()
    assert f.describe()["nice_classes"] == [9, 42]


@pytest.mark.parametrize("fields", [
    {"nice_classes": "46"}, {"nice_classes": "nine"}, {"vienna_codes": "26.abc"},
    {"vienna_codes": "26.01.01.01"}, {"status": "pending"}, {"filed_from": "yesterday"},
    {"colour": "red"},
])
def test_invalid_filters_are_query_errors(fields: dict[str, str]) -> None:
    with pytest.raises(QueryError, match="invalid filter"):
        parse_filters(**fields)


def test_vienna_prefix_matches_whole_levels_only() -> None:
    assert vienna_matches("26", "26.01.03")
    assert vienna_matches("26.01", "26.01.03")
    assert vienna_matches("26.01.03", "26.01.03")
    assert not vienna_matches("26.01", "26.11.01")
    assert not vienna_matches("2", "26.01.01")
    assert not vienna_matches("26.1", "26.11.01")


def _store(tmp_path: Path) -> RecordStore:
    store = RecordStore(tmp_path / "r.sqlite3")
    rows = [
        ("a", dict(nice_classes=[9], vienna_codes=["26.01.03"], status="registered",
                   filing_date="2019-05-01", owner="Acme Corp")),
        ("b", dict(nice_classes=[9, 42], vienna_codes=["26.11.01"], status="filed",
                   filing_date="2021-03-02", owner="ACME GmbH")),
        ("c", dict(nice_classes=[25], vienna_codes=["03.01.01", "26.01.01"], status="expired",
                   filing_date=None, owner="Zeta")),
        ("d", dict(nice_classes=[], vienna_codes=[], status=None, filing_date=None, owner=None)),
    ]
    store.upsert(
        (mark_id, MarkMetadata(**meta), NewImage(mark_id, mark_id, "image/png"), None)
        for mark_id, meta in rows
    )
    return store


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, {"a", "b", "c", "d"}),
    ({"nice_classes": "9"}, {"a", "b"}),
    ({"nice_classes": "42,25"}, {"b", "c"}),
    ({"vienna_codes": "26"}, {"a", "b", "c"}),
    ({"vienna_codes": "26.01"}, {"a", "c"}),
    ({"vienna_codes": "26.01.03"}, {"a"}),
    ({"vienna_codes": "03,26.11"}, {"b", "c"}),
    ({"status": "filed,expired"}, {"b", "c"}),
    ({"filed_from": "2020-01-01"}, {"b"}),
    ({"filed_to": "2020-01-01"}, {"a"}),
    ({"filed_from": "2019-05-01", "filed_to": "2021-03-02"}, {"a", "b"}),
    ({"owner": "acme"}, {"a", "b"}),
    ({"owner": "gmbh", "nice_classes": "9"}, {"b"}),
    ({"owner": "nobody"}, set()),
])
def test_record_store_applies_each_filter(tmp_path: Path, fields: dict[str, str],
                                          expected: set[str]) -> None:
    store = _store(tmp_path)
    ids = store.vector_ids_matching(parse_filters(**fields))
    assert {r.id for r in store.get_by_vector_ids(ids).values()} == expected
    store.close()


def test_filter_values_are_bound_not_spliced(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.vector_ids_matching(parse_filters(owner="x') OR 1=1 --")) == []
    assert store.count() == 4
    store.close()
