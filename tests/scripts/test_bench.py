"""The benchmark runs end to end on tiny inputs and reports what it measured."""

from __future__ import annotations

import json
from pathlib import Path

from scripts import bench


def test_quick_bench_runs_end_to_end(tmp_path: Path) -> None:
    results = bench.main(["--quick", "--out", str(tmp_path)])
    ingest = results["ingest"]
    assert ingest["marks"] == 24 and ingest["runs"][0]["failed"] == 0
    assert ingest["ours_marks_per_s"] > 0 and ingest["reference_marks_per_s"] > 0
    assert ingest["ratio"] == ingest["ours_marks_per_s"] / ingest["reference_marks_per_s"]
    assert [r["marks"] for r in results["registers"]] == [300, 1200]
    for register in results["registers"]:
        levels = register["queries"]["levels"]
        assert [run["concurrency"] for run in levels] == [1, 2]
        for run in levels:
            assert run["errors"] == 0, run["first_error"]
            assert run["requests"] > 0 and run["p50_ms"] <= run["p99_ms"]
        assert register["queries"]["server_rss_mb"] > 0
    kinds = {row["kind"]: row for row in results["index_types"]}
    assert kinds["flat"]["recall_at_10"] == 1.0  # exact against brute force
    assert kinds["hnsw"]["recall_at_10"] >= 0.9
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["targets"]["HTTP errors"][2] is True
    table = (tmp_path / "results.md").read_text()
    assert "| pipeline | marks/s | vs ResNet-50 |" in table and "**Targets**" in table
    assert results["machine"]["cores"] >= 1
