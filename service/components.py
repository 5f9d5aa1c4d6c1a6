"""Split a mark into its components: figurative elements, a verbal element, a frame.

Examiners compare the figurative element of a composite mark even when it sits beside
words or inside a frame, so each component is embedded as well as the whole mark. The
split is classical image analysis on the ink map (no model to train or download):

1. ink = distance from the background colour (as the network's input);
2. a *frame* is a connected ink component that encloses the rest: its box spans nearly
   the whole mark and it covers little of that box (a ring, a border, a badge outline);
3. the remaining ink is grouped into *blobs* by closing small gaps (letters of a word
   join, separate elements stay apart);
4. a blob made of several similar-height parts in a wide row is a *word*; every other
   blob large enough is a *figure*.

A mark that is a single blob has no components beyond the whole mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image
from scipy import ndimage

from models.preprocess import INK_THRESHOLD, background_colour, ink_map

ComponentKind = Literal["figure", "words", "frame"]

_WORK_SIDE = 256  # analysis resolution (boxes are scaled back to the image's pixels)
MAX_COMPONENTS = 4
MIN_SHARE = 0.04  # a blob below this share of the ink is a speck or a detail, not an element


@dataclass(frozen=True)
class Component:
    kind: ComponentKind
    box: tuple[int, int, int, int]  # x, y, w, h in the image's pixels

    def crop(self, image: Image.Image, pad: float = 0.04) -> Image.Image:
        """The component cut from ``image`` with a little margin of the ground."""
        x, y, w, h = self.box
        m = int(round(max(w, h) * pad))
        return image.crop((max(0, x - m), max(0, y - m),
                           min(image.width, x + w + m), min(image.height, y + h + m)))


def split_components(image: Image.Image) -> list[Component]:
    """The components of a composite mark, largest first; [] for a single-element mark."""
    work = image.convert("RGB")
    scale = 1.0
    if max(work.size) > _WORK_SIDE:
        scale = max(work.size) / _WORK_SIDE
        work = work.resize((max(1, round(work.width / scale)), max(1, round(work.height / scale))),
                           Image.Resampling.BILINEAR)
    rgb = np.asarray(work)
    mask = ink_map(rgb, background_colour(rgb)) >= INK_THRESHOLD
    total = int(mask.sum())
    if total == 0:
        return []
    found: list[tuple[ComponentKind, tuple[int, int, int, int]]] = []

    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    slices = ndimage.find_objects(labels)
    ink_box = _box_of(mask)
    frame_label = _frame_label(labels, slices, ink_box, mask)
    content = mask
    if frame_label is not None:
        content = mask & (labels != frame_label)
        found.append(("frame", _slice_box(slices[frame_label - 1])))
        if content.sum() == 0:
            return []
        total = int(content.sum())

    side = max(ink_box[2], ink_box[3])
    gap = max(2, int(round(side * 0.035)))
    closed = ndimage.binary_dilation(content, structure=np.ones((3, 3)), iterations=gap)
    blobs, m = ndimage.label(closed)
    blob_slices = ndimage.find_objects(blobs)
    parts_labels = labels if frame_label is None else np.where(content, labels, 0)
    elements: list[tuple[int, ComponentKind, tuple[int, int, int, int]]] = []
    for index, sl in enumerate(blob_slices, start=1):
        if sl is None:
            continue
        inside = content[sl] & (blobs[sl] == index)
        share = int(inside.sum())
        if share < MIN_SHARE * total:
            continue
        box = _box_of(inside, offset=(sl[1].start, sl[0].start))
        kind: ComponentKind = "words" if _looks_like_words(parts_labels[sl], inside) else "figure"
        elements.append((share, kind, box))
    elements.sort(key=lambda e: -e[0])
    if len(elements) >= 2 or (frame_label is not None and elements):
        found.extend((kind, box) for _, kind, box in elements)
    elif frame_label is None:
        return []
    found = found[:MAX_COMPONENTS]
    return [Component(kind, _rescale(box, scale, image.size)) for kind, box in found]


def _frame_label(labels: np.ndarray, slices: list, ink_box: tuple[int, int, int, int],
                 mask: np.ndarray) -> int | None:
    """The connected component that encloses the others, if any."""
    _, _, iw, ih = ink_box
    for label, sl in enumerate(slices, start=1):
        if sl is None:
            continue
        x, y, w, h = _slice_box(sl)
        if w < 0.9 * iw or h < 0.9 * ih:
            continue
        own = labels[sl] == label
        fill = own.sum() / float(w * h)
        others = mask[sl] & ~own
        if fill < 0.35 and others.sum() > 0.02 * mask.sum():
            return label
    return None


def _looks_like_words(part_labels: np.ndarray, inside: np.ndarray) -> bool:
    """Several separate parts of similar height side by side in a wide row."""
    h, w = inside.shape
    if w < 1.8 * h:
        return False
    heights = []
    for sl in ndimage.find_objects(np.where(inside, part_labels, 0)):
        if sl is not None:
            heights.append(sl[0].stop - sl[0].start)
    heights_arr = np.array([v for v in heights if v > 0.15 * h])
    if len(heights_arr) < 3:
        return False
    return float(np.std(heights_arr) / max(np.mean(heights_arr), 1)) < 0.45


def _box_of(mask: np.ndarray, offset: tuple[int, int] = (0, 0)) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return x0 + offset[0], y0 + offset[1], int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1


def _slice_box(sl: tuple[slice, slice]) -> tuple[int, int, int, int]:
    return sl[1].start, sl[0].start, sl[1].stop - sl[1].start, sl[0].stop - sl[0].start


def _rescale(box: tuple[int, int, int, int], scale: float, size: tuple[int, int]
             ) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(v * scale)) for v in box)
    x, y = min(x, size[0] - 1), min(y, size[1] - 1)
    return x, y, max(1, min(w, size[0] - x)), max(1, min(h, size[1] - y))
