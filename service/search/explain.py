"""Why is this result similar to that query? Occlusion sensitivity on both marks.

An examiner who cites an earlier mark has to say *which parts* of the two marks are alike.
The embedding is a black box, so we ask it directly: hide one small patch of the query at a
time and see how much its similarity to the result drops. Patches whose removal costs the
most similarity are the ones the match rests on. The same is done for the result against
the query, so both sides of the citation get a heat map.

Occlusion works on the network's own input (the canonical square, resized and turned into
an ink map), not on the raw upload. Occluding the raw image and re-preparing it would let
the canonical crop move whenever a patch hides ink at the mark's edge, and the heat would
then measure re-framing rather than content. Because the prepared input is a plain resize
of the canonical square, each grid cell maps exactly onto a region of that square, which
is what the overlays are drawn on.

The patch is filled with the background colour by default ("nothing drawn here"), which
in ``ink`` mode is simply zero ink. A grey fill is available, but on a white ground grey
is itself ink and tends to add shapes rather than remove them.

All ``2 * grid**2 + 2`` inputs go through the network in a single call (about 130 images
of 128 px for the default 8 x 8 grid), so an explanation costs a fraction of a second on
CPU.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from models.embedder import Embedder
from models.preprocess import canonical_square, ink_map

Fill = Literal["background", "grey"]

PATCH_CELLS = 1.5  # occluding patch side, in grid cells: overlap smooths the map
HEAT_ALPHA = 0.6  # opacity of the red overlay where heat is 1.0
HEAT_RGB = (230, 20, 20)
BASE_FLOOR = 80  # the mark is drawn in greys from this level up, so red shows on black
OUTLINE_RGB = (0, 150, 255)  # outline of the hottest region: stands out from red and grey
OUTLINE_WIDTH = 2
HOT_LEVEL = 0.6  # heat at or above this is outlined as the "hottest region"
OVERLAY_SIDE = 256  # default side of each rendered overlay, pixels
LABEL_HEIGHT = 22  # label strip of the side-by-side image, pixels
GAP = 8  # space between the two overlays, pixels
STRIP_RGB = (40, 40, 40)  # label strip and the gap between the overlays


@dataclass(frozen=True)
class Explanation:
    """What made a pair similar: a heat map per image on its canonical square.

    ``query_heat[i, j]`` is the (normalised, 0..1) loss of similarity to the result when
    the patch centred on grid cell row ``i``, column ``j`` of the query's canonical square
    is hidden; ``result_heat`` likewise for the result against the query. ``*_max_drop``
    keep the raw, unnormalised largest loss so a caller can tell a map that rests on one
    decisive part (large drop) from a diffuse one (small drop, where normalisation makes
    noise look confident).
    """

    score: float
    query_heat: np.ndarray
    result_heat: np.ndarray
    query_square: np.ndarray
    result_square: np.ndarray
    query_max_drop: float
    result_max_drop: float

    @property
    def grid(self) -> int:
        return int(self.query_heat.shape[0])


def _patch_bounds(grid: int, side: int, patch_cells: float) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) pixel bounds of each patch, row-major, one per cell.

    Each patch is centred on its cell (stride one cell) and clipped at the image border.
    """
    cell = side / grid
    half = patch_cells * cell / 2
    spans = []
    for k in range(grid):
        centre = (k + 0.5) * cell
        spans.append((max(0, int(round(centre - half))), min(side, int(round(centre + half)))))
    return [(t, b, lft, r) for (t, b) in spans for (lft, r) in spans]


def _fill_value(embedder: Embedder, background: np.ndarray, fill: Fill) -> np.ndarray:
    """Per-channel value of the patch in the prepared (network input) space."""
    if fill == "background":
        colour = np.round(background).astype(np.uint8)
    else:
        colour = np.array([128, 128, 128], dtype=np.uint8)
    if embedder.config.input_mode == "ink":
        return ink_map(colour[None, None, :], background)[0, 0][None]
    if embedder.config.input_mode == "ink+grey":  # the patch's ink and its grey
        grey = cv2.cvtColor(colour[None, None, :], cv2.COLOR_RGB2GRAY)[0, 0]
        return np.array([ink_map(colour[None, None, :], background)[0, 0], grey], np.uint8)
    return colour


def _occluded(
    prepared: np.ndarray, bounds: list[tuple[int, int, int, int]], value: np.ndarray
) -> np.ndarray:
    """(len(bounds), C, S, S) copies of ``prepared``, each with one patch filled."""
    batch = np.repeat(prepared[None], len(bounds), axis=0)
    for n, (top, bottom, left, right) in enumerate(bounds):
        batch[n, :, top:bottom, left:right] = value[:, None, None]
    return batch


def _heat(base: float, sims: np.ndarray, grid: int) -> tuple[np.ndarray, float]:
    """Similarity drops -> (normalised (grid, grid) float32 heat, raw largest drop).

    Only drops count: a patch whose removal *raises* the similarity is something that
    differs between the marks, which is not what a citation needs to point at.
    """
    drop = np.clip(base - sims, 0.0, None).reshape(grid, grid).astype(np.float32)
    peak = float(drop.max())
    if peak <= 0.0:
        return np.zeros((grid, grid), dtype=np.float32), 0.0
    return drop / peak, peak


