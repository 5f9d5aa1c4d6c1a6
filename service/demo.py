"""The offline demo register: the ~3,400 brand marks of Simple Icons (PyPI: simplepycons).

Each icon is rendered to PNG in its brand colour (light colours on a dark ground, so no
mark disappears into white), with the brand name as the mark name and synthetic metadata
(``service.demo_metadata``: invented owners, classes, Vienna codes, dates and statuses,
so that every filter shows something), then ingested like any other folder, with a few
Chinese word marks beside them. Simple Icons is CC0-1.0; the marks themselves belong to
their owners.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from service.demo_metadata import chinese_word_marks, synthetic_metadata
from service.marks.images import encode_png, normalise, render_svg

SOURCE = "simple-icons (PyPI simplepycons, CC0-1.0; marks belong to their owners)"
_RENDER_SIDE = 256


@dataclass(frozen=True)
class DemoIcon:
    slug: str
    title: str
    colour: str
    svg: str


def demo_icon_names(limit: int | None = None) -> list[str]:
    """The demo's icons in slug order; ``limit`` takes an evenly spread subset (tests)."""
    import simplepycons

    names = sorted(simplepycons.all_icons.names())
    if limit is not None and limit < len(names):
        step = len(names) / limit
        names = [names[int(i * step)] for i in range(limit)]
    return names


def iter_demo_icons(limit: int | None = None) -> Iterator[DemoIcon]:
    """Simple Icons in slug order; ``limit`` takes an evenly spread subset (for tests)."""
    import simplepycons

    for name in demo_icon_names(limit):
        icon = simplepycons.all_icons[name]
        colour = icon.primary_color if icon.primary_color.startswith("#") else "#000000"
        yield DemoIcon(icon.name, icon.title, colour, icon.customize_svg_as_str(fill=colour))


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) != 6:
        return 0.0
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def render_icon(icon: DemoIcon, side: int = _RENDER_SIDE) -> bytes:
    """PNG bytes of the icon in its colour on white, or on near-black if the colour is light."""
    png = render_svg(icon.svg.encode(), int(side * 0.8))
    import io

    with Image.open(io.BytesIO(png)) as glyph:
        glyph = glyph.convert("RGBA")
        ground = (24, 24, 24, 255) if _luminance(icon.colour) > 0.8 else (255, 255, 255, 255)
        canvas = Image.new("RGBA", (side, side), ground)
        canvas.alpha_composite(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    return encode_png(normalise(canvas, side))


def write_demo_folder(
    folder: Path, limit: int | None = None, on_icon: Callable[[str], None] | None = None
) -> Path:
    """Render the demo marks into ``folder`` with a ``metadata.jsonl``; returns its path."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    metadata_path = folder / "metadata.jsonl"
    with open(metadata_path, "w", encoding="utf-8") as meta:
        for icon in iter_demo_icons(limit):
            target = images / f"{icon.slug}.png"
            if not target.exists():
                try:
                    target.write_bytes(render_icon(icon))
                except Exception as exc:  # noqa: BLE001 - one icon never stops the demo
                    if on_icon:
                        on_icon(f"skipped {icon.slug}: {exc}")
                    continue
            row = {"file": f"{icon.slug}.png", "id": icon.slug, "name": icon.title,
                   **synthetic_metadata(icon.slug, target.read_bytes())}
            meta.write(json.dumps(row) + "\n")
            if on_icon:
                on_icon(icon.slug)
        for row in chinese_word_marks(images):  # with Debian's CJK font, where it is
            meta.write(json.dumps(row, ensure_ascii=False) + "\n")
    (folder / "SOURCE.txt").write_text(SOURCE + "\n")
    return metadata_path
