"""Risk levels for search results, from score thresholds calibrated on the evaluation.

``scripts/evaluate.py --risk-out`` writes ``<weights>.risk.json`` beside the weights (see
the model card): "high" is the score (the one a result is ranked by and shows,
service/search/ranking.py) above which at least 90 % of the evaluation's top-10 hits were the
same mark or brand, "medium" the one for 50 %. Thresholds belong to one model version;
with another model (or no file) the levels fall back to defaults and say they are
uncalibrated. Words count through the score (service/search/ranking.py), not by a rule of
their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np


class RiskLevel(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


@dataclass(frozen=True)
class RiskThresholds:
    high: float = 0.8
    medium: float = 0.5
    calibrated: bool = False
    source: str = "uncalibrated defaults"

    def level(self, score: float) -> RiskLevel:
        """The level of a result from its score."""
        if score >= self.high:
            return RiskLevel.high
        if score >= self.medium:
            return RiskLevel.medium
        return RiskLevel.low

    def levels(self, scores: np.ndarray) -> list[str]:
        """The levels of many scores at once (``level``'s rule), as their values."""
        scores = np.asarray(scores, np.float64)
        return np.where(scores >= self.high, RiskLevel.high.value,
                        np.where(scores >= self.medium, RiskLevel.medium.value,
                                 RiskLevel.low.value)).tolist()

    @classmethod
    def for_model(cls, weights: Path, model_version: str) -> RiskThresholds:
        """The calibration beside ``weights`` if it was made for ``model_version``."""
        path = weights.with_suffix(".risk.json")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        if data.get("model_version") != model_version:
            return cls(source=f"uncalibrated: {path.name} is for {data.get('model_version')}")
        return cls(float(data["high"]), float(data["medium"]), True, path.name)