def explain(
    embedder: Embedder,
    query: Image.Image,
    result: Image.Image,
    grid: int = 8,
    patch_cells: float = PATCH_CELLS,
    fill: Fill = "background",
) -> Explanation:
    """Occlusion-sensitivity explanation of why ``result`` matched ``query``.

    The heat is the drop of the stored vectors' similarity (embedding and orientation,
    models/signals.py); ``score`` is that similarity here, and the register replaces it
    with the search's score of the pair (Register.explain), the number users see.
    """
    if grid < 1:
        raise ValueError("grid must be at least 1")
    prepared_q = embedder.prepare(query)
    prepared_r = embedder.prepare(result)
    square_q, background_q = canonical_square(query)
    square_r, background_r = canonical_square(result)
    bounds = _patch_bounds(grid, embedder.config.input_size, patch_cells)
    batch = np.concatenate(
        [
            prepared_q[None],
            prepared_r[None],
            _occluded(prepared_q, bounds, _fill_value(embedder, background_q, fill)),
            _occluded(prepared_r, bounds, _fill_value(embedder, background_r, fill)),
        ]
    )
    vectors = embedder.embed_prepared(batch)
    vec_q, vec_r = vectors[0], vectors[1]
    cells = grid * grid
    occluded_q = vectors[2 : 2 + cells]
    occluded_r = vectors[2 + cells :]
    score = float(vec_q @ vec_r)
    query_heat, query_drop = _heat(score, occluded_q @ vec_r, grid)
    result_heat, result_drop = _heat(score, occluded_r @ vec_q, grid)
    return Explanation(
        score=score,
        query_heat=query_heat,
        result_heat=result_heat,
        query_square=square_q,
        result_square=square_r,
        query_max_drop=query_drop,
        result_max_drop=result_drop,
    )


def _overlay_image(square_rgb: np.ndarray, heat: np.ndarray, side: int) -> Image.Image:
    """The square at ``side`` px with red heat blended in and the hottest region outlined.

    The mark is drawn in light greys: the network is colour-blind anyway (ink mode), and a
    red heat map must stay readable over a red mark or a dark ground.
    """
    grey = Image.fromarray(square_rgb).convert("L").resize((side, side), Image.Resampling.LANCZOS)
    lifted = grey.point(lambda v: BASE_FLOOR + v * (255 - BASE_FLOOR) // 255)
    base = lifted.convert("RGB")
    # resizing a (G, G) map maps cell centres onto cell centres; bicubic keeps it smooth
    smooth = Image.fromarray(np.asarray(heat, dtype=np.float32)).resize(
        (side, side), Image.Resampling.BICUBIC
    )
    level = np.clip(np.asarray(smooth), 0.0, 1.0)
    alpha = (level * HEAT_ALPHA * 255).astype(np.uint8)
    red = Image.new("RGB", (side, side), HEAT_RGB)
    out = Image.composite(red, base, Image.fromarray(alpha))
    if level.max() > 0:
        hot = Image.fromarray(((level >= HOT_LEVEL) * 255).astype(np.uint8))
        inner = hot.filter(ImageFilter.MinFilter(OUTLINE_WIDTH * 2 + 1))
        edge = np.asarray(hot) > np.asarray(inner)
        pixels = np.asarray(out).copy()
        pixels[edge] = OUTLINE_RGB
        out = Image.fromarray(pixels)
    return out


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def overlay_png(square_rgb: np.ndarray, heat: np.ndarray, side: int = OVERLAY_SIDE) -> bytes:
    """PNG (``side`` x ``side``) of a canonical square with its heat map laid over it."""
    return _png(_overlay_image(square_rgb, heat, side))


def side_by_side_png(explanation: Explanation, side: int = OVERLAY_SIDE) -> bytes:
    """PNG of query (left) and result (right) overlays above a strip giving the score.

    The image is ``2 * side + GAP`` wide and ``side + LABEL_HEIGHT`` high.
    """
    left = _overlay_image(explanation.query_square, explanation.query_heat, side)
    right = _overlay_image(explanation.result_square, explanation.result_heat, side)
    canvas = Image.new("RGB", (2 * side + GAP, side + LABEL_HEIGHT), STRIP_RGB)
    canvas.paste(left, (0, 0))
    canvas.paste(right, (side + GAP, 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    y, pad, white = side + 5, 6, (255, 255, 255)
    score = f"similarity: {explanation.score:.3f}"
    score_x = (canvas.width - draw.textlength(score, font=font)) / 2
    draw.text((score_x, y), score, fill=white, font=font)
    # the side names only where they fit beside the score (left is always the query)
    query_end = pad + draw.textlength("query", font=font)
    result_x = canvas.width - pad - draw.textlength("result", font=font)
    if query_end + pad <= score_x and result_x - pad >= canvas.width - score_x:
        draw.text((pad, y), "query", fill=white, font=font)
        draw.text((result_x, y), "result", fill=white, font=font)
    return _png(canvas)
