"""Risk levels: thresholds beside the weights, per model version, and on results."""

from __future__ import annotations

import json
from pathlib import Path

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.risk import RiskLevel, RiskThresholds
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes


def test_levels_from_thresholds() -> None:
    t = RiskThresholds(high=0.9, medium=0.7, calibrated=True)
    assert [t.level(s) for s in (0.95, 0.9, 0.8, 0.7, 0.2)] == [
        RiskLevel.high, RiskLevel.high, RiskLevel.medium, RiskLevel.medium, RiskLevel.low]
    scores = [0.95, 0.9, 0.8, 0.7, 0.2, 0.6999999, 0.9000001]
    assert t.levels(scores) == [t.level(s).value for s in scores]  # many at once, same rule


def test_calibration_file_is_used_only_for_its_model(tmp_path: Path) -> None:
    weights = tmp_path / "m.pt"
    (tmp_path / "m.risk.json").write_text(json.dumps(
        {"model_version": "net@1", "high": 0.91, "medium": 0.72}))
    same = RiskThresholds.for_model(weights, "net@1")
    assert (same.high, same.medium, same.calibrated) == (0.91, 0.72, True)
    other = RiskThresholds.for_model(weights, "net@2")
    assert not other.calibrated and "net@1" in other.source
    missing = RiskThresholds.for_model(tmp_path / "none.pt", "net@1")
    assert not missing.calibrated


def test_results_carry_levels(settings: Settings, embedder: Embedder) -> None:
    with Register(settings, embedder) as register:
        register.risk = RiskThresholds(high=0.99, medium=0.5, calibrated=True)
        for seed in range(6):
            register.add_mark(to_bytes(make_mark(seed)), MarkMetadata(id=f"m{seed}"))
        results = register.search(to_bytes(make_mark(2)), k=6)
        assert results[0].risk is RiskLevel.high
        for r in results:
            assert r.risk is register.risk.level(r.score)  # the score shown
        assert "high >= 0.99" in register.stats()["risk_thresholds"]
