"""What an SVG must pass before it reaches the renderer, checked without rendering.

An uploaded SVG is a program for a native renderer, so it is read as XML with no DTD and
no entities (``defusedxml``), and refused (415) when it reaches outside the file or runs
anything: scripts, foreign objects, event attributes, links or ``url()`` references
that are not to the file itself or to an inline image, CSS ``@import``. It is refused
(413) when it asks for more work than any mark needs: elements nested deeper than
``MAX_DEPTH`` (the renderer recurses, and crashed at about 250 levels), more than
``MAX_ELEMENTS`` elements, a drawing so thin that its long side at the render size
leaves no pixel across, or inline images whose pixels, decoded, pass the image pixel
limit. Inline SVG documents (``data:image/svg+xml``) are checked by the same rules.
The renderer then still runs in a worker with a time and memory limit
(``service.marks.svg_render``).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from service.marks.image_errors import ImageError, ImageTooLarge, UnsupportedImage

MAX_DEPTH = 64  # real marks nest a dozen levels; resvg crashed at about 250
MAX_ELEMENTS = 50_000  # far beyond any mark; bounds the renderer's work
MAX_ASPECT = 100  # long side / short side; beyond it a 1024 px render is < 11 px across
MAX_INLINE_DOCUMENTS = 2  # an SVG inside an SVG inside an SVG, no deeper
_FORBIDDEN_TAGS = {"script", "foreignobject", "iframe", "embed", "object", "handler"}
_URL = re.compile(r"""url\(\s*["']?\s*([^)"'\s]*)""", re.IGNORECASE)
_REFUSED_REFERENCE = "SVG with external references is not accepted"


@dataclass
class _Budget:
    """What the checks of one upload (with its inline documents) have counted so far."""

    max_pixels: int
    elements: int = 0
    pixels: int = 0


def check_svg(data: bytes, max_pixels: int = 40_000_000) -> Any:
    """Refuse what must not reach the renderer (see module doc); the parsed root."""
    return _check(data, _Budget(max_pixels), nesting=0)


def _check(data: bytes, budget: _Budget, nesting: int) -> Any:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsupportedImage("SVG with a DTD or entities is not accepted") from exc
    except RecursionError as exc:
        raise ImageTooLarge(f"SVG nested deeper than {MAX_DEPTH} levels") from exc
    except Exception as exc:  # noqa: BLE001 - ParseError and friends: not well-formed XML
        raise ImageError(f"SVG is not well-formed XML: {exc}") from exc
    if _local(root.tag) != "svg":
        raise UnsupportedImage("an SVG file's root element must be <svg>")
    stack = [(root, 1)]
    while stack:  # depth first, without recursion
        element, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ImageTooLarge(f"SVG nested deeper than {MAX_DEPTH} levels; no mark needs "
                                "that many")
        budget.elements += 1
        if budget.elements > MAX_ELEMENTS:
            raise ImageTooLarge(f"SVG with more than {MAX_ELEMENTS:,} elements")
        stack.extend((child, depth + 1) for child in element)
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if _local(element.tag) in _FORBIDDEN_TAGS:
            raise UnsupportedImage("SVG with scripts or foreign objects is not accepted")
        for name, value in element.attrib.items():
            local = _local(name)
            if local.startswith("on"):
                raise UnsupportedImage("SVG with event handlers (scripts) is not accepted")
            if local == "href":
                _check_reference(value.strip(), budget, nesting)
            else:  # fill, stroke, filter, clip-path, mask, marker-*, style: url(...)
                _check_css(value, budget, nesting)
        if _local(element.tag) == "style":
            _check_css(element.text or "", budget, nesting)
    return root


def _local(name: str) -> str:
    """An XML name without its namespace, lower-cased: ``{ns}foreignObject`` -> ..."""
    return name.rsplit("}", 1)[-1].lower()


def _check_css(css: str, budget: _Budget, nesting: int) -> None:
    if "@import" in css.lower():
        raise UnsupportedImage(_REFUSED_REFERENCE)
    for ref in _URL.findall(css):
        if ref:
            _check_reference(ref, budget, nesting)


def _check_reference(ref: str, budget: _Budget, nesting: int) -> None:
    """A reference may point inside the file (``#id``) or be an inline image, which is
    checked as an image of its own."""
    if ref.startswith("#"):
        return
    if not ref.lower().startswith("data:image/"):
        raise UnsupportedImage(_REFUSED_REFERENCE)
    media, data = _data_url(ref)
    if media == "image/svg+xml":
        if nesting >= MAX_INLINE_DOCUMENTS:
            raise ImageTooLarge("SVG documents nested inside each other too deeply")
        _check(data, budget, nesting + 1)
        return
    _check_inline_raster(data, budget)


def _data_url(ref: str) -> tuple[str, bytes]:
    """(media type, decoded bytes) of a ``data:`` URL."""
    head, sep, payload = ref.partition(",")
    if not sep:
        raise ImageError("SVG holds a malformed data: URL")
    params = head[5:].split(";")
    media = params[0].strip().lower()
    try:
        if any(p.strip().lower() == "base64" for p in params[1:]):
            return media, base64.b64decode("".join(payload.split()), validate=False)
        return media, unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as exc:
        raise ImageError("SVG holds a data: URL that does not decode") from exc


def _check_inline_raster(data: bytes, budget: _Budget) -> None:
    """The inline image's size from its header (nothing decoded) against what is left of
    the pixel limit; unreadable inline images are refused, not guessed at."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge("SVG holds an inline image too large to decode (possible "
                            "decompression bomb)") from exc
    except Exception as exc:  # noqa: BLE001 - whatever Pillow cannot read
        raise UnsupportedImage("SVG holds an inline image that is not a readable "
                               "PNG, JPEG, GIF or WebP") from exc
    budget.pixels += width * height
    if budget.pixels > budget.max_pixels:
        raise ImageTooLarge(f"SVG holds inline images of {budget.pixels:,} pixels; the limit "
                            f"is {budget.max_pixels:,} pixels (possible decompression bomb)")


# -- the size the renderer will draw ---------------------------------------------------
_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_LENGTH = re.compile(r"^\s*" + _NUMBER + r"\s*(px|pt|pc|mm|cm|in|)\s*$", re.IGNORECASE)
_UNIT_PX = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
            "in": 96.0}


def svg_render_size(root: Any, max_side: int) -> tuple[int | None, int | None]:
    """The one dimension to ask the renderer for, (width, None) or (None, height): the
    long side at ``max_side`` (the renderer keeps the drawing's aspect for the other).
    The drawing's own size follows SVG: ``width``/``height`` when absolute, else the
    viewBox, else 100 x 100. ImageTooLarge when it is too thin to be a mark."""
    view = _view_box(root.attrib.get("viewBox"))
    width, height = _length(root.attrib.get("width")), _length(root.attrib.get("height"))
    if width is None and height is None:
        width, height = view or (100.0, 100.0)
    elif width is None or height is None:
        aspect = view[0] / view[1] if view else 1.0
        width = width if width is not None else height * aspect  # type: ignore[operator]
        height = height if height is not None else width / aspect
    if not (width > 0 and height > 0):
        raise ImageError("SVG has no size: width, height or viewBox must be positive")
    aspect = max(width / height, height / width)
    if aspect > MAX_ASPECT:
        raise ImageTooLarge(f"SVG drawing is {aspect:,.0f} times longer than it is wide; "
                            f"marks are at most {MAX_ASPECT}:1")
    return (max_side, None) if width >= height else (None, max_side)


def _length(value: str | None) -> float | None:
    """An absolute length in px; None for a missing, relative (%) or unknown one."""
    match = _LENGTH.match(value or "")
    if not match:
        return None
    return float(match.group(1)) * _UNIT_PX[match.group(2).lower()]


def _view_box(value: str | None) -> tuple[float, float] | None:
    parts = re.split(r"[\s,]+", (value or "").strip())
    if len(parts) != 4:
        return None
    try:
        width, height = float(parts[2]), float(parts[3])
    except ValueError:
        return None
    return (width, height) if width > 0 and height > 0 else None
