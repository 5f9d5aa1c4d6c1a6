"""The record store: vector ids handed out in the transaction, never reused. Each test
runs on SQLite and on a real PostgreSQL server (marked postgres)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.marks.metadata import MarkMetadata
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore
from tests.service.storage.conftest import img


def test_insert_allocates_increasing_vector_ids(store: RecordStore) -> None:
    results = store.upsert([("a", MarkMetadata(name="A"), img(1), None),
                            ("b", MarkMetadata(), img(2), None)])
    assert [r.vector_id for r, _ in results] == [1, 2]
    assert [old for _, old in results] == [None, None]
    assert store.count() == 2
    assert store.get("a").name == "A"


def test_new_image_gets_new_vector_id_and_reports_the_old(store: RecordStore) -> None:
    store.upsert([("a", MarkMetadata(), img(1), None)])
    ((record, replaced),) = store.upsert([("a", MarkMetadata(owner="O"), img(2), None)])
    assert (record.vector_id, replaced) == (2, 1)
    assert record.content_hash == "hash2" and record.owner == "O"


def test_metadata_only_update_keeps_vector_and_image(store: RecordStore) -> None:
    store.upsert([("a", MarkMetadata(), img(1), "src.png")])
    ((record, replaced),) = store.upsert([("a", MarkMetadata(nice_classes=[9]), None, None)])
    assert (record.vector_id, replaced) == (1, None)
    assert record.image_key == "key1" and record.nice_classes == [9]
    assert record.source == "src.png"


def test_ids_never_reused_after_delete(store: RecordStore) -> None:
    store.upsert([("a", MarkMetadata(), img(1), None)])
    assert [r.id for r in store.delete(["a", "zzz"])] == ["a"]
    ((record, _),) = store.upsert([("a", MarkMetadata(), img(1), None)])
    assert record.vector_id == 2


def test_failed_batch_rolls_back(store: RecordStore) -> None:
    with pytest.raises(ValueError, match="no image"):
        store.upsert([("a", MarkMetadata(), img(1), None), ("b", MarkMetadata(), None, None)])
    assert store.count() == 0


def test_lookups(store: RecordStore) -> None:
    store.upsert([(f"m{i}", MarkMetadata(), img(i), None) for i in range(1200)])
    assert len(store.get_by_vector_ids(list(range(1, 1201)))) == 1200
    assert [r.vector_id for r in store.iter_all(batch=500)] == list(range(1, 1201))
    assert store.image_key_in_use("key5") and not store.image_key_in_use("nope")
    assert store.get("missing") is None


def test_persists_across_reopen(location: str | Path) -> None:
    first = RecordStore(location)
    first.upsert([("a", MarkMetadata(name="A"), img(1), None)])
    first.set_meta("k", "v")
    first.close()
    second = RecordStore(location)
    assert second.get("a").name == "A" and second.get_meta("k") == "v"
    second.close()


def _with_words(n: int, text: str | None) -> NewImage:
    return NewImage(f"hash{n}", f"key{n}", "image/png", text=text)


def test_words_are_stored_and_found_by_trigrams(store: RecordStore) -> None:
    store.upsert([
        ("a", MarkMetadata(), _with_words(1, "ACME Corp"), None),
        ("b", MarkMetadata(), _with_words(2, "Zenith"), None),
        ("c", MarkMetadata(), _with_words(3, None), None),
        ("d", MarkMetadata(), _with_words(4, "华为 X1"), None),
    ])
    assert store.get("a").text == "ACME Corp" and store.get("c").text is None
    assert store.marks_with_words("acme") == {"a": "acme corp"}
    assert "b" in store.marks_with_words("zenlth")  # one wrong letter: shares "zen", "th"
    assert store.marks_with_words("华为") == {"d": "华为 x1"}  # short terms by substring
    assert store.marks_with_words("qqqq") == {}


def test_words_follow_updates_and_deletes(store: RecordStore) -> None:
    store.upsert([("a", MarkMetadata(), _with_words(1, "ACME"), None)])
    store.upsert([("a", MarkMetadata(name="renamed"), None, None)])  # metadata only
    assert store.marks_with_words("acme") == {"a": "acme"}
    store.upsert([("a", MarkMetadata(), _with_words(2, "BOLTRA"), None)])  # new image
    assert store.marks_with_words("acme") == {} and "a" in store.marks_with_words("boltra")
    store.delete(["a"])
    assert store.marks_with_words("boltra") == {}


def test_a_register_made_before_words_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = RecordStore(path)
    old.upsert([("a", MarkMetadata(), img(1), None)])
    old.close()
    with sqlite3.connect(path) as conn:  # as an older release left it
        conn.execute("ALTER TABLE marks DROP COLUMN text")
        conn.execute("DROP TABLE mark_words")
        conn.execute("DROP TABLE alembic_version")  # releases before migrations
        conn.execute("DROP TABLE api_keys")
        conn.execute("DROP TABLE vector_log")
        conn.execute("DROP TABLE report_jobs")
        for table in ("watches", "watched_marks", "alerts", "alert_deliveries"):
            conn.execute(f"DROP TABLE {table}")
    reopened = RecordStore(path)
    assert reopened.get("a").text is None
    reopened.upsert([("b", MarkMetadata(), _with_words(2, "ACME"), None)])
    assert reopened.marks_with_words("acme") == {"b": "acme"}
    reopened.close()


def test_two_writers_at_once_never_share_a_vector_id(location: str | Path) -> None:
    """Two stores on one database (as two service processes): writes interleave, and
    every vector id is handed out once."""
    import threading

    stores = [RecordStore(location), RecordStore(location)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for batch in range(15):
                stores[n].upsert([(f"w{n}-{batch}-{i}", MarkMetadata(),
                                   NewImage(f"h{n}{batch}{i}", f"k{n}{batch}{i}", "image/png",
                                            components=(("figure", (0, 0, 1, 1)),)), None)
                                  for i in range(4)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ids = stores[0].vector_ids()
    assert len(ids) == 2 * 15 * 4 * 2 and len(set(ids)) == len(ids)
    assert int(stores[1].get_meta("next_vector_id")) == max(ids) + 1
    for store in stores:
        store.close()
