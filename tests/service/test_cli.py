"""The tmsearch command line, run in-process as a user would type it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.imagegen import make_mark, to_bytes, write_marks

runner = CliRunner()


def tm(data_dir: Path, *args: str):
    return runner.invoke(app, ["--data-dir", str(data_dir), "--device", "cpu", *args])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "marks"
    write_marks(root, range(4))
    write_marks(root, [4, 5], subdir="sub")
    return root


def test_ingest_summary_ids_and_incremental(tmp_path: Path, folder: Path) -> None:
    data = tmp_path / "data"
    result = tm(data, "ingest", str(folder), "--workers", "0")
    assert result.exit_code == 0, result.output
    assert "added 6, updated 0, skipped 0, failed 0" in result.stdout

    again = tm(data, "ingest", str(folder), "--workers", "0")
    assert "added 0, updated 0, skipped 6, failed 0" in again.stdout

    (folder / "sub" / "mark-4.png").write_bytes(to_bytes(make_mark(40)))
    changed = tm(data, "ingest", str(folder), "--workers", "0")
    assert "added 0, updated 1, skipped 5, failed 0" in changed.stdout

    out = tm(data, "search", "--json", "--k", "2", str(folder / "sub" / "mark-4.png"))
    assert json.loads(out.stdout)["results"][0]["id"] == "sub/mark-4"


def test_ingest_with_csv_metadata(tmp_path: Path, folder: Path) -> None:
    meta = tmp_path / "meta.csv"
    meta.write_text("file,id,name,owner,nice_classes\n"
                    "mark-0.png,TM-0,Zero,Acme,9;42\n"
                    "sub/mark-5.png,,Five,,\n")
    data = tmp_path / "data"
    assert tm(data, "ingest", str(folder), "--metadata", str(meta), "--workers", "0"
              ).exit_code == 0
    out = tm(data, "search", "--json", "--k", "1", str(folder / "mark-0.png"))
    assert json.loads(out.stdout)["results"][0] == {
        "id": "TM-0", "score": pytest.approx(1.0, abs=1e-4), "name": "Zero"}
    out5 = tm(data, "search", "--json", "--k", "1", str(folder / "sub" / "mark-5.png"))
    assert json.loads(out5.stdout)["results"][0]["name"] == "Five"


def test_ingest_with_jsonl_metadata(tmp_path: Path, folder: Path) -> None:
    meta = tmp_path / "meta.jsonl"
    meta.write_text(json.dumps({"file": "mark-1.png", "id": "TM-1", "name": "One"}) + "\n")
    data = tmp_path / "data"
    tm(data, "ingest", str(folder), "--metadata", str(meta), "--workers", "0")
    out = tm(data, "search", "--json", "--k", "1", str(folder / "mark-1.png"))
    assert json.loads(out.stdout)["results"][0]["id"] == "TM-1"


def test_bad_files_reported_one_line_each_and_batch_continues(
    tmp_path: Path, folder: Path
) -> None:
    (folder / "corrupt.png").write_bytes(to_bytes(make_mark(9))[:300])
    (folder / "empty.jpg").write_bytes(b"")
    result = tm(tmp_path / "data", "ingest", str(folder), "--workers", "0")
    assert result.exit_code == 1
    assert "added 6, updated 0, skipped 0, failed 2" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert any("corrupt.png" in e for e in errors) and any("empty.jpg" in e for e in errors)


def test_search_json_queries_list_and_missing_query(tmp_path: Path, folder: Path) -> None:
    data = tmp_path / "data"
    tm(data, "ingest", str(folder), "--workers", "0")
    listing = tmp_path / "queries.txt"
    queries = [str(folder / "mark-2.png"), str(folder / "missing.png"),
               str(folder / "sub" / "mark-5.png")]
    listing.write_text("\n".join(queries) + "\n")
    result = tm(data, "search", "--json", "--k", "3", "--queries", str(listing))
    assert result.exit_code == 1  # one query failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == queries
    assert lines[0]["results"][0]["id"] == "mark-2" and len(lines[0]["results"]) == 3
    assert "error" in lines[1]
    assert lines[2]["results"][0]["id"] == "sub/mark-5"
    scores = [r["score"] for r in lines[0]["results"]]
    assert scores == sorted(scores, reverse=True)


def test_search_text_output_and_usage_error(tmp_path: Path, folder: Path) -> None:
    data = tmp_path / "data"
    tm(data, "ingest", str(folder), "--workers", "0")
    text = tm(data, "search", str(folder / "mark-3.png"))
    assert text.exit_code == 0 and "mark-3" in text.stdout.splitlines()[1]
    assert tm(data, "search").exit_code == 2


def test_remove_reindex_stats(tmp_path: Path, folder: Path) -> None:
    data = tmp_path / "data"
    tm(data, "ingest", str(folder), "--workers", "0")
    removed = tm(data, "remove", "mark-1", "nope")
    assert removed.exit_code == 1
    assert "removed mark-1" in removed.stdout and "nope" in removed.stderr
    out = tm(data, "search", "--json", "--k", "10", str(folder / "mark-1.png"))
    assert "mark-1" not in [r["id"] for r in json.loads(out.stdout)["results"]]

    before = tm(data, "search", "--json", "--k", "3", str(folder / "mark-0.png")).stdout
    reindexed = tm(data, "reindex")
    assert reindexed.exit_code == 0 and "re-indexed 5 marks" in reindexed.stdout
    assert tm(data, "search", "--json", "--k", "3", str(folder / "mark-0.png")).stdout == before

    stats = json.loads(tm(data, "stats", "--json").stdout)
    assert stats["marks"] == stats["vectors"] == 5
    assert stats["needs_reindex"] is False and "@" in stats["model_version"]


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = tm(tmp_path / "data", "ingest", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "not a folder" in result.stderr


def test_demo_register_from_a_subset(tmp_path: Path) -> None:
    data = tmp_path / "data"
    built = tm(data, "demo", "--limit", "12")
    assert built.exit_code == 0, built.output
    assert "added 12" in built.stdout
    again = tm(data, "demo", "--limit", "12")
    assert "already has 12 marks" in again.stdout
    pngs = sorted((data / "demo-src" / "images").glob("*.png"))
    assert len(pngs) == 12
    out = tm(data, "search", "--json", "--k", "3", str(pngs[5]))
    first = json.loads(out.stdout)["results"][0]
    assert first["id"] == pngs[5].stem and first["score"] == pytest.approx(1.0, abs=1e-4)
    assert first["name"]  # the brand name is the mark name
