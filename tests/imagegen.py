"""Mark-like images generated for tests: deterministic, distinct, no files needed."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw


def make_mark(seed: int, size: int = 128, colour: tuple[int, int, int] | None = None,
              background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """A composition of 2-4 shapes; different seeds give visibly different marks."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    ink = colour or (rng.randrange(160), rng.randrange(160), rng.randrange(160))
    for _ in range(rng.randint(2, 4)):
        x0, x1 = sorted(rng.sample(range(8, size - 8), 2))
        y0, y1 = sorted(rng.sample(range(8, size - 8), 2))
        kind = rng.choice(["ellipse", "rectangle", "polygon", "line", "pieslice"])
        if kind == "polygon":
            pts = [(rng.randrange(8, size - 8), rng.randrange(8, size - 8)) for _ in range(5)]
            draw.polygon(pts, fill=ink)
        elif kind == "line":
            draw.line([(x0, y0), (x1, y1)], fill=ink, width=rng.randint(3, 9))
        elif kind == "pieslice":
            draw.pieslice([x0, y0, x1 + 1, y1 + 1], rng.randrange(360), rng.randrange(360),
                          fill=ink)
        else:
            filled = rng.random() < 0.6
            getattr(draw, kind)([x0, y0, x1 + 1, y1 + 1], fill=ink if filled else None,
                                outline=ink, width=rng.randint(2, 6))
    return image


def to_bytes(image: Image.Image, fmt: str = "PNG", **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def write_marks(folder: Path, seeds: range | list[int], fmt: str = "PNG",
                subdir: str = "") -> list[Path]:
    """Write one file per seed as ``mark-<seed>.<ext>``; returns the paths."""
    ext = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "TIFF": "tif",
           "WEBP": "webp"}[fmt]
    target = folder / subdir if subdir else folder
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = target / f"mark-{seed}.{ext}"
        path.write_bytes(to_bytes(make_mark(seed), fmt))
        paths.append(path)
    return paths


def make_design(seed: int, style: str, size: int = 64) -> Image.Image:
    """One random polygon in a drawing style, as an icon set draws one design: "fill"
    (a silhouette), "thin" or "outline" (a 2 px line), anything else a heavy 5 px line."""
    rng = random.Random(seed)
    margin = size // 8
    points = [(rng.randrange(margin, size - margin), rng.randrange(margin, size - margin))
              for _ in range(5)]
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    if style == "fill":
        draw.polygon(points, fill="black")
    else:
        draw.polygon(points, outline="black", width=2 if style in ("thin", "outline") else 5)
    return image
