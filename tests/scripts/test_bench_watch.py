"""The watch benchmark at its smallest size: it runs end to end through the service's own
watch code, and the alerts the ingest wrote are the brute-force check's."""

from __future__ import annotations

from pathlib import Path

from scripts.bench_watch import main


def test_quick_watch_benchmark_finds_the_brute_force_alerts(tmp_path: Path) -> None:
    result = main(["--quick", "--out", str(tmp_path)])
    assert result["watches"] == 40 and result["filings"] == 60
    assert result["copies_alerted"] >= 6  # most of the 12 copies of watched marks
    assert result["alerts"] == result["brute_force_alerts"] > 0
    assert result["identical"] and result["missed_by_index"] == result["extra_in_index"] == 0
    assert result["check_ms_a_filing"] > 0 and result["repeats"] == 1
    assert result["cpu_ms_a_mark_with_check"] > 0 and len(result["ingest_ms_runs"][1]) == 1
    assert "identical sets" in (tmp_path / "results.md").read_text()
