"""The layout of a stored vector: which signals it holds and how their scores compare.

A stored vector is ``[sqrt(1 - w) * embedding, sqrt(w) * contour]`` (unit length), ``w``
being ``ModelConfig.contour_share``. One index holds both signals, yet each can be
searched alone: a query vector that is one signal's part (unit length, zero elsewhere)
scores ``sqrt(share) * cosine`` against every stored vector. A search therefore sends one
query row per signal and turns each row's scores into *evidence* on a common scale,

    evidence = (cosine - centre) / (1 - centre)

1 for an identical image, 0 for the level of a typical query's 100 best matches (the
centre: that signal's mean for non-brand icons, kept in the weights file). A mark's
evidence is the best over signals: the embedding finds rotated, skewed and rescanned
copies, the contour descriptor redrawn, outlined and thickened ones, and neither drags
the other down (on the even-hash evaluation the maximum beat any weighted sum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.descriptor import contour_map, turned_maps
from models.network import ModelConfig

EMBEDDING, CONTOUR = "embedding", "contour"


@dataclass(frozen=True)
class Signal:
    """One signal's slice of the stored vector and its evidence scale."""

    name: str
    start: int
    stop: int
    share: float  # of the stored vector's squared norm
    centre: float  # the cosine of evidence 0

    def query(self, stored: np.ndarray) -> np.ndarray:
        """(N, D) stored-form vectors -> this signal's query rows (unit on its slice)."""
        out = np.zeros_like(stored)
        part = stored[:, self.start:self.stop]
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        out[:, self.start:self.stop] = part / np.maximum(norms, 1e-12)
        return out

    def query_from_part(self, parts: np.ndarray, dim: int) -> np.ndarray:
        """(N, stop - start) unit parts (e.g. turned contour maps) -> query rows."""
        out = np.zeros((len(parts), dim), np.float32)
        out[:, self.start:self.stop] = parts
        return out

    def evidence(self, scores: np.ndarray) -> np.ndarray:
        """Inner products of this signal's query rows -> evidence."""
        cosine = np.asarray(scores, np.float64) / np.sqrt(self.share)
        return (cosine - self.centre) / (1.0 - self.centre)


@dataclass(frozen=True)
class VectorLayout:
    """The signals of a model's stored vectors, in order."""

    signals: tuple[Signal, ...]
    dim: int
    contour_side: int

    @classmethod
    def of(cls, config: ModelConfig) -> VectorLayout:
        side = config.contour_side
        if side <= 0:  # the embedding alone, its cosine is the evidence
            return cls((Signal(EMBEDDING, 0, config.dim, 1.0, config.embed_centre),),
                       config.dim, 0)
        share = config.contour_share
        signals = (
            Signal(EMBEDDING, 0, config.dim, 1.0 - share, config.embed_centre),
            Signal(CONTOUR, config.dim, config.vector_dim, share, config.contour_centre),
        )
        return cls(signals, config.vector_dim, side)

    @property
    def contour(self) -> Signal | None:
        return next((s for s in self.signals if s.name == CONTOUR), None)

    def stored(self, embeddings: np.ndarray, prepared: np.ndarray | list[np.ndarray]
               ) -> np.ndarray:
        """Stored vectors from CNN embeddings and the prepared inputs they came from."""
        contour = self.contour
        if contour is None:
            return embeddings
        maps = np.stack([contour_map(x, self.contour_side) for x in prepared])
        out = np.empty((len(embeddings), self.dim), np.float32)
        out[:, : contour.start] = embeddings * np.sqrt(1.0 - contour.share)
        out[:, contour.start:] = maps * np.sqrt(contour.share)
        return out

    def turned_queries(self, prepared: np.ndarray) -> np.ndarray:
        """Contour query rows of a prepared query's turns (rotations, mirrors, small
        rotations; models/descriptor.py): no network pass. Empty without a contour."""
        contour = self.contour
        if contour is None:
            return np.zeros((0, self.dim), np.float32)
        return contour.query_from_part(np.stack(turned_maps(prepared, self.contour_side)),
                                       self.dim)
