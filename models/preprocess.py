"""Canonical network input: what the network never has to learn, it cannot get wrong.

A mark is cropped to its own extent (the ink's bounding box, robust to specks and noise),
centred on a square canvas of its background colour and resized. In ``ink`` mode the
input is each pixel's distance from the background colour, which makes the embedding
blind to the mark's colours and to light-on-dark versus dark-on-light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

INK_THRESHOLD = 40  # distance from the background (0..255) that counts as ink
#: input modes: ``ink`` (1 channel), ``ink+grey`` (the ink map and the square in grey,
#: for the orientation descriptor of models/descriptor.py) and ``rgb`` (3 channels)
INPUT_CHANNELS = {"ink": 1, "ink+grey": 2, "rgb": 3}
TRIM_FRACTION = 0.004  # ink mass ignored at each edge when finding the extent (specks)
MARGIN = 0.06  # blank border kept around the mark, as a fraction of its size
_WORK_SIDE = 512  # extent and background are estimated on at most this size
CUT_EDGE_SHARE = 0.02  # ink on this share of an image's edge: the mark runs off that side


def background_colour(rgb: np.ndarray) -> np.ndarray:
    """Median colour of the outermost pixel ring: marks sit on a plain ground."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]], axis=0)
    return np.median(border, axis=0)


def ink_map(rgb: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Per-pixel largest channel distance from the background colour, uint8.

    The hottest loop of ingest (every view, component and colour signature needs one):
    OpenCV's per-channel kernels are 7x faster than numpy's reduce over a 3-wide axis,
    with identical values.
    """
    ground = background.astype(np.int16)
    if rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size:
        g0, g1, g2 = (float(v) for v in ground.clip(0, 255))
        c0, c1, c2 = cv2.split(cv2.absdiff(np.ascontiguousarray(rgb), (g0, g1, g2, 0.0)))
        return cv2.max(cv2.max(c0, c1), c2)
    diff = np.abs(rgb.astype(np.int16) - ground[None, None, :])
    return diff.max(axis=2).astype(np.uint8)


def ink_extent(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the ink, trimming thin tails of stray pixels."""
    mask = ink >= INK_THRESHOLD
    total = int(mask.sum())
    if total == 0:
        return None
    cols = np.cumsum(mask.sum(axis=0))
    rows = np.cumsum(mask.sum(axis=1))
    cut = total * TRIM_FRACTION
    left = int(np.searchsorted(cols, cut, side="right"))
    right = int(np.searchsorted(cols, total - cut, side="left")) + 1
    top = int(np.searchsorted(rows, cut, side="right"))
    bottom = int(np.searchsorted(rows, total - cut, side="left")) + 1
    if right <= left or bottom <= top:
        return None
    return left, top, right, bottom


@dataclass(frozen=True)
class CanonicalView:
    """A mark in canonical form, and which sides of its image the ink runs off."""

    square: np.ndarray  # uint8 (S, S, 3): cropped to the ink, centred on its background
    background: np.ndarray  # the background colour, float RGB
    #: the sides ("l", "t", "r", "b") the mark's ink runs into: where a copy was cut out
    #: of a larger mark. A mark drawn on its ground touches none; a tight crop of a whole
    #: mark touches all four, so only one to three sides say "cut" (else "")
    cut: str


def canonical_view(image: Image.Image) -> CanonicalView:
    """The canonical square of a mark and its cut sides, from one ink map."""
    work = image
    if max(image.size) > _WORK_SIDE:
        work = image.copy()
        work.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(work.convert("RGB"))
    background = background_colour(rgb)
    ink = ink_map(rgb, background)
    extent = ink_extent(ink)
    if extent is not None:
        left, top, right, bottom = extent
        rgb = rgb[top:bottom, left:right]
    height, width = rgb.shape[:2]
    side = int(round(max(height, width) * (1 + 2 * MARGIN))) + 1
    canvas = np.empty((side, side, 3), dtype=np.uint8)
    canvas[:] = np.round(background).astype(np.uint8)
    y0, x0 = (side - height) // 2, (side - width) // 2
    canvas[y0 : y0 + height, x0 : x0 + width] = rgb
    return CanonicalView(canvas, background, _cut_sides(ink >= INK_THRESHOLD))


def _cut_sides(ink: np.ndarray) -> str:
    edges = {"l": ink[:, 0], "t": ink[0], "r": ink[:, -1], "b": ink[-1]}
    touched = "".join(side for side, edge in edges.items() if edge.mean() > CUT_EDGE_SHARE)
    return touched if len(touched) < 4 else ""


def canonical_square(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """The mark cropped to its extent and centred on a square of its background colour.

    Returns ``(rgb_square, background)`` with ``rgb_square`` as a uint8 array.
    """
    view = canonical_view(image)
    return view.square, view.background


def prepare(image: Image.Image, input_size: int, input_mode: str) -> np.ndarray:
    """Image -> uint8 array (C, S, S) ready for :meth:`models.embedder.Embedder.embed_prepared`."""
    return prepare_square(*canonical_square(image), input_size, input_mode)


def prepare_square(square: np.ndarray, background: np.ndarray, input_size: int,
                   input_mode: str) -> np.ndarray:
    """:func:`prepare` from a canonical square already made (ingest shares it with the
    colour signature)."""
    resized = np.asarray(
        Image.fromarray(square).resize(
            (input_size, input_size), Image.Resampling.BILINEAR, reducing_gap=2.0
        )
    )
    if input_mode == "ink":
        return ink_map(resized, background)[None, :, :]
    if input_mode == "ink+grey":
        return np.stack([ink_map(resized, background),
                         cv2.cvtColor(np.ascontiguousarray(resized), cv2.COLOR_RGB2GRAY)])
    return np.ascontiguousarray(resized.transpose(2, 0, 1))
