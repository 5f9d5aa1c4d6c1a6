"""``tmsearch watch``: a user watches a mark, ingests a folder holding a redrawn copy and
sees the alert; watches listed, checked again and removed; a watch's alerts written as
CSV and PDF; one error line for bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from pypdf import PdfReader

from service.reports.alert_export import CSV_COLUMNS
from service.reports.pdf import CJK_FONT
from tests.service.cli.conftest import Cli
from tests.service.cli.test_cli import error_lines, json_lines, summary
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn


def _files(tmp_path: Path) -> tuple[Path, Path]:
    ours = tmp_path / "ours.png"
    ours.write_bytes(_png(PROTECTED))
    filings = tmp_path / "filings"
    filings.mkdir()
    (filings / "copycat.png").write_bytes(_redrawn(PROTECTED))
    for seed in range(30, 35):
        (filings / f"other-{seed}.png").write_bytes(_png(seed))
    return ours, filings


def test_watch_a_mark_then_ingest_a_copy(cli: Cli, tmp_path: Path) -> None:
    ours, filings = _files(tmp_path)
    made = cli("watch", "add", "--name", "ours", "--image", str(ours), "--nice-classes", "9")
    assert made.exit_code == 0, made.output
    assert "watch ours (id 1) protects 1 mark(s), alerts at risk medium or higher" in made.stdout
    assert summary(cli("ingest", str(filings))) == (6, 0, 0, 0)
    # no classes on the filings: the class-9 watch stays quiet; a watch of any class alerts
    assert json_lines(cli("watch", "alerts", "--json")) == []
    assert cli("watch", "add", "--name", "any", "--image", str(ours)).exit_code == 0
    assert cli("watch", "alerts", "--json").stdout == ""  # made after the filings
    ran = cli("watch", "run", "--since", "2000-01-01")
    assert ran.exit_code == 0 and "1 new alert(s)" in ran.stdout
    (alert,) = json_lines(cli("watch", "alerts", "--json", "--watch", "any"))
    assert alert["watch"] == "any" and alert["mark_id"] == "copycat"
    assert alert["risk"] in ("medium", "high") and 0 < alert["score"] <= 1
    assert alert["match"] == {"watched_mark": "ours.png", "component": "whole"}
    listed = cli("watch", "list")
    assert "ours" in listed.stdout and "any" in listed.stdout
    assert cli("watch", "remove", "any").exit_code == 0
    assert json_lines(cli("watch", "alerts", "--json")) == []
    assert [w["name"] for w in json_lines(cli("watch", "list", "--json"))] == ["ours"]


def test_bad_watch_input_is_one_error_line(cli: Cli, tmp_path: Path) -> None:
    ours, _ = _files(tmp_path)
    cases = [
        (("watch", "add", "--name", "x", "--image", str(tmp_path / "none.png")), "cannot read"),
        (("watch", "add", "--name", "x", "--mark", "nope"), "no mark with id 'nope'"),
        (("watch", "add", "--name", "x", "--image", str(ours), "--min-risk", "severe"),
         "low, medium or high"),
        (("watch", "add", "--name", "x", "--image", str(ours), "--nice-classes", "9,x"),
         "--nice-classes takes numbers"),
        (("watch", "remove", "nothing"), "watch not found: nothing"),
        (("watch", "run", "--since", "yesterday"), "YYYY-MM-DD"),
        (("watch", "alerts", "--status", "old"), "new, seen, dismissed"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        (line,) = error_lines(result)
        assert message in line, (args, line)
    assert json_lines(cli("watch", "list", "--json")) == []


def test_a_watchs_alerts_written_as_csv_and_pdf(cli: Cli, tmp_path: Path) -> None:
    ours, filings = _files(tmp_path)
    meta = tmp_path / "meta.jsonl"
    meta.write_text(json.dumps({"file": "copycat.png", "name": "Copy Cat", "owner": "Rival Ltd",
                                "status": "filed"}) + "\n")
    assert cli("watch", "add", "--name", "ours", "--image", str(ours)).exit_code == 0
    assert summary(cli("ingest", str(filings), "--metadata", str(meta))) == (6, 0, 0, 0)
    (alert,) = json_lines(cli("watch", "alerts", "--json"))

    out_csv, out_pdf = tmp_path / "alerts.csv", tmp_path / "alerts.pdf"
    made = cli("watch", "alerts", "--watch", "ours", "--csv", str(out_csv), "--pdf",
               str(out_pdf), "--language", "zh")
    assert made.exit_code == 0, made.output
    assert f"wrote 1 alert(s) of watch ours to {out_csv}" in made.stdout
    assert f"wrote 1 alert(s) of watch ours to {out_pdf}" in made.stdout
    reader = csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8")))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    (row,) = list(reader)  # the operator sees the filed filing
    assert (int(row["alert_id"]), row["watch"], row["mark_id"], row["name"], row["owner"],
            row["watched_mark"], row["risk"], row["matched_component"], row["status"]) == \
        (alert["id"], "ours", "copycat", "Copy Cat", "Rival Ltd", "ours.png", alert["risk"],
         "whole", "new")
    assert float(row["score"]) == alert["score"]
    text = PdfReader(out_pdf).pages[0].extract_text()
    assert "copycat" in text and "ours" in text
    if CJK_FONT.is_file():
        assert "商标监测预警报告" in text and "近似度" in text
    assert sorted(p.name for p in tmp_path.iterdir() if "alerts" in p.name) == \
        ["alerts.csv", "alerts.pdf"]  # no partial file left

    seen = tmp_path / "seen.csv"
    assert cli("watch", "alerts", "--watch", "ours", "--status", "seen", "--csv",
               str(seen)).exit_code == 0
    assert seen.read_text().splitlines() == [",".join(CSV_COLUMNS)]  # none seen yet
    for args, message in [
        (("--csv", str(tmp_path / "x.csv")), "name it with --watch"),
        (("--watch", "ours", "--pdf", str(tmp_path / "no" / "x.pdf")), "cannot write"),
        (("--watch", "ours", "--pdf", str(out_pdf), "--language", "fr"), "en or zh"),
        (("--watch", "nothing", "--csv", str(tmp_path / "x.csv")), "watch not found"),
    ]:
        result = cli("watch", "alerts", *args)
        assert result.exit_code == 2, (args, result.output)
        (line,) = error_lines(result)
        assert message in line, (args, line)
    assert not (tmp_path / "x.csv").exists()
