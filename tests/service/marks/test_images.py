"""The single image door: limits, formats from bytes, normal form."""

from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from service.marks.images import (
    ImageError,
    ImageLimits,
    ImageTooLarge,
    UnsupportedImage,
    decode_image,
    make_thumbnail,
    sniff_format,
)
from tests.imagegen import make_mark, to_bytes


def png_claiming(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims another size (a decompression bomb)."""
    data = bytearray(to_bytes(Image.new("L", (8, 8), 255)))
    ihdr = 8  # signature
    body = bytearray(data[ihdr + 8 : ihdr + 8 + 13])
    body[0:8] = struct.pack(">II", width, height)
    data[ihdr + 8 : ihdr + 8 + 13] = body
    crc = zlib.crc32(b"IHDR" + bytes(body)) & 0xFFFFFFFF
    data[ihdr + 8 + 13 : ihdr + 8 + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_raster_formats_recognised_from_bytes(fmt: str) -> None:
    data = to_bytes(make_mark(1), fmt)
    assert sniff_format(data) == fmt
    decoded = decode_image(data)
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (128, 128)
    assert decoded.format == fmt


def test_browser_formats_are_stored_as_uploaded_others_as_png() -> None:
    png = to_bytes(make_mark(1), "PNG")
    assert decode_image(png).stored_bytes == png
    bmp = decode_image(to_bytes(make_mark(1), "BMP"))
    assert bmp.media_type == "image/png" and bmp.stored_bytes.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", ImageError),
        (b"hello, this is not an image at all", UnsupportedImage),
        (b"%PDF-1.4 fake", UnsupportedImage),
    ],
)
def test_non_images_rejected(data: bytes, error: type[ImageError]) -> None:
    with pytest.raises(error):
        decode_image(data)


def test_truncated_png_rejected() -> None:
    data = to_bytes(make_mark(2, size=256), "PNG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        decode_image(data[: len(data) // 2])


def test_truncated_jpeg_rejected() -> None:
    data = to_bytes(make_mark(2, size=256), "JPEG")
    with pytest.raises(ImageError):
        decode_image(data[:200])


def test_oversized_upload_rejected_before_decoding() -> None:
    data = to_bytes(make_mark(3), "PNG")
    with pytest.raises(ImageTooLarge) as info:
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))
    assert info.value.status == 413


def test_decompression_bomb_rejected_from_header_quickly() -> None:
    bomb = png_claiming(60_000, 60_000)
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="pixels"):
        decode_image(bomb)
    assert time.perf_counter() - started < 1.0


def test_animated_gif_uses_first_frame() -> None:
    first = Image.new("RGB", (64, 64), (255, 0, 0))
    second = Image.new("RGB", (64, 64), (0, 0, 255))
    data = to_bytes(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    pixel = decode_image(data).image.getpixel((32, 32))
    assert pixel[0] > 200 and pixel[2] < 50


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # red in CMYK
    decoded = decode_image(to_bytes(cmyk, "JPEG"))
    r, g, b = decoded.image.getpixel((32, 32))
    assert decoded.image.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    arr = np.full((32, 32), 32768, dtype=np.uint16)
    arr[:, :16] = 0
    image = Image.fromarray(arr)
    assert image.mode.startswith("I;16")
    decoded = decode_image(to_bytes(image, "PNG")).image
    assert decoded.getpixel((0, 0))[0] == 0
    assert 120 <= decoded.getpixel((31, 0))[0] <= 135


def test_alpha_composited_on_white() -> None:
    rgba = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (8, 8, 24, 24))
    decoded = decode_image(to_bytes(rgba, "PNG")).image
    assert decoded.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.getpixel((16, 16)) == (0, 0, 0)


def test_palette_with_transparency_composited_on_white() -> None:
    pal = Image.new("P", (32, 32), 0)
    pal.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    pal.paste(1, (8, 8, 24, 24))
    data = to_bytes(pal, "PNG", transparency=0)
    decoded = decode_image(data).image
    assert decoded.getpixel((0, 0)) == (255, 255, 255)
    assert decoded.getpixel((16, 16)) == (200, 0, 0)


def test_large_images_capped() -> None:
    decoded = decode_image(to_bytes(make_mark(4, size=2000), "PNG"), ImageLimits(max_side=512))
    assert max(decoded.image.size) == 512


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 12">'
    b'<rect x="2" y="2" width="8" height="8" fill="#0000ff"/></svg>'
)


def test_svg_rendered_with_aspect_and_white_ground() -> None:
    decoded = decode_image(SVG, ImageLimits(max_side=240))
    assert decoded.format == "SVG" and decoded.media_type == "image/png"
    assert decoded.image.size == (240, 120)
    assert decoded.image.getpixel((230, 60)) == (255, 255, 255)
    r, g, b = decoded.image.getpixel((60, 60))
    assert b > 200 and r < 40


@pytest.mark.parametrize(
    "svg",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><image href="/etc/hostname"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(http://x/y)"/></svg>',
        # a billion laughs: refused at the entity declarations, before any expansion
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1
                                              else b"&lol;" * 10) for i in range(1, 10))
        + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>',
        # an external entity (XXE) and an external DTD
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
        b'<?xml version="1.0"?><!DOCTYPE svg SYSTEM "http://example.com/evil.dtd">'
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect onload="alert(1)" width="4"/></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject>'
        b"</svg>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://x/a.css);</style>'
        b"</svg>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>rect{fill:url(http://x/p)}</style>'
        b"</svg>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><use href="other.svg#a"/></svg>',
        b'<html><svg xmlns="http://www.w3.org/2000/svg"/></html>',  # not an SVG file
    ],
)
def test_unsafe_svg_rejected(svg: bytes) -> None:
    with pytest.raises(UnsupportedImage):
        decode_image(svg)


def test_svg_that_is_not_xml_is_a_422_not_a_crash() -> None:
    with pytest.raises(ImageError) as info:
        decode_image(b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>')
    assert info.value.status == 422


def test_svg_links_inside_the_file_and_inline_images_are_fine() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
           b'<defs><rect id="r" width="6" height="6" fill="#000"/></defs>'
           b'<use href="#r" x="2" y="2"/><rect style="fill:url(#r)" width="1" height="1"/></svg>')
    assert decode_image(svg, ImageLimits(max_side=64)).format == "SVG"


def test_format_comes_from_bytes_not_name() -> None:
    # JPEG bytes are a JPEG whatever the caller calls them; a text file is never an image.
    assert sniff_format(to_bytes(make_mark(5), "JPEG")) == "JPEG"
    assert sniff_format(b"GIF89 but not really") is None


def test_thumbnail_bounded() -> None:
    thumb = Image.open(__import__("io").BytesIO(make_thumbnail(make_mark(6, size=300), 100)))
    assert max(thumb.size) == 100
