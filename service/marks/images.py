"""The one door through which image bytes enter the register.

Every upload, ingested file and stored image is decoded here, with the limits (bytes,
pixels, formats recognised from the bytes) checked before any expensive work, and turned
into one normal form: an RGB image, first frame only, alpha composited on white, EXIF
orientation applied, longest side capped. Nothing else in the project opens image bytes.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

# Formats we accept, keyed by the name Pillow uses for them.
_RASTER_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")
# Originals in these formats are stored as uploaded (browsers display them); others become PNG.
_STORED_AS_IS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
SUPPORTED_FORMATS_TEXT = "PNG, JPEG, GIF, BMP, TIFF, WebP or SVG"


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


@dataclass(frozen=True)
class ImageLimits:
    """Bounds applied before decoding; defaults match :class:`service.settings.Settings`."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 1024


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
        png = render_svg(data, limits.max_side)
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


_SVG_CSS_URL = re.compile(r"""url\(\s*["']?\s*([^)"'\s]*)""", re.IGNORECASE)
_SVG_MAX_ELEMENTS = 100_000  # far beyond any mark; bounds the renderer's work
_SVG_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "handler"}


def check_svg_safety(data: bytes) -> None:
    """Parse the SVG as XML with no DTD and no entities (``defusedxml``: no entity
    expansion, no external entities), then refuse what reaches outside the file or runs:
    scripts and foreign objects, event attributes, links that are not to the file itself
    or to an inline image, CSS ``url()`` and ``@import`` that point elsewhere."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsupportedImage("SVG with a DTD or entities is not accepted") from exc
    except Exception as exc:  # noqa: BLE001 - ParseError and friends: not well-formed XML
        raise ImageError(f"SVG is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "svg":
        raise UnsupportedImage("an SVG file's root element must be <svg>")
    for count, element in enumerate(root.iter()):
        if count >= _SVG_MAX_ELEMENTS:
            raise UnsupportedImage(f"SVG with more than {_SVG_MAX_ELEMENTS:,} elements")
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if _local(element.tag) in _SVG_FORBIDDEN_TAGS:
            raise UnsupportedImage("SVG with scripts or foreign objects is not accepted")
        for name, value in element.attrib.items():
            local = _local(name)
            if local.startswith("on"):
                raise UnsupportedImage("SVG with event handlers (scripts) is not accepted")
            if local == "href" and not value.strip().startswith(("#", "data:image/")):
                raise UnsupportedImage("SVG with external references is not accepted")
            if local == "style":
                _check_css(value)
        if _local(element.tag) == "style":
            _check_css(element.text or "")


def _local(name: str) -> str:
    """An XML name without its namespace, lower-cased: ``{ns}foreignObject`` -> ..."""
    return name.rsplit("}", 1)[-1].lower()


def _check_css(css: str) -> None:
    if "@import" in css.lower():
        raise UnsupportedImage("SVG with external references is not accepted")
    for ref in _SVG_CSS_URL.findall(css):
        if ref and not ref.startswith(("#", "data:image/")):
            raise UnsupportedImage("SVG with external references is not accepted")


def render_svg(data: bytes, max_side: int) -> bytes:
    """Render a checked SVG to PNG bytes with its longest side at ``max_side``."""
    import resvg_py  # local: only SVG uploads pay for the renderer

    check_svg_safety(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageError("SVG is not valid UTF-8") from exc
    try:
        size = _svg_size(text)
        width, height = _fit(size, max_side)
        png = resvg_py.svg_to_bytes(svg_string=text, width=width, height=height)
    except ImageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the renderer raises its own error types
        raise ImageError(f"SVG could not be rendered: {exc}") from exc
    if not png:
        raise ImageError("SVG rendered to an empty image")
    return bytes(png)


_NUMBER = r"([-\d.eE+]+)"
_VIEWBOX = re.compile(r"""viewBox\s*=\s*["']\s*""" + r"[\s,]+".join([_NUMBER] * 4))
_DIMENSION = re.compile(r"""<svg[^>]*?\s(width|height)\s*=\s*["']\s*([\d.]+)""", re.IGNORECASE)


def _svg_size(text: str) -> tuple[float, float]:
    head = text[:65536]
    match = _VIEWBOX.search(head)
    if match:
        width, height = float(match.group(3)), float(match.group(4))
        if width > 0 and height > 0:
            return width, height
    dims = {name.lower(): float(value) for name, value in _DIMENSION.findall(head)}
    width, height = dims.get("width", 0.0), dims.get("height", 0.0)
    if width > 0 and height > 0:
        return width, height
    return 512.0, 512.0


def _fit(size: tuple[float, float], max_side: int) -> tuple[int, int]:
    width, height = size
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


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
