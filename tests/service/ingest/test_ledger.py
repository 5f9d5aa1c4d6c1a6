"""The ingest ledger: metadata rows, claimed mark ids and unseen rows, on disk."""

from __future__ import annotations

import tracemalloc

from service.ingest.ledger import IngestLedger
from service.marks.metadata import MarkMetadata, MetadataError


def test_metadata_rows_are_found_by_file_and_a_later_row_wins() -> None:
    with IngestLedger() as ledger:
        ledger.load_metadata([
            ("a.png", MarkMetadata(name="first", nice_classes=[9])),
            ("b.png", MetadataError("rows.csv:3: nice_classes: out of range")),
            ("a.png", MarkMetadata(name="second", nice_classes=[9, 42])),
        ])
        rows = ledger.metadata_for(["a.png", "b.png", "c.png"])
        assert set(rows) == {"a.png", "b.png"}
        a = rows["a.png"]
        assert isinstance(a, MarkMetadata) and (a.name, a.nice_classes) == ("second", [9, 42])
        assert isinstance(rows["b.png"], MetadataError)
        assert "out of range" in str(rows["b.png"])


def test_unseen_errors_are_the_bad_rows_whose_file_was_never_met() -> None:
    with IngestLedger() as ledger:
        ledger.load_metadata([("gone.png", MetadataError("bad row")),
                              ("met.png", MetadataError("bad too")),
                              ("fine.png", MarkMetadata())])
        ledger.metadata_for(["met.png", "fine.png"])
        assert list(ledger.unseen_errors()) == [("gone.png", "bad row")]


def test_a_mark_id_is_claimed_once_per_run() -> None:
    with IngestLedger() as ledger:
        assert ledger.claim("logo") is True
        assert ledger.claim("logo") is False
        assert ledger.claim("other") is True
    with IngestLedger() as fresh:  # a new run starts empty
        assert fresh.claim("logo") is True


def test_lookups_are_chunked_past_sqlites_parameter_limit() -> None:
    with IngestLedger() as ledger:
        ledger.load_metadata((f"{i}.png", MarkMetadata(name=str(i))) for i in range(2500))
        rows = ledger.metadata_for([f"{i}.png" for i in range(2500)])
        assert len(rows) == 2500 and rows["2499.png"].name == "2499"


def test_a_large_metadata_file_is_not_held_in_memory() -> None:
    """100,000 rows loaded: the Python heap stays small because
    the rows live in the ledger's temporary database, not in dicts."""
    rows = ((f"dir/{i:06d}.png", MarkMetadata(name=f"Mark {i}", owner="Acme", nice_classes=[9]))
            for i in range(100_000))
    tracemalloc.start()
    try:
        with IngestLedger() as ledger:
            ledger.load_metadata(rows)
            for i in range(0, 100_000, 1000):
                assert ledger.claim(f"dir/{i:06d}")
            found = ledger.metadata_for([f"dir/{i:06d}.png" for i in range(256)])
            peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(found) == 256
    assert peak < 8_000_000  # bytes; the same rows in a dict of MarkMetadata take ~100 MB
