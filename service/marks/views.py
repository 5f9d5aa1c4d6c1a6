"""The geometry of a mark image a query can ask for: a crop rectangle, and the eight
views under rotation by 90 degrees and mirroring (the rotation-tolerant search and the
dihedral views an ingest stores)."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from service.marks.filters import QueryError


@dataclass(frozen=True)
class Crop:
    """A rectangle of the query image, in pixels of the uploaded image."""

    x: int
    y: int
    w: int
    h: int

    @classmethod
    def parse(cls, text: str) -> Crop:
        """``"x,y,w,h"`` (the CLI's --crop)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4 or not all(p.lstrip("-").isdigit() for p in parts):
            raise QueryError(f"a crop is x,y,w,h in whole pixels, got {text!r}")
        return cls.of(*(int(p) for p in parts))

    @classmethod
    def of(cls, x: int | None, y: int | None, w: int | None, h: int | None) -> Crop | None:
        """From the four API fields: all or none must be given."""
        given = [v is not None for v in (x, y, w, h)]
        if not any(given):
            return None
        if not all(given):
            raise QueryError("a crop needs all of crop_x, crop_y, crop_w and crop_h")
        assert x is not None and y is not None and w is not None and h is not None
        if x < 0 or y < 0 or w < 1 or h < 1:
            raise QueryError(f"a crop needs x, y >= 0 and w, h >= 1, got {x},{y},{w},{h}")
        return cls(x, y, w, h)

    def apply(self, image: Image.Image) -> Image.Image:
        """The cropped image; QueryError if the rectangle is not inside the image."""
        width, height = image.size
        if self.x + self.w > width or self.y + self.h > height:
            raise QueryError(
                f"crop {self.x},{self.y},{self.w},{self.h} is outside the {width}x{height} image"
            )
        if self.w < 8 or self.h < 8:
            raise QueryError("a crop must be at least 8x8 pixels")
        return image.crop((self.x, self.y, self.x + self.w, self.y + self.h))


def dihedral_views(image: Image.Image) -> list[Image.Image]:
    """The image under the 8 rotations by 90 degrees and reflections (identity first)."""
    t = Image.Transpose
    mirrored = image.transpose(t.FLIP_LEFT_RIGHT)
    turns = [None, t.ROTATE_90, t.ROTATE_180, t.ROTATE_270]
    return [
        im if turn is None else im.transpose(turn) for im in (image, mirrored) for turn in turns
    ]
