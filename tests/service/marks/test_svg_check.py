"""The static checks an SVG passes before the renderer sees it: each hostile file from the
hardening probe is refused with a clear 4xx error, in milliseconds, and ordinary marks
still pass."""

from __future__ import annotations

import base64
import io
import time

import pytest
from PIL import Image

from service.marks.image_errors import ImageError, ImageTooLarge, UnsupportedImage
from service.marks.images import decode_image
from service.marks.svg_check import MAX_DEPTH, check_svg, svg_render_size

NS = 'xmlns="http://www.w3.org/2000/svg"'


def nested(levels: int) -> bytes:
    return (f'<svg {NS} viewBox="0 0 100 100">' + "<g>" * levels
            + '<rect width="50" height="50"/>' + "</g>" * levels + "</svg>").encode()


def png_data_url(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def with_image(href: str) -> bytes:
    return (f'<svg {NS} viewBox="0 0 100 100"><image width="100" height="100" '
            f'href="{href}"/></svg>').encode()


def test_deep_nesting_is_refused_before_rendering() -> None:
    check_svg(nested(MAX_DEPTH - 2))  # deep, but within what a drawing may need
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="nested deeper"):
        decode_image(nested(300))  # crashed the renderer (and the server) before
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("view_box", ["0 0 1 1000000000", "0 0 1 1e7", "0 0 1e9 2"])
def test_a_drawing_too_thin_to_be_a_mark_is_refused_at_once(view_box: str) -> None:
    svg = f'<svg {NS} viewBox="{view_box}"><rect width="1" height="50"/></svg>'.encode()
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="times longer"):
        decode_image(svg)  # stalled the server for minutes with 5 GB before
    assert time.perf_counter() - started < 1.0


def test_size_attributes_win_over_the_view_box_as_in_svg() -> None:
    thin = f'<svg {NS} width="1" height="1000000000" viewBox="0 0 10 10"/>'.encode()
    with pytest.raises(ImageTooLarge):
        svg_render_size(check_svg(thin), 1024)
    wide = check_svg(f'<svg {NS} width="3in" height="1in"/>'.encode())
    assert svg_render_size(wide, 1024) == (1024, None)
    tall = check_svg(f'<svg {NS} height="300" viewBox="0 0 10 30"/>'.encode())
    assert svg_render_size(tall, 512) == (None, 512)


def test_inline_rasters_count_against_the_pixel_limit() -> None:
    small = decode_image(with_image(png_data_url(64, 64)))
    assert small.image.size == (1024, 1024)
    with pytest.raises(ImageTooLarge, match="pixels"):
        check_svg(with_image(png_data_url(5000, 5000)), max_pixels=20_000_000)
    with pytest.raises(ImageTooLarge):
        decode_image(with_image(png_data_url(20000, 20000)))  # 3.9 GB server before
    with pytest.raises(UnsupportedImage, match="inline image"):
        decode_image(with_image("data:image/png;base64,bm90IGEgcG5n"))


@pytest.mark.parametrize("attribute", [
    'fill="url(http://example.com/p.svg#a)"',
    'filter="url(https://example.com/f.svg#f)"',
    'clip-path="url(file:///etc/passwd)"',
    'mask="url( \'//example.com/m\' )"',
])
def test_references_in_presentation_attributes_are_refused(attribute: str) -> None:
    svg = f'<svg {NS} viewBox="0 0 10 10"><rect width="5" height="5" {attribute}/></svg>'
    with pytest.raises(UnsupportedImage, match="external references"):
        decode_image(svg.encode())


def test_references_inside_the_file_still_work() -> None:
    svg = (f'<svg {NS} viewBox="0 0 10 10"><defs><linearGradient id="g"><stop offset="0" '
           'stop-color="#f00"/></linearGradient></defs><rect width="10" height="10" '
           'fill="url(#g)"/></svg>').encode()
    image = decode_image(svg).image
    assert image.getpixel((512, 512))[0] > 200


@pytest.mark.parametrize("inner", [
    f'<svg {NS}><script>alert(1)</script></svg>',
    f'<svg {NS}><a href="http://evil.example/"><rect width="5" height="5"/></a></svg>',
    f'<svg {NS}><rect width="5" height="5" onclick="alert(1)"/></svg>',
])
def test_inline_svg_documents_are_checked_by_the_same_rules(inner: str) -> None:
    href = "data:image/svg+xml;base64," + base64.b64encode(inner.encode()).decode()
    with pytest.raises(UnsupportedImage):
        decode_image(with_image(href))


def test_inline_svg_documents_nest_only_so_deep() -> None:
    doc = f'<svg {NS} viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
    for _ in range(4):
        href = "data:image/svg+xml;base64," + base64.b64encode(doc.encode()).decode()
        doc = f'<svg {NS} viewBox="0 0 10 10"><image width="10" height="10" href="{href}"/></svg>'
    with pytest.raises(ImageTooLarge, match="nested inside each other"):
        check_svg(doc.encode())


def test_every_refusal_is_an_image_error_with_a_4xx_status() -> None:
    for svg in (nested(300), with_image(png_data_url(20000, 20000)),
                f'<svg {NS} viewBox="0 0 1 1e9"/>'.encode()):
        with pytest.raises(ImageError) as info:
            decode_image(svg)
        assert 400 <= info.value.status < 500
