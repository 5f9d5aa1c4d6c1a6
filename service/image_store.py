"""Stored mark images and thumbnails in the data dir, content-addressed.

Files are named by the sha256 of their bytes, written atomically and never modified, so
writing one before its record is committed is harmless (an orphan at worst, which
``Register.check`` reports) and two marks with the same image share one file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.images = root / "images"
        self.thumbs = root / "thumbs"

    @staticmethod
    def key_for(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def image_path(self, key: str, media_type: str) -> Path:
        return self.images / key[:2] / (key + _EXTENSIONS.get(media_type, ".bin"))

    def thumb_path(self, key: str) -> Path:
        return self.thumbs / key[:2] / (key + ".png")

    def put(self, data: bytes, media_type: str, thumbnail: bytes) -> str:
        """Store an image and its thumbnail; returns the key recorded with the mark."""
        key = self.key_for(data)
        _write_once(self.image_path(key, media_type), data)
        _write_once(self.thumb_path(key), thumbnail)
        return key

    def read(self, key: str, media_type: str) -> bytes:
        return self.image_path(key, media_type).read_bytes()

    def delete(self, key: str, media_type: str) -> None:
        for path in (self.image_path(key, media_type), self.thumb_path(key)):
            path.unlink(missing_ok=True)

    def keys(self) -> set[str]:
        if not self.images.is_dir():
            return set()
        return {p.stem for p in self.images.glob("*/*") if not p.name.endswith(".tmp")}


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
