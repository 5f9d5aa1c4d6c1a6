"""Transformations that examiners treat as "the same mark".

Used twice: training draws random chains of them to make positive pairs, and the
evaluation applies each one alone to measure how well a model sees through it. Every
transform maps an RGB image on a plain ground to an RGB image, deterministically for a
given ``random.Random``.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from models.preprocess import background_colour, canonical_square, ink_map

Transform = Callable[[Image.Image, random.Random], Image.Image]

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))


@lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    """TrueType/OpenType fonts on this machine (Debian font packages); may be empty."""
    found: list[str] = []
    for root in FONT_DIRS:
        if root.is_dir():
            found += [str(p) for p in root.rglob("*") if p.suffix.lower() in (".ttf", ".otf")]
    return tuple(sorted(found))


def _font(rng: random.Random, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    fonts = font_files()
    if fonts:
        try:
            return ImageFont.truetype(rng.choice(fonts), size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _ink_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """(alpha in 0..1 of the ink over the ground, background colour)."""
    rgb = np.asarray(image.convert("RGB"))
    bg = background_colour(rgb)
    alpha = np.clip(ink_map(rgb, bg).astype(np.float32) / 160.0, 0.0, 1.0)
    return alpha, bg


def _compose(alpha: np.ndarray, ink: np.ndarray, ground: np.ndarray) -> Image.Image:
    """Paint ``ink`` (colour or per-pixel colours) over ``ground`` through ``alpha``."""
    a = alpha[..., None]
    out = ground.astype(np.float32) * (1 - a) + ink.astype(np.float32) * a
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def _random_colour(rng: random.Random) -> np.ndarray:
    return np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)


def _contrasting_pair(rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """Ink and ground colours far enough apart to stay visible."""
    while True:
        ink, ground = _random_colour(rng), _random_colour(rng)
        if np.abs(ink - ground).max() > 90:
            return ink, ground


# -- single transformations ------------------------------------------------------------
def rotate90(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def rotate180(image: Image.Image, rng: random.Random) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_180)


def rotate_small(image: Image.Image, rng: random.Random) -> Image.Image:
    alpha, bg = _ink_alpha(image)
    fill = tuple(int(c) for c in np.round(bg))
    return image.rotate(rng.uniform(-25, 25), Image.Resampling.BILINEAR, expand=True,
                        fillcolor=fill)


def mirror(image: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.mirror(image)


def contrast_reversal(image: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.invert(image.convert("RGB"))


def recolour(image: Image.Image, rng: random.Random) -> Image.Image:
    """New ink and ground colours, either polarity."""
    alpha, _ = _ink_alpha(image)
    ink, ground = _contrasting_pair(rng)
    return _compose(alpha, np.broadcast_to(ink, alpha.shape + (3,)),
                    np.broadcast_to(ground, alpha.shape + (3,)))


def multicolour(image: Image.Image, rng: random.Random) -> Image.Image:
    """Different ink colours in regions split by random lines (multi-colour marks)."""
    alpha, _ = _ink_alpha(image)
    h, w = alpha.shape
    _, ground = _contrasting_pair(rng)
    ys, xs = np.mgrid[0:h, 0:w]
    region = np.zeros((h, w), dtype=np.int64)
    for bit in range(rng.randint(1, 2)):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(0.3, 0.7)
        side = (np.cos(angle) * (xs / w - offset) + np.sin(angle) * (ys / h - offset)) > 0
        region |= side.astype(np.int64) << bit
    palette = []
    for _ in range(4):
        while True:
            colour = _random_colour(rng)
            if np.abs(colour - ground).max() > 90:
                palette.append(colour)
                break
    ink = np.stack(palette)[region]
    return _compose(alpha, ink, np.broadcast_to(ground, alpha.shape + (3,)))


def greyscale(image: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def rescale_and_move(image: Image.Image, rng: random.Random) -> Image.Image:
    """The mark smaller or larger, anywhere on a bigger canvas."""
    square, bg = canonical_square(image)
    mark = Image.fromarray(square)
    side = rng.randint(160, 320)
    size = max(16, int(side * rng.uniform(0.25, 0.8)))
    mark = mark.resize((size, size), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (side, int(side * rng.uniform(0.7, 1.3))),
                       tuple(int(c) for c in np.round(bg)))
    x = rng.randint(0, max(0, canvas.width - size))
    y = rng.randint(0, max(0, canvas.height - size))
    canvas.paste(mark, (x, y))
    return canvas


def random_word(rng: random.Random) -> str:
    letters = string.ascii_uppercase if rng.random() < 0.5 else string.ascii_lowercase
    return "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))


def add_words(image: Image.Image, rng: random.Random) -> Image.Image:
    """A verbal element beside or below the figure, as in composite marks."""
    square, bg = canonical_square(image)
    mark = Image.fromarray(square).resize((160, 160), Image.Resampling.BILINEAR)
    _, ink_bg = _ink_alpha(mark)
    ink_colour = (0, 0, 0) if bg.mean() > 128 else (255, 255, 255)
    word = random_word(rng)
    font = _font(rng, rng.randint(28, 48))
    left, top, right, bottom = font.getbbox(word)
    tw, th = right - left, bottom - top
    fill = tuple(int(c) for c in np.round(bg))
    if rng.random() < 0.5:  # below
        canvas = Image.new("RGB", (max(160, tw + 20), 160 + th + 24), fill)
        canvas.paste(mark, ((canvas.width - 160) // 2, 0))
        pos = ((canvas.width - tw) // 2 - left, 160 + 8 - top)
    else:  # beside
        canvas = Image.new("RGB", (160 + tw + 24, max(160, th + 20)), fill)
        canvas.paste(mark, (0, (canvas.height - 160) // 2))
        pos = (160 + 12 - left, (canvas.height - th) // 2 - top)
    ImageDraw.Draw(canvas).text(pos, word, font=font, fill=ink_colour)
    return canvas


def add_frame(image: Image.Image, rng: random.Random) -> Image.Image:
    """A rectangle, rounded rectangle or circle drawn around the figure."""
    square, bg = canonical_square(image)
    mark = Image.fromarray(square).resize((150, 150), Image.Resampling.BILINEAR)
    fill = tuple(int(c) for c in np.round(bg))
    canvas = Image.new("RGB", (220, 220), fill)
    canvas.paste(mark, (35, 35))
    ink = (0, 0, 0) if bg.mean() > 128 else (255, 255, 255)
    width = rng.randint(3, 8)
    draw = ImageDraw.Draw(canvas)
    shape = rng.choice(["rectangle", "rounded", "circle"])
    box = [8, 8, 211, 211]
    if shape == "rectangle":
        draw.rectangle(box, outline=ink, width=width)
    elif shape == "rounded":
        draw.rounded_rectangle(box, radius=30, outline=ink, width=width)
    else:
        draw.ellipse([0, 0, 219, 219], outline=ink, width=width)
    return canvas


def add_second_figure(image: Image.Image, rng: random.Random) -> Image.Image:
    """A second device beside or below the figure (a disc, ring, polygon or star), as in
    composite marks that combine two figurative elements."""
    square, bg = canonical_square(image)
    mark = Image.fromarray(square).resize((160, 160), Image.Resampling.BILINEAR)
    side = rng.randint(100, 160)
    mark_at, device_at = _second_figure_layout(rng, side)
    width = max(mark_at[0] + 160, device_at[0] + side)
    height = max(mark_at[1] + 160, device_at[1] + side)
    canvas = Image.new("RGB", (width, height), tuple(int(c) for c in np.round(bg)))
    canvas.paste(mark, mark_at)
    _draw_device(ImageDraw.Draw(canvas), rng, device_at, side,
                 tuple(int(c) for c in _random_colour(rng)))
    return canvas


def _second_figure_layout(rng: random.Random, side: int
                          ) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where the 160-px mark and a ``side``-px device go: in a row or a column, either
    first, centred on each other across the row or column."""
    offset = (160 - side) // 2
    beside, device_first = rng.random() < 0.5, rng.random() < 0.5
    if beside:
        return ((side + 24, 0), (0, offset)) if device_first else ((0, 0), (184, offset))
    return ((0, side + 24), (offset, 0)) if device_first else ((0, 0), (offset, 184))


