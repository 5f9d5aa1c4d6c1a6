"""Risk levels for search results, from score thresholds calibrated on the evaluation.

``scripts/evaluate.py --risk-out`` writes ``<weights>.risk.json`` beside the weights (see
the model card): "high" is the shape score above which at least 90 % of the evaluation's
top-10 hits were the same mark or brand, "medium" the one for 50 %. Thresholds belong to
one model version; with another model (or no file) the levels fall back to conservative
defaults and say they are uncalibrated. Words lift the level by fixed rules
(``service/text_match.py``): word similarity >= 0.9 is high, >= 0.7 medium.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from service.text_match import WORDS_HIGH_RISK, WORDS_MEDIUM_RISK


class RiskLevel(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


@dataclass(frozen=True)
class RiskThresholds:
    high: float = 0.95
    medium: float = 0.85
    calibrated: bool = False
    source: str = "uncalibrated defaults"

    def level(self, shape_score: float, words_similarity: float = 0.0) -> RiskLevel:
        """The level of a result from its shape score and, when both marks have words,
        their similarity (identical or near-identical words are a risk on their own)."""
        if shape_score >= self.high or words_similarity >= WORDS_HIGH_RISK:
            return RiskLevel.high
        if shape_score >= self.medium or words_similarity >= WORDS_MEDIUM_RISK:
            return RiskLevel.medium
        return RiskLevel.low

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
