"""The load test of the README, shortened (the README's figures come from a 60 s run of
``scripts/load_test.py``): 20 s at 16 concurrent clients on 127.0.0.1, searches mixed
with ingests against a real ``tmsearch serve``; zero errors."""

from __future__ import annotations

import json

from scripts import load_test


def test_twenty_seconds_at_sixteen_clients_without_an_error(capsys) -> None:  # noqa: ANN001
    result = load_test.main(["--seconds", "20", "--clients", "16", "--marks", "200", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["errors"] == result["errors"] == 0, result["first_error"]
    assert result["clients"] == 16 and result["seconds"] >= 20
    assert result["search"]["requests"] > 30 and result["ingest"]["requests"] > 2
    assert result["search"]["p50_ms"] <= result["search"]["p99_ms"]