def _draw_device(draw: ImageDraw.ImageDraw, rng: random.Random, at: tuple[int, int],
                 side: int, ink: tuple[int, ...]) -> None:
    x, y = at
    cx, cy, r = x + side / 2, y + side / 2, side / 2 - 2
    kind = rng.choice(["disc", "ring", "polygon", "star"])
    if kind in ("disc", "ring"):
        draw.ellipse([x + 2, y + 2, x + side - 2, y + side - 2],
                     fill=None if kind == "ring" else ink, outline=ink, width=max(4, side // 10))
        return
    n = rng.randint(5, 8) if kind == "star" else rng.randint(3, 8)
    turn = rng.uniform(0, 2 * math.pi)
    if kind == "star":
        points = [(cx + (r if i % 2 == 0 else r * 0.45) * math.cos(turn + math.pi * i / n),
                   cy + (r if i % 2 == 0 else r * 0.45) * math.sin(turn + math.pi * i / n))
                  for i in range(2 * n)]
    else:
        points = [(cx + r * math.cos(turn + 2 * math.pi * i / n),
                   cy + r * math.sin(turn + 2 * math.pi * i / n)) for i in range(n)]
    draw.polygon(points, fill=ink)


def _ink_mask_op(image: Image.Image, op: Callable[[Image.Image], Image.Image]) -> Image.Image:
    alpha, bg = _ink_alpha(image)
    mask = Image.fromarray((alpha * 255).astype(np.uint8))
    new_alpha = np.asarray(op(mask)).astype(np.float32) / 255.0
    rgb = np.asarray(image.convert("RGB")).astype(np.float32)
    # ink colour: mean colour where the ink is solid (falls back to black)
    solid = alpha > 0.9
    ink = rgb[solid].mean(axis=0) if solid.any() else np.zeros(3, np.float32)
    return _compose(new_alpha, np.broadcast_to(ink, alpha.shape + (3,)),
                    np.broadcast_to(bg, alpha.shape + (3,)))


def outline_only(image: Image.Image, rng: random.Random) -> Image.Image:
    """Only the contour of the ink: filled marks drawn in outline."""
    width = max(3, int(min(image.size) / 60) * 2 + 1)

    def op(mask: Image.Image) -> Image.Image:
        eroded = mask.filter(ImageFilter.MinFilter(width))
        return Image.fromarray(np.clip(np.asarray(mask, np.int16) - np.asarray(eroded, np.int16),
                                       0, 255).astype(np.uint8))

    return _ink_mask_op(image, op)


def thicker_strokes(image: Image.Image, rng: random.Random) -> Image.Image:
    size = rng.choice([3, 5]) if min(image.size) < 200 else rng.choice([5, 7])
    return _ink_mask_op(image, lambda m: m.filter(ImageFilter.MaxFilter(size)))


def thinner_strokes(image: Image.Image, rng: random.Random) -> Image.Image:
    return _ink_mask_op(image, lambda m: m.filter(ImageFilter.MinFilter(3)))


def partial_crop(image: Image.Image, rng: random.Random) -> Image.Image:
    """A part of the mark is cut off (70-90 % of each side kept)."""
    square, _ = canonical_square(image)
    mark = Image.fromarray(square)
    w, h = mark.size
    kw, kh = int(w * rng.uniform(0.7, 0.9)), int(h * rng.uniform(0.7, 0.9))
    x, y = rng.randint(0, w - kw), rng.randint(0, h - kh)
    return mark.crop((x, y, x + kw, y + kh))


def perspective(image: Image.Image, rng: random.Random) -> Image.Image:
    """The mark photographed at an angle."""
    square, bg = canonical_square(image)
    mark = Image.fromarray(square)
    w, h = mark.size
    d = 0.18
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + rng.uniform(-d, d) * w, y + rng.uniform(-d, d) * h) for x, y in src]
    coeffs = _perspective_coeffs(dst, src)
    fill = tuple(int(c) for c in np.round(bg))
    return mark.transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                          Image.Resampling.BILINEAR, fillcolor=fill)


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]
                        ) -> list[float]:
    rows = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for point in dst for c in point], dtype=np.float64)
    return np.linalg.lstsq(a, b, rcond=None)[0].tolist()


