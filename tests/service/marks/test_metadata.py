"""Metadata validation and metadata files (JSON lines and CSV)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from service.marks.metadata import (
    MarkMetadata,
    MarkStatus,
    MetadataError,
    parse_metadata,
    read_metadata_file,
)


def test_valid_metadata_normalised() -> None:
    meta = parse_metadata({
        "id": "TM-1", "name": " Acme ", "nice_classes": "42; 9, 9", "vienna_codes": ["26.01.01"],
        "status": "registered", "filing_date": "2024-03-01",
    })
    assert meta.name == "Acme"
    assert meta.nice_classes == [9, 42]
    assert meta.status is MarkStatus.registered
    assert meta.filing_date == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nice_classes", [0], "1..45"),
        ("nice_classes", "46", "1..45"),
        ("vienna_codes", ["26-01"], "Vienna"),
        ("status", "pending", "status"),
        ("filing_date", "yesterday", "filing_date"),
        ("id", "bad\x00id", "id"),
    ],
)
def test_invalid_fields_explained(field: str, value: object, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_metadata({field: value})


def test_empty_cells_mean_absent() -> None:
    meta = parse_metadata({"name": "", "status": "", "nice_classes": "", "filing_date": ""})
    assert meta == MarkMetadata()


def test_csv_file_with_file_column(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    path.write_text(
        "file,id,name,nice_classes,status\n"
        "a.png,TM-A,Alpha,9;42,filed\n"
        "sub\\b.png,,Beta,,\n"
        "c.png,,Gamma,99,\n"
    )
    rows = list(read_metadata_file(path))
    assert rows[0] == ("a.png", parse_metadata({"id": "TM-A", "name": "Alpha",
                                                "nice_classes": [9, 42], "status": "filed"}))
    assert rows[1][0] == "sub/b.png" and rows[1][1].name == "Beta"
    assert isinstance(rows[2][1], MetadataError) and ":4" in str(rows[2][1])


def test_csv_without_file_column_rejected(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    path.write_text("id,name\nx,y\n")
    with pytest.raises(MetadataError, match="'file' column"):
        list(read_metadata_file(path))


def test_jsonl_file_reports_bad_lines_and_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "meta.jsonl"
    path.write_text("\n".join([
        json.dumps({"file": "a.png", "name": "A", "nice_classes": [3]}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"name": "no file"}),
        json.dumps({"file": "b.svg", "vienna_codes": ["26.01"]}),
    ]) + "\n")
    rows = list(read_metadata_file(path))
    good = [(f, m) for f, m in rows if isinstance(m, MarkMetadata)]
    bad = [m for _, m in rows if isinstance(m, MetadataError)]
    assert [f for f, _ in good] == ["a.png", "b.svg"]
    assert len(bad) == 3


def test_each_bad_field_is_its_own_line_with_the_line_number(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    path.write_text("file,nice_classes,status,filing_date\n"
                    "a.png,9,filed,2024-01-02\n"
                    "b.png,99,pending,yesterday\n")
    rows = list(read_metadata_file(path))
    assert isinstance(rows[0][1], MarkMetadata)
    error = rows[1][1]
    assert isinstance(error, MetadataError)
    lines = error.problems
    assert len(lines) == 3
    assert all(line.startswith(f"{path}:3: ") for line in lines)
    fields = [line.removeprefix(f"{path}:3: ").split(":")[0] for line in lines]
    assert fields == ["nice_classes", "status", "filing_date"]
    assert not any("pydantic" in line or "Value error" in line for line in lines)
