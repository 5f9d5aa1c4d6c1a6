"""The orientation descriptor: which way a mark's edges run, cell by cell, whatever its
drawing.

The CNN embedding is strong on rotations, perspective and low-quality copies, but on two
drawings of one brand by different hands (line art vs filled, thin vs bold) it was less
precise than a 32 x 32 thumbnail (models/MODEL_CARD.md). The direction of a mark's
edges survives those redraws: a filled shape and its outline drawing have edges in the
same places running the same ways, and a thicker stroke moves them by a few pixels. So
the prepared input carries, beside the ink map, the canonical square in grey (the ink
map is blind to colour, so a figure drawn in black on a yellow tile is all ink to it;
the grey keeps it), and the descriptor is a histogram of oriented gradients (Dalal and
Triggs 2005) over both:

    the two channels at 60 x 60, blurred (sigma 1)  ->  per pixel the gradient of the
    channel where it is strongest, its direction folded to 0..180 degrees (so contrast
    reversal does not matter)  ->  per cell of a ``cells`` x ``cells`` grid, a 9-bin
    histogram of directions weighted by gradient magnitude  ->  square-rooted,
    mean-centred, unit length

Measured on the even-hash evaluation (cross-design R@10 / mAP@100, whole images only):
the embedding 0.480 / 0.317, 32 x 32 pixels 0.565 / 0.387, the ink map's outline at
16 x 16 0.649 / 0.486, this descriptor (6 x 6 cells, 324 values) 0.730 / 0.597;
outline-only copies 0.40 / 0.62 / 0.957 / 0.983.

Query-side *turns* (rotations by 90 degrees, mirrors, small rotations with a re-crop) of
the descriptor cost no network pass, so the default search uses them to find rotated and
mirrored copies (see :func:`turned_descriptors`).
"""

from __future__ import annotations

import cv2
import numpy as np

from models.preprocess import INK_THRESHOLD, MARGIN

BINS = 9  # directions, 20 degrees each
SIDE = 60  # the channels are resized to this before the gradients
BLUR_SIGMA = 1.0
#: small rotations tried at query time, degrees
SMALL_TURNS = (-20.0, -10.0, 10.0, 20.0)
#: for a query cut out of a larger mark: how much larger (share of the query's extent,
#: added on each cut side) the whole is guessed to be
REFRAMES = (0.12, 0.25, 0.4)


def descriptor_dim(cells: int) -> int:
    return cells * cells * BINS


def orientation_histogram(prepared: np.ndarray, cells: int) -> np.ndarray:
    """(cells * cells * BINS,) float32 unit vector (zero for an empty image) from a
    prepared (C, S, S) uint8 input (every channel counts: ink and grey)."""
    side = SIDE - SIDE % cells
    planes = [cv2.resize(np.ascontiguousarray(p), (side, side), interpolation=cv2.INTER_AREA)
              for p in prepared.reshape(-1, *prepared.shape[-2:])]
    stack = cv2.GaussianBlur(np.stack(planes, axis=-1).astype(np.float32), (0, 0), BLUR_SIGMA)
    if stack.ndim == 2:
        stack = stack[..., None]
    gx = cv2.Sobel(stack, cv2.CV_32F, 1, 0).reshape(side, side, -1)
    gy = cv2.Sobel(stack, cv2.CV_32F, 0, 1).reshape(side, side, -1)
    strongest = (gx * gx + gy * gy).argmax(axis=2)[..., None]
    gx = np.take_along_axis(gx, strongest, 2)[..., 0]
    gy = np.take_along_axis(gy, strongest, 2)[..., 0]
    magnitude = np.hypot(gx, gy)
    direction = np.minimum(((np.arctan2(gy, gx) % np.pi) / np.pi * BINS).astype(np.int64),
                           BINS - 1)
    cell = np.arange(side) * cells // side
    index = ((cell[:, None] * cells + cell[None, :]) * BINS + direction).reshape(-1)
    hist = np.bincount(index, weights=magnitude.reshape(-1),
                       minlength=descriptor_dim(cells)).astype(np.float32)
    hist = np.sqrt(hist)
    hist -= hist.mean()
    norm = float(np.linalg.norm(hist))
    return hist / norm if norm > 1e-6 else np.zeros_like(hist)