def low_quality_scan(image: Image.Image, rng: random.Random) -> Image.Image:
    """Blur, low resolution, noise and JPEG artefacts, as in old paper filings."""
    out = image.convert("RGB")
    if rng.random() < 0.7:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    if rng.random() < 0.7:
        small = max(24, int(min(out.size) * rng.uniform(0.25, 0.5)))
        scale = small / min(out.size)
        size = (max(1, int(out.width * scale)), max(1, int(out.height * scale)))
        out = out.resize(size, Image.Resampling.BILINEAR)
    arr = np.asarray(out).astype(np.float32)
    arr += np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(3, 12), arr.shape)
    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    import io

    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=rng.randint(15, 45))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


TRANSFORMS: dict[str, Transform] = {
    "rotate90": rotate90,
    "rotate180": rotate180,
    "rotate_small": rotate_small,
    "mirror": mirror,
    "contrast_reversal": contrast_reversal,
    "recolour": recolour,
    "multicolour": multicolour,
    "greyscale": greyscale,
    "rescale_move": rescale_and_move,
    "added_words": add_words,
    "frame": add_frame,
    "second_figure": add_second_figure,
    "outline": outline_only,
    "thicker": thicker_strokes,
    "thinner": thinner_strokes,
    "partial_crop": partial_crop,
    "perspective": perspective,
    "low_quality_scan": low_quality_scan,
}

# How often each transform joins a training view's chain.
TRAINING_WEIGHTS: dict[str, float] = {
    # The shipped model's mix. Drawing outline, stroke weight, words, frames and crops
    # about twice as often (run cpu2, see models/MODEL_CARD.md) scored lower overall.
    "rotate90": 0.15, "rotate180": 0.1, "rotate_small": 0.25, "mirror": 0.2,
    "contrast_reversal": 0.2, "recolour": 0.5, "multicolour": 0.2, "greyscale": 0.1,
    "rescale_move": 0.5, "added_words": 0.2, "frame": 0.15, "outline": 0.1,
    "thicker": 0.15, "thinner": 0.1, "partial_crop": 0.2, "perspective": 0.2,
    "low_quality_scan": 0.3,
}

# Order in which a chain applies them: shape changes first, colour and scan last.
_ORDER = [
    "thicker", "thinner", "outline", "partial_crop", "added_words", "frame", "rotate90",
    "rotate180", "rotate_small", "mirror", "perspective", "rescale_move", "multicolour",
    "recolour", "greyscale", "contrast_reversal", "low_quality_scan",
]


def random_view(image: Image.Image, rng: random.Random) -> Image.Image:
    """A training view: a random chain of the transformations above."""
    out = image
    for name in _ORDER:
        if rng.random() < TRAINING_WEIGHTS[name]:
            try:
                out = TRANSFORMS[name](out, rng)
            except Exception:  # noqa: BLE001 - a degenerate image skips that step
                continue
    return out
