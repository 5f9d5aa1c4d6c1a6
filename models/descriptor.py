"""The contour descriptor: a small map of where a mark's edges are, whatever its drawing.

The CNN embedding is strong on rotations, perspective and low-quality copies, but on two
drawings of one brand by different hands (line art vs filled, thin vs bold) it was less
precise than a 32 x 32 thumbnail (models/MODEL_CARD.md). The edges of a mark survive
those redraws: a filled shape and its outline drawing have the same contour, and a
thicker stroke moves its edges by a few pixels only. So the prepared input carries a
second channel beside the ink map, the *colour edges* of the canonical square (the
morphological gradient of each colour channel, their maximum; see
``models.preprocess.edge_map``:
unlike the ink map's outline, it keeps a figure drawn inside a filled tile), and

    edges  ->  dilated to a fixed width  ->  area-resized to ``side`` x ``side``  ->
    mean-centred, unit length

is the descriptor. Measured on the even-hash evaluation (cross-design R@10, whole images
only): the embedding 0.480, 32 x 32 pixels 0.565, the ink map's outline at 16 x 16
0.649, these colour edges at 16 x 16 0.678; outline-only copies 0.40 / 0.62 / 0.957 /
0.967.

Query-side *turns* (rotations by 90 degrees, mirrors, small rotations with a re-crop) of
the descriptor cost no network pass, so the default search uses them to find rotated and
mirrored copies (see :func:`turned_maps`).
"""

from __future__ import annotations

import cv2
import numpy as np

from models.preprocess import MARGIN

#: dilation width of the contour at 128 px input (scaled with the input size)
CONTOUR_WIDTH_128 = 7
#: small rotations tried at query time, degrees
SMALL_TURNS = (-20.0, -10.0, 10.0, 20.0)


def _odd(n: float) -> int:
    k = max(1, int(round(n)))
    return k if k % 2 else k + 1


def contour_map(edges: np.ndarray, side: int) -> np.ndarray:
    """(side * side,) float32 unit vector (zero for an empty image) from an edge map."""
    edges2d = edges[-1] if edges.ndim == 3 else edges
    edge = (edges2d >= 128).astype(np.uint8)
    width = _odd(CONTOUR_WIDTH_128 * edges2d.shape[0] / 128)
    thick = cv2.dilate(edge, np.ones((width, width), np.uint8)).astype(np.float32)
    small = cv2.resize(thick, (side, side), interpolation=cv2.INTER_AREA).reshape(-1)
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 else np.zeros_like(small)


def recrop(edges: np.ndarray) -> np.ndarray:
    """An edge map cut to its edges' extent and centred again at its own size, as the
    canonical crop (models/preprocess.py) would have framed it."""
    size = edges.shape[0]
    ys, xs = np.nonzero(edges >= 128)
    if len(ys) == 0:
        return edges
    crop = edges[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    height, width = crop.shape
    side = int(round(max(height, width) * (1 + 2 * MARGIN))) + 1
    canvas = np.zeros((side, side), np.uint8)
    y0, x0 = (side - height) // 2, (side - width) // 2
    canvas[y0:y0 + height, x0:x0 + width] = crop
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)


def rotated(edges: np.ndarray, degrees: float) -> np.ndarray:
    """The edge map rotated about its centre (nothing cut off), re-cropped."""
    size = edges.shape[0]
    pad = size // 4
    big = cv2.copyMakeBorder(edges, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    centre = (big.shape[1] / 2.0, big.shape[0] / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    turned = cv2.warpAffine(big, matrix, big.shape[::-1], flags=cv2.INTER_LINEAR,
                            borderValue=0)
    return recrop(turned)


def dihedral_maps(vector: np.ndarray, side: int) -> list[np.ndarray]:
    """The 7 other rotations by 90 degrees and mirrors of a contour map (no recompute)."""
    grid = vector.reshape(side, side)
    turns = [np.rot90(grid, k) for k in range(4)]
    turns += [t[:, ::-1] for t in turns]
    return [np.ascontiguousarray(t).reshape(-1) for t in turns[1:]]


def turned_maps(edges: np.ndarray, side: int) -> list[np.ndarray]:
    """Contour maps of the query's turns: 7 dihedral, then the small rotations."""
    edges2d = edges[-1] if edges.ndim == 3 else edges
    base = contour_map(edges2d, side)
    small = [contour_map(rotated(edges2d, a), side) for a in SMALL_TURNS]
    return dihedral_maps(base, side) + small
