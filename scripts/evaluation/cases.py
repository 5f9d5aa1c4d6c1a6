"""Evaluation-only transformations: harder variants of scripts/training/augment.py's, kept here so
that training (which draws from ``scripts.training.augment.TRANSFORMS``) never sees them.

Each maps (RGB image on a plain ground, ``random.Random``) to an RGB image,
deterministically for a given generator, like the functions of ``TRANSFORMS``. Sizes are
given for the 160-px renderings of the evaluation set and scale with the image.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from models.preprocess import background_colour, canonical_square, ink_map
from scripts.training.augment import TRANSFORMS, Transform

REFERENCE_SIDE = 160  # the evaluation set's rendering size, which the widths refer to
SOLID_SHARE = 0.6  # an original whose ink covers this much of its square is a tile itself


def _ink_alpha(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha 0..1 of the ink over the ground, ground colour), as scripts/training/augment.py reads
    ink: the distance from the background colour, saturating at 160."""
    ground = background_colour(rgb)
    return np.clip(ink_map(rgb, ground).astype(np.float32) / 160.0, 0.0, 1.0), ground


def _paint(alpha: np.ndarray, ink: np.ndarray, ground: np.ndarray) -> Image.Image:
    """``ink`` over ``ground`` (colours or per-pixel colour arrays) through ``alpha``."""
    a = alpha[..., None]
    out = np.asarray(ground, np.float32) * (1 - a) + np.asarray(ink, np.float32) * a
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def _scaled_odd(px: int, image: Image.Image) -> int:
    """A filter width of ``px`` at 160 px, scaled to the image; odd, as PIL's rank
    filters need."""
    width = max(1, round(px * min(image.size) / REFERENCE_SIDE))
    return width if width % 2 else width + 1


def _mask_op(image: Image.Image, op: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply ``op`` to the ink mask and repaint in the ink's solid colour (black if the
    ink has no solid part) on the ground."""
    rgb = np.asarray(image.convert("RGB"))
    alpha, ground = _ink_alpha(rgb)
    new_alpha = np.asarray(op(Image.fromarray((alpha * 255).astype(np.uint8))),
                           np.float32) / 255.0
    solid = alpha > 0.9
    ink = rgb[solid].astype(np.float32).mean(axis=0) if solid.any() else np.zeros(3)
    return _paint(new_alpha, ink, ground)


def outline_contour(image: Image.Image, rng: random.Random) -> Image.Image:
    """Only the contour of the ink, 3, 7 or 11 px wide at 160 px, nothing added around
    it: a filled mark filed in outline (``outline_only`` draws a fixed, thin line)."""
    width = _scaled_odd(rng.choice([3, 7, 11]), image)

    def contour(mask: Image.Image) -> Image.Image:
        eroded = np.asarray(mask.filter(ImageFilter.MinFilter(width)), np.int16)
        return Image.fromarray(np.clip(np.asarray(mask, np.int16) - eroded, 0, 255)
                               .astype(np.uint8))

    return _mask_op(image, contour)


def thicker_3_7(image: Image.Image, rng: random.Random) -> Image.Image:
    """The ink dilated by a 3, 5 or 7 px filter at 160 px (``thicker_strokes`` picks 3 or
    5 at this size): the same mark drawn with a heavier pen."""
    size = _scaled_odd(rng.choice([3, 5, 7]), image)
    return _mask_op(image, lambda mask: mask.filter(ImageFilter.MaxFilter(size)))


def rotate_10_25(image: Image.Image, rng: random.Random) -> Image.Image:
    """Turned by 10 to 25 degrees either way (``rotate_small`` also draws near-zero
    angles, which are easy), the canvas grown to fit, the corners in the ground colour."""
    ground = background_colour(np.asarray(image.convert("RGB")))
    angle = rng.uniform(10.0, 25.0) * rng.choice([-1.0, 1.0])
    return image.convert("RGB").rotate(angle, Image.Resampling.BILINEAR, expand=True,
                                       fillcolor=tuple(int(c) for c in np.round(ground)))


def _far_colour(rng: random.Random, *others: np.ndarray, distance: float = 90.0
                ) -> np.ndarray:
    """A random colour at least ``distance`` away (largest channel) from each of ``others``."""
    while True:
        colour = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
        if all(np.abs(colour - other).max() > distance for other in others):
            return colour


def tile_behind(image: Image.Image, rng: random.Random) -> Image.Image:
    """The figure on a filled rounded square or disc of a random colour, a bit larger
    than the figure, drawn in a colour that contrasts with the tile: the app-icon form
    of a mark, where the ink map sees a filled shape with the figure cut out of it. An
    original that is a filled tile itself keeps its own colours on the new tile (in one
    colour its figure would vanish into a plain square)."""
    square, ground = canonical_square(image)
    side = 128
    figure = np.asarray(Image.fromarray(square).resize((side, side),
                                                       Image.Resampling.BILINEAR))
    alpha, _ = _ink_alpha(figure)
    disc = rng.random() < 0.5
    # a disc must reach the figure's corners to hold it, a rounded square its sides
    tile = int(side * (rng.uniform(1.3, 1.45) if disc else rng.uniform(1.12, 1.3)))
    margin = rng.randint(6, 20)
    canvas_side = tile + 2 * margin
    tile_colour = _far_colour(rng, ground, distance=60.0)
    ink = _far_colour(rng, tile_colour)
    mask = Image.new("L", (canvas_side, canvas_side), 0)
    box = [margin, margin, margin + tile - 1, margin + tile - 1]
    draw = ImageDraw.Draw(mask)
    if disc:
        draw.ellipse(box, fill=255)
    else:
        draw.rounded_rectangle(box, radius=int(tile * rng.uniform(0.12, 0.25)), fill=255)
    tile_alpha = np.asarray(mask, np.float32) / 255.0
    page = np.broadcast_to(np.asarray(ground, np.float32), (canvas_side, canvas_side, 3))
    base = np.asarray(_paint(tile_alpha, tile_colour, page), np.float32)
    figure_alpha = np.zeros((canvas_side, canvas_side), np.float32)
    at = (canvas_side - side) // 2
    figure_alpha[at:at + side, at:at + side] = alpha
    if alpha.mean() > SOLID_SHARE:
        # the original is itself a tile (an app icon): painted in one colour it would
        # be a plain square with its figure erased, so it is pasted as it is, the
        # figure knocked out of it (holes in its ink) in its own ground colour
        whole = np.maximum(alpha, ndimage.binary_fill_holes(alpha > 0.5))
        figure_alpha[at:at + side, at:at + side] = whole
        colours = np.broadcast_to(np.asarray(ink, np.float32), (canvas_side, canvas_side, 3)
                                  ).copy()
        colours[at:at + side, at:at + side] = figure
        return _paint(figure_alpha, colours, base)
    return _paint(figure_alpha, ink, base)


CASES: dict[str, Transform] = {
    "outline_contour": outline_contour,
    "thicker_3_7": thicker_3_7,
    "rotate_10_25": rotate_10_25,
    "tile_behind": tile_behind,
}


def all_transformations() -> dict[str, Transform]:
    """The transformed-copy task's transformations by name: scripts/training/augment.py's, in
    sorted order (their seeds depend on it), then this module's."""
    return {**{name: TRANSFORMS[name] for name in sorted(TRANSFORMS)}, **CASES}