def _ground(plane: np.ndarray) -> int:
    """The value of a channel's outermost ring (its ground), as the canonical crop reads
    the background colour."""
    return int(np.median(np.concatenate([plane[0], plane[-1], plane[:, 0], plane[:, -1]])))


def _ink_box(prepared: np.ndarray) -> np.ndarray | None:
    """The prepared input cut to its ink's extent (channel 0); None without ink."""
    ys, xs = np.nonzero(prepared[0] >= INK_THRESHOLD)
    if len(ys) == 0:
        return None
    return prepared[:, ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]


def _framed(crop: np.ndarray, grounds: list[int], full: tuple[int, int],
            at: tuple[int, int], size: int) -> np.ndarray:
    """``crop`` placed at ``at`` (top, left) in a ``full`` (height, width) frame of each
    channel's ground, the frame centred with the canonical crop's margin and resized to
    ``size``."""
    (full_h, full_w), (top, left) = full, at
    height, width = crop.shape[1:]
    side = int(round(max(full_h, full_w) * (1 + 2 * MARGIN))) + 1
    out = np.empty((len(crop), size, size), np.uint8)
    for c, plane in enumerate(crop):
        canvas = np.full((side, side), grounds[c], np.uint8)
        y0, x0 = (side - full_h) // 2 + top, (side - full_w) // 2 + left
        canvas[y0:y0 + height, x0:x0 + width] = plane
        out[c] = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return out


def recrop(prepared: np.ndarray) -> np.ndarray:
    """A prepared input cut to its ink's extent (channel 0) and centred again at its own
    size, as the canonical crop (models/preprocess.py) would have framed it."""
    crop = _ink_box(prepared)
    if crop is None:
        return prepared
    return _framed(crop, [_ground(plane) for plane in crop], crop.shape[1:], (0, 0),
                   prepared.shape[-1])


def rotated(prepared: np.ndarray, degrees: float) -> np.ndarray:
    """A prepared input rotated about its centre (nothing cut off), re-cropped; each
    channel's ground fills the corners."""
    size = prepared.shape[-1]
    pad = size // 4
    planes = []
    for plane in prepared:
        ground = _ground(plane)
        big = cv2.copyMakeBorder(plane, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=ground)
        matrix = cv2.getRotationMatrix2D((big.shape[1] / 2.0, big.shape[0] / 2.0), degrees, 1.0)
        planes.append(cv2.warpAffine(big, matrix, big.shape[::-1], flags=cv2.INTER_LINEAR,
                                     borderValue=ground))
    return recrop(np.stack(planes))


def reframed(prepared: np.ndarray, sides: str, extension: float) -> np.ndarray:
    """A prepared input framed as the whole mark it was cut from would be: its ink placed
    in a frame ``extension`` times its extent larger on each cut side (``sides``, of
    "ltrb"), the rest the channel's ground, then centred and resized as the canonical
    crop frames a mark."""
    crop = _ink_box(prepared)
    if crop is None:
        return prepared
    height, width = crop.shape[1:]
    left, right = (int(width * extension) if s in sides else 0 for s in "lr")
    top, bottom = (int(height * extension) if s in sides else 0 for s in "tb")
    return _framed(crop, [_ground(plane) for plane in prepared],
                   (height + top + bottom, width + left + right), (top, left),
                   prepared.shape[-1])


def dihedral(prepared: np.ndarray) -> list[np.ndarray]:
    """The 7 other rotations by 90 degrees and mirrors of a prepared input."""
    turns = [np.rot90(prepared, k, axes=(1, 2)) for k in range(4)]
    turns += [t[:, :, ::-1] for t in turns]
    return [np.ascontiguousarray(t) for t in turns[1:]]


def turned_descriptors(prepared: np.ndarray, cells: int, cut: str = "") -> list[np.ndarray]:
    """Descriptors of the query's turns: 7 dihedral, then the small rotations, then (for
    a query that runs off the sides ``cut``) the larger wholes it may be cut from."""
    turns = dihedral(prepared) + [rotated(prepared, a) for a in SMALL_TURNS]
    if cut:
        turns += [reframed(prepared, cut, e) for e in REFRAMES]
    return [orientation_histogram(t, cells) for t in turns]
