"""Split a mark into its components: figurative elements, a verbal element, a frame.

Examiners compare the figurative element of a composite mark even when it sits beside
words or inside a frame, so each component is embedded as well as the whole mark. The
split is classical image analysis on the ink map (no model to train or download):

1. ink = distance from the background colour (as the network's input);
2. a *frame* is a connected ink component that encloses the rest: its box spans nearly
   the whole mark and it covers little of that box (a ring, a border, a badge outline);
3. the remaining ink is grouped into *blobs* by closing small gaps (letters of a word
   join, separate elements stay apart);
4. a blob made of several similar-height parts in a wide row is a *word*; words on one
   line are one verbal element;
5. everything else is figurative: beside words or in a frame, the union of it is *the
   figure* (a figure drawn in separate pieces stays whole); separate figures that each
   hold a fifth of the ink, or of its bounding box, are figures of their own too, and so
   are the two groups on either side of a wide empty band across the drawing (a mark
   with two devices side by side or one above the other);
6. a *container*, a filled tile, disc or rounded square behind a figure drawn in
   another colour (the ink map sees one solid blob), is recognised by its solid, nearly
   convex shape; the figure inside, found as ink against the tile's own colour, becomes
   a figure component (its crop has the tile's colour as its ground, so it keeps its
   own polarity) and the tile a frame.

A mark that is a single element has no components beyond the whole mark. Order: figures,
then lines of words, then the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage

from models.preprocess import INK_THRESHOLD, background_colour, ink_map

ComponentKind = Literal["figure", "words", "frame"]

_WORK_SIDE = 256  # analysis resolution (boxes are scaled back to the image's pixels)
MAX_FIGURES = 3  # figure components (the only ones embedded, see service/marks/pipeline.py)
MAX_LINES = 2  # lines of words read by OCR
MIN_SHARE = 0.04  # a blob below this share of the ink is a speck or a detail, not an element
MIN_WORDS_SHARE = 0.01  # ... unless it is a line of words (beside a solid tile, say)
TILE_SOLIDITY = 0.9  # a container's area over its convex hull's
TILE_FILL = 0.6  # ... and over its box (a disc: 0.79, a square: 1.0)
INNER_SHARE = (0.02, 0.75)  # a figure inside a tile covers this share of the tile
CUT_GAP = 0.06  # an empty band this wide (share of the drawing's extent) separates elements
ELEMENT_SHARE = 0.2  # a figure with this share of the ink or of the ink's box is an element


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
    """The components of a composite mark (figures, words, frame); [] for a single element."""
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
    frame: list[tuple[ComponentKind, tuple[int, int, int, int]]] = []

    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    slices = ndimage.find_objects(labels)
    ink_box = _box_of(mask)
    contained = _contained_figure(rgb, labels, slices, ink_box)
    if contained is not None:
        inner, tile = contained
        return [Component("figure", _rescale(inner, scale, image.size)),
                Component("frame", _rescale(tile, scale, image.size))]
    frame_label = _frame_label(labels, slices, ink_box, mask)
    content = mask
    if frame_label is not None:
        content = mask & (labels != frame_label)
        frame.append(("frame", _slice_box(slices[frame_label - 1])))
        if content.sum() == 0:
            return []
        total = int(content.sum())

    side = (ink_box[2] * ink_box[3]) ** 0.5  # a wide mark's gaps scale with its height too
    gap = max(2, int(round(side * 0.035)))
    # = ndimage.binary_dilation(content, 3x3, iterations=gap), 40x faster
    closed = cv2.dilate(content.astype(np.uint8), np.ones((2 * gap + 1, 2 * gap + 1), np.uint8))
    blobs, m = ndimage.label(closed)
    blob_slices = ndimage.find_objects(blobs)
    parts_labels = labels if frame_label is None else np.where(content, labels, 0)
    figures: list[tuple[float, tuple[int, int, int, int]]] = []  # (element weight, box)
    ink_area = float(ink_box[2] * ink_box[3])
    figure_ink = np.zeros_like(content)
    words: list[tuple[int, int, int, int]] = []
    # the main drawing: the blob with the most ink (content has ink, so there is one)
    main = _slice_box(blob_slices[int(np.argmax(ndimage.sum_labels(content, blobs,
                                                                   range(1, m + 1))))])
    for index, sl in enumerate(blob_slices, start=1):
        if sl is None:
            continue
        inside = content[sl] & (blobs[sl] == index)
        share = int(inside.sum())
        if share < MIN_WORDS_SHARE * total:
            continue
        box = _box_of(inside, offset=(sl[1].start, sl[0].start))
        small = share < MIN_SHARE * total
        if _looks_like_words(parts_labels[sl], inside) or (
                small and _iou(box, main) == 0 and _parts(parts_labels[sl], inside) >= 2):
            # words are no speck, however much ink a solid figure has: a short word in a
            # joined hand (two or three parts) set apart from the main drawing is one too
            words.append(box)
        elif not small:  # a thin drawing counts by the room it takes, a solid one by its ink
            figures.append((max(share / total, box[2] * box[3] / ink_area), box))
            figure_ink[sl] |= inside
    figures.sort(key=lambda f: -f[0])
    lines = _join_lines(words)
    # separate figures big enough to be elements of their own (not pieces of one figure)
    elements = [box for weight, box in figures if weight >= ELEMENT_SHARE]
    boxes: list[tuple[int, int, int, int]] = []
    if figures and (lines or frame):  # the figurative element: all but words and frame
        boxes.append(_union([box for _, box in figures]))
    else:  # devices laid out side by side or one above the other
        boxes += _cut(figure_ink)
    if len(elements) >= 2:
        boxes += elements
    found: list[tuple[ComponentKind, tuple[int, int, int, int]]] = []
    for box in boxes:
        if len(found) < MAX_FIGURES and all(_iou(box, b) < 0.8 for _, b in found):
            found.append(("figure", box))
    if not found and not lines:
        return []  # a single element, or a frame around nothing else
    found += [("words", box) for box in lines[:MAX_LINES]] + frame
    return [Component(kind, _rescale(box, scale, image.size)) for kind, box in found]


def _contained_figure(rgb: np.ndarray, labels: np.ndarray, slices: list,
                      ink_box: tuple[int, int, int, int]
                      ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None:
    """(figure box, tile box) when the mark is a filled tile with a figure of another
    colour inside it; None otherwise."""
    _, _, iw, ih = ink_box
    for label, sl in enumerate(slices, start=1):
        if sl is None:
            continue
        x, y, w, h = _slice_box(sl)
        if w < 0.9 * iw or h < 0.9 * ih or w < 16 or h < 16:
            continue
        own = labels[sl] == label
        solid = ndimage.binary_fill_holes(own)
        area = float(solid.sum())
        if own.sum() < 0.5 * area:  # a ring or a border: a frame (below), not a tile
            return None
        hull = cv2.convexHull(cv2.findNonZero(solid.astype(np.uint8)))
        if area < TILE_FILL * w * h or area < TILE_SOLIDITY * max(cv2.contourArea(hull), 1.0):
            return None
        # the tile's anti-aliased rim is not the figure: eroded, from outside the slice
        # too (cv2 leaves the image's own edge uneroded, and the slice is the tile's box)
        inside = cv2.erode(solid.astype(np.uint8), np.ones((5, 5), np.uint8),
                           borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
        pixels = rgb[sl][inside]
        if len(pixels) == 0:
            return None
        tile_colour = np.median(pixels, axis=0)
        figure = (ink_map(rgb[sl], tile_colour) >= INK_THRESHOLD) & inside
        share = figure.sum() / area
        if not INNER_SHARE[0] <= share <= INNER_SHARE[1]:
            return None
        return _box_of(figure, offset=(x, y)), (x, y, w, h)
    return None


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


def _cut(ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Two groups of ink split by the widest empty band across the whole drawing (a
    vertical band for devices side by side, a horizontal one for devices stacked), when
    that band is wide enough to separate elements rather than the pieces of one."""
    if not ink.any():
        return []
    best: tuple[float, int, int] | None = None  # (relative width, axis, cut position)
    for axis in (0, 1):  # 0: split columns (side by side), 1: split rows (stacked)
        profile = ink.any(axis=axis)
        filled = np.flatnonzero(profile)
        first, last = int(filled[0]), int(filled[-1])
        gaps = np.flatnonzero(~profile[first : last + 1]) + first
        if not len(gaps):
            continue
        runs = np.split(gaps, np.flatnonzero(np.diff(gaps) > 1) + 1)
        widest = max(runs, key=len)
        width = len(widest) / float(last - first + 1)
        if best is None or width > best[0]:
            best = (width, axis, int(widest[len(widest) // 2]))
    if best is None or best[0] < CUT_GAP:
        return []
    _, axis, at = best
    halves = (ink[:, :at], ink[:, at:]) if axis == 0 else (ink[:at], ink[at:])
    offsets = ((0, 0), (at, 0)) if axis == 0 else ((0, 0), (0, at))
    total = float(ink.sum())
    if min(h.sum() for h in halves) < MIN_SHARE * total:
        return []  # a speck beside the drawing, not a second element
    return [_box_of(h, offset=o) for h, o in zip(halves, offsets, strict=True)]


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def _join_lines(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Words side by side on one line are one verbal element (and one line to read)."""
    lines: list[tuple[int, int, int, int]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        for i, line in enumerate(lines):
            top, bottom = max(box[1], line[1]), min(box[1] + box[3], line[1] + line[3])
            if bottom - top >= 0.5 * min(box[3], line[3]):
                lines[i] = _union([line, box])
                break
        else:
            lines.append(box)
    return lines


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


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


def _parts(part_labels: np.ndarray, inside: np.ndarray) -> int:
    """How many separate pieces of ink make up a blob."""
    return len(np.unique(part_labels[inside]))


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
