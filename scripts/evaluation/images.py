"""Reading rendered training and evaluation images the way the service reads uploads."""

from __future__ import annotations

from PIL import Image

from service.marks.images import normalise


def load_rgb(path: str) -> Image.Image:
    """A rendered icon in the service's normal form (alpha on white, RGB)."""
    with Image.open(path) as im:
        im.load()
        return normalise(im, max(im.size))
