"""Why bytes could not become a mark image, with the HTTP status the API answers."""

from __future__ import annotations


class ImageError(ValueError):
    """Bytes that cannot become a mark image. ``status`` is the HTTP status the API answers."""

    status: int = 422

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ImageTooLarge(ImageError):
    status = 413


class UnsupportedImage(ImageError):
    status = 415
