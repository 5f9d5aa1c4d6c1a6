"""Property-based tests (Hypothesis) on everything that parses untrusted input: image
bytes, SVG text, metadata rows and files, search filters. Whatever comes in, the answer
is a value or the module's own 4xx error, never another exception."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.marks.filters import QueryError, SearchFilters, parse_filters
from service.marks.images import ImageError, ImageLimits, decode_image
from service.marks.metadata import MarkMetadata, MetadataError, parse_metadata, read_metadata_file
from tests.imagegen import make_mark, to_bytes

LIMITS = ImageLimits(max_bytes=2_000_000, max_pixels=4_000_000, max_side=256)
SEEDS = {fmt: to_bytes(make_mark(3, size=48), fmt)
         for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
       b'<rect x="1" y="1" width="8" height="8" fill="#123"/></svg>')
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def _decodes_or_refuses(data: bytes) -> None:
    try:
        decoded = decode_image(data, LIMITS)
    except ImageError as exc:
        assert 400 <= exc.status < 500 and str(exc)
        return
    assert decoded.image.mode == "RGB" and max(decoded.image.size) <= LIMITS.max_side


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _decodes_or_refuses(data)


@FUZZ
@given(st.sampled_from(sorted(SEEDS)), st.data())
def test_mutated_images(fmt: str, data: st.DataObject) -> None:
    """A real image of each format with bytes flipped, cut or inserted."""
    raw = bytearray(SEEDS[fmt])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at:at + data.draw(st.integers(1, 64))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=32))
        if not raw:
            break
    _decodes_or_refuses(bytes(raw))


XML_BITS = st.sampled_from([
    "<svg>", "</svg>", '<svg xmlns="http://www.w3.org/2000/svg">', "<rect/>", "<g>", "</g>",
    "<!ENTITY a 'b'>", "<!DOCTYPE svg>", "&a;", "<script>", "href='http://x'", "<![CDATA[",
    "]]>", "<?xml version='1.0'?>", "<text>", "</text>", "<", ">", "\"", "'", "=", "style='",
    "url(", "#", "viewBox='0 0 1e309 5'", "width='-1'", "<image href='#x'/>", "\x00", "é",
])


@FUZZ
@given(st.lists(XML_BITS, max_size=30), st.text(max_size=40))
def test_svg_like_text(bits: list[str], noise: str) -> None:
    text = '<svg xmlns="http://www.w3.org/2000/svg">' + "".join(bits) + noise
    _decodes_or_refuses(text.encode("utf-8", "surrogatepass"))
    _decodes_or_refuses(SVG.replace(b"<rect", "".join(bits).encode("utf-8", "ignore") + b"<rect"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=10)
FIELDS = st.sampled_from(["id", "name", "owner", "nice_classes", "vienna_codes", "status",
                          "filing_date", "application_number", "registration_number", "file",
                          "other"])


@FUZZ
@given(st.dictionaries(FIELDS, JSON_VALUES, max_size=8))
def test_metadata_objects(fields: dict) -> None:
    try:
        meta = parse_metadata(fields)
    except MetadataError as exc:
        assert str(exc)
        return
    assert isinstance(meta, MarkMetadata)
    assert all(1 <= c <= 45 for c in meta.nice_classes)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=60), st.text(max_size=80).map(str.encode),
                          st.dictionaries(FIELDS, JSON_VALUES, max_size=5)
                          .map(lambda d: json.dumps(d).encode())),
                max_size=12),
       st.booleans())
def test_metadata_files(lines: list[bytes], as_csv: bool) -> None:
    """Arbitrary lines (any bytes) as a JSON-lines or a CSV metadata file: rows or per-row
    errors, or one MetadataError for the whole file (no 'file' column, not UTF-8)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("rows.csv" if as_csv else "rows.jsonl")
        path.write_bytes(b"\n".join(lines))
        try:
            for file, meta in read_metadata_file(path):
                assert isinstance(file, str)
                assert isinstance(meta, MarkMetadata | MetadataError)
        except MetadataError as exc:
            assert str(exc)


@FUZZ
@given(st.dictionaries(st.sampled_from(["nice_classes", "vienna_codes", "status", "filed_from",
                                        "filed_to", "owner"]),
                       st.text(max_size=30), max_size=6))
def test_search_filters(fields: dict[str, str]) -> None:
    try:
        assert isinstance(parse_filters(**fields), SearchFilters)
    except QueryError as exc:
        assert str(exc).startswith("invalid filter")


def test_fuzz_inputs_are_really_decodable() -> None:
    """The seeds of the mutation test are images, so mutations start from valid files."""
    for data in (*SEEDS.values(), SVG):
        assert decode_image(data, LIMITS).image.size[0] > 0
    assert io.BytesIO(SEEDS["PNG"]).read(8) == b"\x89PNG\r\n\x1a\n"
