"""The one door through which image bytes enter the register.

Every upload, ingested file and stored image is decoded here, with the limits (bytes,
pixels, formats recognised from the bytes) checked before any expensive work, and turned
into one normal form: an RGB image, first frame only, alpha composited on white, EXIF
orientation applied, longest side capped. Nothing else in the project opens image bytes.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from service.marks.image_errors import ImageError, ImageTooLarge, UnsupportedImage
from service.marks.svg_check import check_svg, svg_render_size
from service.marks.svg_render import RenderLimits, process_renderer

__all__ = ["ImageError", "ImageTooLarge", "UnsupportedImage"]  # the door's errors

# Formats we accept, keyed by the name Pillow uses for them.
_RASTER_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Originals in these formats are stored as uploaded (browsers display them); others become PNG.
_STORED_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
SUPPORTED_FORMATS_TEXT = "PNG, JPEG, GIF, BMP, TIFF, WebP or SVG"


@dataclass(frozen=True)
class ImageLimits:
    """Bounds applied before decoding; defaults match :class:`service.settings.Settings`."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 1024
    svg: RenderLimits = RenderLimits()  # time and memory of one SVG render


@dataclass(frozen=True)
class DecodedImage:
    """A decoded mark image plus what the register keeps of the original."""

    image: Image.Image  # RGB, normalised
    format: str  # PNG, JPEG, ..., SVG
    stored_bytes: bytes  # what goes to the image store (original, or PNG re-encoding)
    media_type: str


def content_hash(data: bytes) -> str:
    """Identity of a file's content: unchanged files are skipped on re-ingest."""
    return hashlib.sha256(data).hexdigest()


def sniff_format(data: bytes) -> str | None:
    """Recognise the format from magic bytes, never from a file name or a client's claim."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith(b"BM") and len(data) > 26:
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (head.startswith((b"<?xml", b"<svg", b"<!--")) or head.startswith(b"<!doctype svg")) and (
        b"<svg" in data[:65536].lower()
    ):
        return "SVG"
    return None


def decode_image(data: bytes, limits: ImageLimits | None = None) -> DecodedImage:
    """Decode untrusted bytes into the normal form, or raise :class:`ImageError`."""
    limits = limits or ImageLimits()
    if not data:
        raise ImageError("empty file: no image data")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(
            f"file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedImage(f"not a supported image: expected {SUPPORTED_FORMATS_TEXT}")
    if fmt == "SVG":
        png = render_svg(data, limits.max_side, limits)
        image = _open_raster(png, "PNG", limits)
        return DecodedImage(image, "SVG", encode_png(image), "image/png")
    image = _open_raster(data, fmt, limits)
    if fmt in _STORED_AS_IS:
        return DecodedImage(image, fmt, data, _STORED_AS_IS[fmt])
    return DecodedImage(image, fmt, encode_png(image), "image/png")


def _open_raster(data: bytes, fmt: str, limits: ImageLimits) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            width, height = im.size  # header only: nothing decoded yet
            if width <= 0 or height <= 0:
                raise ImageError("image has no pixels")
            if width * height > limits.max_pixels:
                raise ImageTooLarge(
                    f"image is {width}x{height} pixels; the limit is "
                    f"{limits.max_pixels:,} pixels (possible decompression bomb)"
                )
            im.seek(0)  # animated images: the first frame is the mark
            if fmt == "JPEG":
                im.draft("RGB", (limits.max_side, limits.max_side))
            im.load()
            return normalise(im, limits.max_side)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"image rejected as a decompression bomb: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"corrupt or truncated {fmt} image: {exc}") from exc


def normalise(im: Image.Image, max_side: int) -> Image.Image:
    """Any Pillow mode -> RGB on white, upright, longest side at most ``max_side``."""
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not reject the mark
        pass
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _to_8bit(im)
    elif mode == "P":
        im = im.convert("RGBA")
    elif mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")
    if max(im.size) > max_side:
        im = im.copy()
        im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit and float greyscale: stretch to 0..255 instead of clipping to white."""
    arr = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16"):
        arr = arr / 257.0
    else:
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")


def render_svg(data: bytes, max_side: int, limits: ImageLimits | None = None) -> bytes:
    """Render an SVG that passes the checks (``service.marks.svg_check``) to PNG bytes with
    its longest side at ``max_side``, in a renderer worker with a time and memory limit
    (``service.marks.svg_render``)."""
    limits = limits or ImageLimits()
    root = check_svg(data, limits.max_pixels)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageError("SVG is not valid UTF-8") from exc
    width, height = svg_render_size(root, max_side)
    png = process_renderer(limits.svg).render(text, width, height)
    if not png:
        raise ImageError("SVG rendered to an empty image")
    return png


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def make_thumbnail(image: Image.Image, size: int) -> bytes:
    """A small PNG for result lists; never larger than the image itself."""
    thumb = image.copy()
    # bilinear after a box reduction: the same look at this size, a third of Lanczos' time
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return encode_png(thumb)
