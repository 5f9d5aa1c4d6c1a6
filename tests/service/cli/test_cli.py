"""``tmsearch`` end to end through its command line (Typer's CliRunner, in-process)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from models.embedder import Embedder
from service.cli import app
from service.register import Register
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes, write_marks

Cli = Callable[..., Result]
SUMMARY = re.compile(
    r"^added (\d+), updated (\d+), skipped (\d+), failed (\d+) in [\d.]+ s", re.MULTILINE
)


def summary(result: Result) -> tuple[int, int, int, int]:
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout
    added, updated, skipped, failed = (int(g) for g in match.groups())
    return added, updated, skipped, failed


def error_lines(result: Result) -> list[str]:
    """``error:`` messages on stderr (progress bars redraw with \\r around them)."""
    return re.findall(r"error: [^\r\n]*", result.stderr)


def json_lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def search_ids(cli, *paths: str | Path, k: int = 50) -> list[list[str]]:
    result = cli("search", "--json", "--k", str(k), *map(str, paths))
    assert result.exit_code == 0, result.output
    return [[r["id"] for r in line["results"]] for line in json_lines(result)]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """7 marks: 4 at the top, 2 in sub/, 1 in sub/deeper/ (as JPEG)."""
    root = tmp_path / "in"
    write_marks(root, range(4))
    write_marks(root, [10, 11], subdir="sub")
    write_marks(root, [20], fmt="JPEG", subdir="sub/deeper")
    return root


ALL_IDS = {"mark-0", "mark-1", "mark-2", "mark-3", "sub/mark-10", "sub/mark-11",
           "sub/deeper/mark-20"}


# -- ingest -------------------------------------------------------------------------------
def test_ingest_nested_folders_ids_are_relative_posix_paths(
    cli: Cli, folder: Path, model_loads: list[tuple[Any, ...]]
) -> None:
    result = cli("ingest", str(folder))
    assert result.exit_code == 0, result.output
    assert summary(result) == (7, 0, 0, 0)
    assert error_lines(result) == []
    assert model_loads and all("cpu" in call for call in model_loads)  # --device reached it
    paths = sorted(folder.rglob("*.*"))
    assert len(paths) == 7
    for path, ids in zip(paths, search_ids(cli, *paths), strict=True):
        assert ids[0] == path.relative_to(folder).with_suffix("").as_posix()
        assert set(ids) == ALL_IDS


def test_reingest_skips_unchanged_and_updates_changed(cli: Cli, folder: Path) -> None:
    assert summary(cli("ingest", str(folder))) == (7, 0, 0, 0)
    again = cli("ingest", str(folder))
    assert again.exit_code == 0
    assert summary(again) == (0, 0, 7, 0)
    assert "skipped 7" in again.stdout

    (folder / "sub" / "mark-10.png").write_bytes(to_bytes(make_mark(99)))
    changed = cli("ingest", str(folder))
    assert summary(changed) == (0, 1, 6, 0)
    assert "updated 1" in changed.stdout
    (ids,) = search_ids(cli, folder / "sub" / "mark-10.png")
    assert ids[0] == "sub/mark-10"
    assert len(ids) == 7

    write_marks(folder, [30], subdir="new")
    assert summary(cli("ingest", str(folder))) == (1, 0, 7, 0)


def test_ingest_with_csv_metadata(
    cli: Cli, folder: Path, tmp_path: Path, settings: Settings, embedder: Embedder, data_dir: Path
) -> None:
    meta = tmp_path / "marks.csv"
    with open(meta, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "id", "name", "owner", "nice_classes"])
        writer.writerow(["mark-1.png", "TM-1", "Acme", "Acme Ltd", "9;42"])
        writer.writerow(["sub/mark-10.png", "TM-10", "Zeta, Inc.", "Zeta", "25"])
        writer.writerow(["mark-2.png", "", "Named only", "", ""])
    result = cli("ingest", str(folder), "--metadata", str(meta))
    assert result.exit_code == 0, result.output
    assert summary(result) == (7, 0, 0, 0)

    with Register(settings.model_copy(update={"data_dir": data_dir}), embedder) as register:
        tm1 = register.get("TM-1")
        assert (tm1.name, tm1.owner, tm1.nice_classes) == ("Acme", "Acme Ltd", [9, 42])
        assert tm1.source == "mark-1.png"
        assert register.get("TM-10").name == "Zeta, Inc."
        assert register.get("TM-10").nice_classes == [25]
        assert register.get("mark-2").name == "Named only"  # no id given: from the path
        assert register.get("mark-3").name is None
        assert register.records.count() == 7
    line = json_lines(cli("search", "--json", "--k", "2", str(folder / "mark-1.png")))[0]
    top = line["results"][0]
    assert (top["id"], top["name"]) == ("TM-1", "Acme")
    assert top["score"] == pytest.approx(1.0, abs=1e-4)

    with open(meta, "a", newline="", encoding="utf-8") as fh:  # a row for a missing image
        csv.writer(fh).writerow(["gone.png", "TM-9", "Gone", "", ""])
    again = cli("ingest", str(folder), "--metadata", str(meta))  # a re-run: all skipped
    assert again.exit_code == 1 and summary(again) == (0, 0, 7, 1)
    assert error_lines(again) == [f"error: gone.png: the metadata names gone.png, but there is "
                                  f"no such image under {folder}"]

    with open(meta, "a", newline="", encoding="utf-8") as fh:  # missing and a bad row too
        csv.writer(fh).writerow(["lost.png", "TM-8", "Lost", "", "0"])
    third = cli("ingest", str(folder), "--metadata", str(meta))
    assert third.exit_code == 1 and summary(third) == (0, 0, 7, 2)
    assert sorted(error_lines(third))[1:] == [
        f"error: lost.png: invalid metadata row, {meta}:6: nice_classes: Nice classes are "
        "1..45, got [0]",
        f"error: lost.png: the metadata names lost.png, but there is no such image under "
        f"{folder}",
    ]


def test_ingest_with_jsonl_metadata_and_a_bad_row(
    cli: Cli, folder: Path, tmp_path: Path, settings: Settings, embedder: Embedder, data_dir: Path
) -> None:
    meta = tmp_path / "marks.jsonl"
    rows = [
        {"file": "mark-0.png", "id": "TM-0", "name": "Zero", "nice_classes": [3, 9],
         "vienna_codes": ["26.01.01"], "status": "registered", "filing_date": "2021-05-01"},
        {"file": "sub/deeper/mark-20.jpg", "name": "Twenty", "status": "filed"},
        {"file": "mark-3.png", "id": "TM-3", "nice_classes": [99]},  # invalid
        {"file": "mark-2.png", "id": "TM-2", "nice_classes": [0], "status": "pending"},
    ]
    meta.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    result = cli("ingest", str(folder), "--metadata", str(meta))
    assert result.exit_code == 1
    errors = error_lines(result)  # one line per bad field, each with file and line number
    assert sorted(errors) == [
        f"error: mark-2.png: invalid metadata row, {meta}:4: nice_classes: Nice classes are "
        "1..45, got [0]",
        f"error: mark-2.png: invalid metadata row, {meta}:4: status: 'pending' is not one of "
        "'filed', 'published', 'registered', 'expired' or 'refused'",
        f"error: mark-3.png: invalid metadata row, {meta}:3: nice_classes: Nice classes are "
        "1..45, got [99]",
    ]
    assert summary(result)[3] == 2
    with Register(settings.model_copy(update={"data_dir": data_dir}), embedder) as register:
        zero = register.get("TM-0")
        assert zero.nice_classes == [3, 9] and zero.vienna_codes == ["26.01.01"]
        assert (zero.status, zero.filing_date) == ("registered", "2021-05-01")
        assert register.get("sub/deeper/mark-20").name == "Twenty"
        assert register.get("sub/deeper/mark-20").status == "filed"
        with pytest.raises(KeyError):
            register.get("TM-3")


def test_list_browses_by_filters_without_an_image(cli: Cli, folder: Path, tmp_path: Path
                                                  ) -> None:
    meta = tmp_path / "marks.jsonl"
    rows = [{"file": "mark-0.png", "id": "TM-0", "name": "Zero", "owner": "Acme Ltd",
             "nice_classes": [9], "filing_date": "2021-05-01", "status": "registered"},
            {"file": "mark-1.png", "id": "TM-1", "name": "One", "owner": "Zenith",
             "nice_classes": [9, 42], "filing_date": "2023-02-03", "status": "filed"}]
    meta.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert cli("ingest", str(folder), "--metadata", str(meta)).exit_code == 0
    listed = json_lines(cli("list", "--json", "--nice-classes", "9"))
    assert [m["id"] for m in listed] == ["TM-1", "TM-0"]  # newest filing first; filed too
    assert listed[1]["owner"] == "Acme Ltd" and listed[1]["nice_classes"] == [9]
    assert [m["id"] for m in json_lines(cli("list", "--json", "--owner", "acme"))] == ["TM-0"]
    assert [m["id"] for m in json_lines(cli("list", "--json", "--text", "one"))] == ["TM-1"]
    plain = cli("list", "--per-page", "3", "--page", "2")
    assert plain.exit_code == 0 and len(plain.stdout.splitlines()) == 3
    assert "page 2 of 3, 7 marks" in plain.stderr
    bad = cli("list", "--vienna-codes", "26.1")
    assert bad.exit_code == 2 and error_lines(bad) == [
        'error: invalid filter vienna_codes: Vienna codes have two digits a level: "26.01", '
        'not "26.1"']


def test_csv_without_a_file_column_is_an_error(cli: Cli, folder: Path, tmp_path: Path) -> None:
    meta = tmp_path / "marks.csv"
    meta.write_text("id,name\nTM-1,Acme\n")
    result = cli("ingest", str(folder), "--metadata", str(meta))
    assert result.exit_code == 1
    assert any("'file' column" in e for e in error_lines(result))
    assert json.loads(cli("stats", "--json").stdout)["marks"] == 0


def test_corrupt_and_empty_files_are_reported_and_the_rest_ingested(
    cli: Cli, folder: Path
) -> None:
    (folder / "sub" / "broken.png").write_bytes(to_bytes(make_mark(5))[:200])
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image, not even looked at")
    result = cli("ingest", str(folder))
    assert result.exit_code == 1
    assert summary(result) == (7, 0, 0, 2)
    errors = error_lines(result)
    assert len(errors) == 2, result.stderr
    assert any("sub/broken.png" in e for e in errors)
    assert any("empty.jpg" in e and "empty" in e for e in errors)
    assert "error:" not in result.stdout
    (ids,) = search_ids(cli, folder / "mark-2.png")
    assert ids[0] == "mark-2" and set(ids) == ALL_IDS
    # a re-run reports the same two files again and skips the rest
    again = cli("ingest", str(folder))
    assert again.exit_code == 1
    assert summary(again) == (0, 0, 7, 2)


def test_two_files_with_one_mark_id(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "dup"
    write_marks(root, [1])
    write_marks(root, [2], fmt="JPEG")
    (root / "mark-2.jpg").rename(root / "mark-1.jpg")
    result = cli("ingest", str(root))
    assert result.exit_code == 1
    assert summary(result) == (1, 0, 0, 1)
    assert any("mark-1" in e for e in error_lines(result))


def test_ingest_with_worker_processes(cli: Cli, folder: Path) -> None:
    result = cli("ingest", str(folder), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert summary(result) == (7, 0, 0, 0)
    (ids,) = search_ids(cli, folder / "sub" / "deeper" / "mark-20.jpg")
    assert ids[0] == "sub/deeper/mark-20"


def test_hostile_svgs_in_a_batch_are_one_error_line_each(cli: Cli, folder: Path) -> None:
    ns = 'xmlns="http://www.w3.org/2000/svg"'
    (folder / "deep.svg").write_text(f'<svg {ns} viewBox="0 0 100 100">' + "<g>" * 300
                                     + '<rect width="50" height="50"/>' + "</g>" * 300 + "</svg>")
    (folder / "thin.svg").write_text(f'<svg {ns} viewBox="0 0 1 1000000000"><rect width="1" '
                                     'height="50"/></svg>')
    (folder / "linked.svg").write_text(f'<svg {ns} viewBox="0 0 9 9"><rect width="5" height="5" '
                                       'fill="url(http://example.com/p#a)"/></svg>')
    (folder / "good.svg").write_text(f'<svg {ns} viewBox="0 0 9 9"><circle cx="4" cy="4" '
                                     'r="3"/></svg>')
    result = cli("ingest", str(folder), "--workers", "2")  # the batch aborted before
    assert result.exit_code == 1
    assert summary(result) == (8, 0, 0, 3)
    errors = error_lines(result)
    assert len(errors) == 3, result.stderr
    assert any("deep.svg" in e and "nested deeper" in e for e in errors)
    assert any("thin.svg" in e and "longer than it is wide" in e for e in errors)
    assert any("linked.svg" in e and "external references" in e for e in errors)


def test_usage_errors_exit_2(cli: Cli, folder: Path, tmp_path: Path) -> None:
    missing = cli("ingest", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "not a folder" in missing.stderr
    bad_meta = cli("ingest", str(folder), "--metadata", str(tmp_path / "nope.csv"))
    assert bad_meta.exit_code == 2 and "metadata file not found" in bad_meta.stderr
    assert cli("search").exit_code == 2
    assert cli("search", "--queries", str(tmp_path / "nope.txt")).exit_code == 2


# -- search -------------------------------------------------------------------------------
def test_search_json_reports_the_query_as_given(
    cli: Cli, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("ingest", str(folder))
    monkeypatch.chdir(folder.parent)
    result = cli("search", "--json", "--k", "4", "in/sub/mark-11.png")
    assert result.exit_code == 0, result.output
    (line,) = json_lines(result)
    assert set(line) == {"query", "query_text", "results"}
    assert line["query"] == "in/sub/mark-11.png"
    results = line["results"]
    assert len(results) == 4
    assert all(set(r) == {"id", "score", "name", "text", "risk", "match"} for r in results)
    assert results[0]["id"] == "sub/mark-11"
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-4)
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    assert len({r["id"] for r in results}) == 4


def test_search_plain_output(cli: Cli, folder: Path) -> None:
    cli("ingest", str(folder))
    query = str(folder / "mark-3.png")
    result = cli("search", "--k", "2", query)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"{query}:"
    assert re.match(r"^\s+1\. 1\.0000  high\s+mark-3\s*$", lines[1]), lines[1]
    assert re.match(r"^\s+2\. -?[01]\.\d{4}  (high|medium|low)\s+\S+", lines[2]), lines[2]
    assert len(lines) == 3


def test_search_queries_file_with_a_missing_path(cli: Cli, folder: Path, tmp_path: Path) -> None:
    cli("ingest", str(folder))
    queries = [folder / "mark-0.png", tmp_path / "missing.png", folder / "sub" / "mark-10.png",
               folder / "sub" / "deeper" / "mark-20.jpg"]
    listing = tmp_path / "queries.txt"
    listing.write_text("\n".join(map(str, queries)) + "\n\n")
    result = cli("search", "--json", "--k", "3", "--queries", str(listing))
    assert result.exit_code == 1
    lines = json_lines(result)
    assert [line["query"] for line in lines] == [str(q) for q in queries]
    assert lines[1] == {"query": str(tmp_path / "missing.png"), "error": lines[1]["error"]}
    assert "cannot read" in lines[1]["error"]
    assert [line["results"][0]["id"] for i, line in enumerate(lines) if i != 1] == [
        "mark-0", "sub/mark-10", "sub/deeper/mark-20"]
    assert all(len(line["results"]) == 3 for i, line in enumerate(lines) if i != 1)
    errors = error_lines(result)
    assert len(errors) == 1 and "missing.png" in errors[0]


def test_search_reports_a_non_image_query(cli: Cli, folder: Path, tmp_path: Path) -> None:
    cli("ingest", str(folder))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not a png")
    result = cli("search", "--json", str(junk), str(folder / "mark-1.png"))
    assert result.exit_code == 1
    first, second = json_lines(result)
    assert "error" in first and "results" not in first
    assert second["results"][0]["id"] == "mark-1"


def test_search_by_id_crop_and_rotation(cli: Cli, folder: Path, tmp_path: Path) -> None:
    cli("ingest", str(folder))
    result = cli("search", "--json", "--k", "3", "--id", "mark-2")
    assert result.exit_code == 0, result.output
    (line,) = json_lines(result)
    assert line["query"] == "id:mark-2"
    assert len(line["results"]) == 3 and "mark-2" not in {r["id"] for r in line["results"]}

    from PIL import Image

    canvas = Image.new("RGB", (300, 128), "white")
    canvas.paste(make_mark(1), (0, 0))
    canvas.paste(make_mark(3).transpose(Image.Transpose.ROTATE_90), (172, 0))
    query = tmp_path / "composite.png"
    query.write_bytes(to_bytes(canvas))
    left = cli("search", "--json", "--k", "1", "--crop", "0,0,128,128", str(query))
    assert json_lines(left)[0]["results"][0]["id"] == "mark-1"
    right = cli("search", "--json", "--k", "1", "--crop", "172,0,128,128",
                "--rotation-tolerant", str(query))
    (hit,) = json_lines(right)[0]["results"]
    assert hit["id"] == "mark-3" and hit["score"] == pytest.approx(1.0, abs=1e-3)


def test_search_filters_from_the_command_line(cli: Cli, folder: Path, tmp_path: Path) -> None:
    rows = tmp_path / "meta.csv"
    rows.write_text(
        "file,id,nice_classes,vienna_codes,owner,status,filing_date\n"
        "mark-0.png,mark-0,9,26.01.01,Acme,registered,2020-01-01\n"
        "mark-1.png,mark-1,25,26.11.01,Acme,filed,2022-01-01\n"
        "mark-2.png,mark-2,9;25,03.01.01,Zeta,registered,2018-01-01\n"
    )
    assert cli("ingest", str(folder), "--metadata", str(rows)).exit_code == 0
    query = str(folder / "mark-3.png")

    def ids(*flags: str) -> set[str]:
        result = cli("search", "--json", "--k", "5", *flags, query)
        assert result.exit_code == 0, result.output
        return {r["id"] for r in json_lines(result)[0]["results"]}

    assert ids("--nice-classes", "9") == {"mark-0", "mark-2"}
    assert ids("--vienna-codes", "26") == {"mark-0", "mark-1"}
    assert ids("--owner", "acme", "--status", "filed") == {"mark-1"}
    assert ids("--filed-from", "2019-06-01", "--filed-to", "2021-01-01") == {"mark-0"}
    bad = cli("search", "--nice-classes", "77", query)
    assert bad.exit_code == 2 and "Nice classes" in bad.stderr
    assert ids("--mode", "shape", "--nice-classes", "25") == {"mark-1", "mark-2"}
    assert cli("search", "--mode", "texture", query).exit_code == 2
    bad_crop = cli("search", "--crop", "1,2,3", query)
    assert bad_crop.exit_code == 2
    missing = cli("search", "--id", "nope")
    assert missing.exit_code == 1 and "no mark with id 'nope'" in missing.stderr


# -- remove, reindex, stats ---------------------------------------------------------------
def test_remove(cli: Cli, folder: Path) -> None:
    cli("ingest", str(folder))
    result = cli("remove", "sub/mark-10")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "removed sub/mark-10"
    (ids,) = search_ids(cli, folder / "sub" / "mark-10.png")
    assert "sub/mark-10" not in ids and len(ids) == 6

    unknown = cli("remove", "nope")
    assert unknown.exit_code == 1
    assert error_lines(unknown) == ["error: no mark with id 'nope'"]

    mixed = cli("remove", "mark-0", "nope")
    assert mixed.exit_code == 1
    assert "removed mark-0" in mixed.stdout
    (ids,) = search_ids(cli, folder / "mark-0.png")
    assert set(ids) == ALL_IDS - {"sub/mark-10", "mark-0"}
    # the removed file counts as new on the next ingest
    assert summary(cli("ingest", str(folder))) == (2, 0, 5, 0)


def test_reindex_keeps_results(cli: Cli, folder: Path) -> None:
    cli("ingest", str(folder))
    queries = [folder / "mark-1.png", folder / "sub" / "mark-11.png",
               folder / "sub" / "deeper" / "mark-20.jpg"]
    before = json_lines(cli("search", "--json", "--k", "7", *map(str, queries)))
    result = cli("reindex")
    assert result.exit_code == 0, result.output
    assert re.match(r"re-indexed 7 marks with model \S+", result.stdout)
    after = json_lines(cli("search", "--json", "--k", "7", *map(str, queries)))
    assert [[r["id"] for r in q["results"]] for q in after] == [
        [r["id"] for r in q["results"]] for q in before]
    for old, new in zip(before, after, strict=True):
        for a, b in zip(old["results"], new["results"], strict=True):
            assert b["score"] == pytest.approx(a["score"], abs=1e-4)


def test_stats_json(tmp_path: Path, folder: Path, embedder: Embedder) -> None:
    """Without the model patch: the command loads the real model, on the CPU as asked."""
    data_dir = tmp_path / "real"
    settings = Settings(data_dir=data_dir, device="cpu", workers=0)
    with Register(settings, embedder) as register:
        register.ingest_folder(folder)
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "--device", "cpu",
                                      "stats", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["marks"] == 7 and info["vectors"] >= 7
    assert info["model_version"] == info["index_model_version"] == embedder.version
    assert info["dim"] == embedder.dim
    assert info["device"] == "cpu"
    assert info["needs_reindex"] is False
    assert info["data_dir"] == str(data_dir.resolve())
    assert info["last_ingest"] and info["last_reindex"] is None


def test_model_mismatch_is_reported_and_reindex_fixes_it(
    cli: Cli, folder: Path, data_dir: Path
) -> None:
    from index.faiss_store import FaissStore
    from service.storage.layout import INDEX_FILE

    cli("ingest", str(folder))
    store = FaissStore.load(data_dir / INDEX_FILE)
    store.info.model_version = "older-model@000000000000"
    store.save(data_dir / INDEX_FILE)

    result = cli("search", "--json", str(folder / "mark-1.png"))
    assert result.exit_code == 1
    assert "tmsearch reindex" in result.stderr
    assert result.stdout == ""
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["needs_reindex"] is True
    assert stats["index_model_version"] == "older-model@000000000000"
    assert cli("ingest", str(folder)).exit_code == 1  # no mixing of two models' vectors

    assert cli("reindex").exit_code == 0
    (ids,) = search_ids(cli, folder / "mark-1.png")
    assert ids[0] == "mark-1"
    assert json.loads(cli("stats", "--json").stdout)["needs_reindex"] is False


# -- demo ---------------------------------------------------------------------------------
def test_demo_register(cli: Cli, data_dir: Path) -> None:
    from service.demo_metadata import CHINESE_MARKS, CJK_FONT

    marks = 12 + (len(CHINESE_MARKS) if CJK_FONT.is_file() else 0)  # icons, then word marks
    result = cli("demo", "--limit", "12")
    assert result.exit_code == 0, result.output
    assert f"demo register: added {marks}, updated 0, skipped 0, failed 0" in result.stdout
    assert json.loads(cli("stats", "--json").stdout)["marks"] == marks
    assert "12/12" in result.stderr  # the render bar has a total

    again = cli("demo", "--limit", "12")  # a restart of `make run`
    assert again.exit_code == 0
    assert "demo register ready" in again.stdout and f"{marks} marks" in again.stdout
    assert "--force" not in again.stdout  # said only where it applies
    assert json.loads(cli("stats", "--json").stdout)["marks"] == marks

    rows = [json.loads(line) for line in (data_dir / "demo-src" / "metadata.jsonl").read_text(
        encoding="utf-8").splitlines()]
    icons = [r for r in rows if not r["id"].startswith("zh-")]
    assert len(icons) == 12 and len(rows) == marks
    pick = icons[5]
    rendered = data_dir / "demo-src" / "images" / f"{pick['id']}.png"
    assert rendered.is_file()
    (line,) = json_lines(cli("search", "--json", "--k", str(marks), str(rendered)))
    top = line["results"][0]
    assert (top["id"], top["name"]) == (pick["id"], pick["name"])
    assert top["score"] == pytest.approx(1.0, abs=1e-4)
    assert {r["id"] for r in line["results"]} == {r["id"] for r in rows}
    filed = json_lines(cli("search", "--json", "--k", str(marks), "--status", "filed",
                           str(rendered)))[0]["results"]
    wanted = {r["id"] for r in rows if r["status"] == "filed"}
    assert wanted  # the synthetic statuses hold filed marks (three of these 18)
    assert {r["id"] for r in filed} == wanted  # the filters have marks to find


def test_the_demo_into_another_register_says_how_to_force_it(cli: Cli, folder: Path) -> None:
    assert cli("ingest", str(folder)).exit_code == 0
    other = cli("demo", "--limit", "3")
    assert other.exit_code == 0 and "use --force" in other.stdout


def test_demo_reindexes_a_demo_register_made_by_another_model(cli: Cli, data_dir: Path) -> None:
    from index.faiss_store import FaissStore

    assert cli("demo", "--limit", "6").exit_code == 0
    index_path = data_dir / "index" / "vectors.tmsi"
    store = FaissStore.load(index_path)
    store.info.model_version = "an-older-model@000000"
    store.save(index_path)
    assert json.loads(cli("stats", "--json").stdout)["needs_reindex"] is True

    again = cli("demo", "--limit", "6")
    assert again.exit_code == 0 and "re-indexing it now" in again.stdout
    assert json.loads(cli("stats", "--json").stdout)["needs_reindex"] is False
    rendered = sorted((data_dir / "demo-src" / "images").glob("*.png"))[2]
    (line,) = json_lines(cli("search", "--json", "--k", "1", str(rendered)))
    assert line["results"][0]["id"] == rendered.stem


def test_search_by_words(cli: Cli, tmp_path: Path) -> None:
    from tests.service.test_register_words import composite

    folder = tmp_path / "worded"
    folder.mkdir()
    for seed, word in enumerate(["ZENITH", "KORVEX", "BOLTRA", "MIRALO"]):
        composite(seed, word).save(folder / f"m{seed}.png")
    assert cli("ingest", str(folder)).exit_code == 0
    query = tmp_path / "q.png"
    composite(99, None).save(query)  # a figure unlike any, no words in the image
    result = cli("search", "--json", "--k", "1", "--text", "Korvex", str(query))
    (line,) = json_lines(result)
    assert line["query_text"] == "korvex"
    top = line["results"][0]
    assert top["id"] == "m1" and top["text"] == "KORVEX" and top["risk"] == "medium"
    # identical words alone score 0.8 (service/search/ranking.py): a risk, below a device match
    assert top["match"]["words"] == {"query": "korvex", "mark": "KORVEX", "similarity": 1.0}
    plain = cli("search", "--k", "1", "--text", "Korvex", str(query))
    assert 'words "KORVEX" 1.00' in plain.stdout and "(words: korvex)" in plain.stdout
    read = cli("search", "--json", "--k", "1", str(folder / "m2.png"))
    assert json_lines(read)[0]["query_text"] == "boltra"  # read from the image
    off = cli("search", "--json", "--k", "1", "--no-read-text", str(folder / "m2.png"))
    assert json_lines(off)[0]["query_text"] is None


def test_report_writes_a_pdf_and_csv_with_progress(cli: Cli, folder: Path, tmp_path: Path
                                                   ) -> None:
    import csv
    import zipfile

    from pypdf import PdfReader

    cli("ingest", str(folder))
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(folder / "mark-2.png", "inside/mark-2.png")
    pdf, table = tmp_path / "r.pdf", tmp_path / "r.csv"
    result = cli("report", str(folder / "mark-3.png"), str(archive), "--out", str(pdf),
                 "--csv", str(table), "--k", "2", "--mode", "shape")
    assert result.exit_code == 0, result.output
    assert "checked 2 logos (0 failed)" in result.stdout and "pre-check" in result.stderr
    pages = PdfReader(pdf).pages
    assert len(pages) == 2 and "more.zip:inside/mark-2.png" in pages[1].extract_text()
    assert "mode=shape" in pages[0].extract_text()
    rows = list(csv.DictReader(table.open()))
    assert rows[0]["mark_id"] == "mark-3" and len(rows) == 4
    bad = cli("report", str(tmp_path / "missing.png"), "--out", str(pdf))
    assert bad.exit_code == 1 and "cannot read" in bad.stderr
    assert cli("report", "--out", str(pdf)).exit_code == 2
    many = cli("report", str(folder / "mark-3.png"), "--out", str(pdf), "--k", "7")
    assert many.exit_code == 0, many.output  # every mark of the register
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert all(mark_id in text for mark_id in ALL_IDS)


def test_report_to_a_bad_path_fails_before_searching(cli: Cli, folder: Path, tmp_path: Path
                                                     ) -> None:
    cli("ingest", str(folder))
    for out in (tmp_path / "no" / "such" / "r.pdf", tmp_path):
        result = cli("report", str(folder / "mark-3.png"), "--out", str(out))
        assert result.exit_code == 2 and "cannot write" in result.stderr
        assert "pre-check" not in result.stderr  # no search ran
    assert not list(tmp_path.glob("*.partial"))
    wrong = cli("report", str(folder / "mark-3.png"), "--out", str(tmp_path / "r.pdf"),
                "--language", "fr")
    assert wrong.exit_code == 2 and "en or zh" in wrong.stderr
    chinese = cli("report", str(folder / "mark-3.png"), "--out", str(tmp_path / "r.pdf"),
                  "--language", "zh")
    assert chinese.exit_code == 0, chinese.output


# -- the records database -----------------------------------------------------------------
@pytest.mark.postgres
def test_records_in_postgresql_through_the_whole_command_line(
    cli: Cli, folder: Path, data_dir: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMSEARCH_DATABASE_URL", postgres_url)
    password = postgres_url.split(":")[2].split("@")[0]
    behind = cli("db", "current")
    assert behind.exit_code == 1 and "revision none" in behind.stdout
    ddl = cli("db", "upgrade", "--sql")
    assert ddl.exit_code == 0 and "CREATE TABLE marks" in ddl.stdout
    assert cli("db", "current").exit_code == 1  # --sql printed, ran nothing
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    current = cli("db", "current")
    assert current.exit_code == 0 and "up to date" in current.stdout
    assert password not in upgraded.output + current.output
    assert summary(cli("ingest", str(folder))) == (7, 0, 0, 0)
    (ids,) = search_ids(cli, folder / "sub" / "mark-11.png")
    assert ids[0] == "sub/mark-11" and set(ids) == ALL_IDS
    checked = cli("check")
    assert checked.exit_code == 0 and "consistent" in checked.stdout, checked.output
    refused = cli("backup", str(data_dir.parent / "backup"))
    assert refused.exit_code == 2 and "pg_dump" in refused.stderr
    assert not (data_dir / "records.sqlite3").exists()


def test_a_bad_database_url_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMSEARCH_DATABASE_URL", "mysql://u:p@db/reg")
    result = cli("stats")
    assert result.exit_code == 2
    assert error_lines(result) == ["error: setting database_url: unsupported "
                                   "records database 'mysql': use a SQLite file or "
                                   "postgresql://"]


def test_an_unreachable_database_is_one_clear_line(cli: Cli, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TMSEARCH_DATABASE_URL", f"postgresql://u:s3cret@127.0.0.1:{port}/reg")
    result = cli("stats")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: cannot reach the records database postgresql+psycopg://u:***@")
    assert "s3cret" not in result.output


def test_a_command_says_at_once_what_it_opens(cli: Cli, data_dir: Path) -> None:
    result = cli("stats", "--json")
    assert result.exit_code == 0
    assert result.stderr.startswith(f"opening the register in {data_dir.resolve()}")
    assert json.loads(result.stdout)["marks"] == 0  # stdout stays JSON alone
