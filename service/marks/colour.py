"""Colour signature of a mark, for the ``colour`` and ``composite`` search modes.

The embedding is colour-blind on purpose (its input is an ink map), so colour is a
separate, cheap signal: a 4x4x4 RGB histogram of the mark's canonical square (ink and
ground together, so a white-on-red mark differs from a red-on-white one), square-rooted
and L2-normalised so the dot product of two signatures is their Bhattacharyya
coefficient (1.0 for the same colour distribution, 0.0 for disjoint ones).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from PIL import Image

from models.preprocess import canonical_square

BINS = 4  # per channel
DIM = BINS**3


class SearchMode(StrEnum):
    """How shape and colour combine into a result's score (service/search/ranking.py)."""

    shape = "shape"  # colour-blind: greyscale and contrast reversal do not matter
    colour = "colour"  # colour distribution weighs as much as shape
    composite = "composite"  # shape first, colour breaks near-ties (default)


def colour_signature(image: Image.Image) -> np.ndarray:
    """(64,) float32, unit length."""
    return square_colour_signature(canonical_square(image)[0])


def square_colour_signature(square: np.ndarray) -> np.ndarray:
    """:func:`colour_signature` of a canonical square already made."""
    small = np.asarray(Image.fromarray(square).resize((64, 64), Image.Resampling.BOX))
    q = (small.reshape(-1, 3).astype(np.int32) * BINS) // 256
    index = (q[:, 0] * BINS + q[:, 1]) * BINS + q[:, 2]
    hist = np.bincount(index, minlength=DIM).astype(np.float32)
    root = np.sqrt(hist / max(hist.sum(), 1.0))
    return (root / max(float(np.linalg.norm(root)), 1e-12)).astype(np.float32)
