"""The offline OCR reader on generated marks (Latin always; Chinese where a CJK font is
installed, as `make fonts` does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from service.marks.components import split_components
from service.marks.ocr import TextReader, _looks_like_a_line
from service.marks.words import normalise_text
from service.search.text_match import text_similarity
from tests.imagegen import make_mark

CJK_FONTS = [p for p in (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
                         Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")) if p.exists()]


def word_image(word: str, font: ImageFont.FreeTypeFont | None = None,
               size: tuple[int, int] = (320, 90)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((16, 18), word, font=font or ImageFont.load_default(size=44), fill=(20, 20, 80))
    return image


def figure_with_words(seed: int, word: str) -> Image.Image:
    image = Image.new("RGB", (320, 230), "white")
    image.paste(make_mark(seed, 120), (100, 0))
    draw = ImageDraw.Draw(image)
    draw.text((40, 150), word, font=ImageFont.load_default(size=48), fill=(0, 0, 0))
    return image


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def test_reads_the_words_of_a_query_image(reader: TextReader) -> None:
    text = reader.read_query(figure_with_words(3, "ZENITH"))
    assert text_similarity("zenith", normalise_text(text)) >= 0.8, text


def test_a_figure_without_words_reads_nothing(reader: TextReader) -> None:
    assert reader.read_query(make_mark(5, 200)) == ""
    assert reader.read_mark(make_mark(5, 200), split_components(make_mark(5, 200))) == ""


def test_reads_the_words_component_of_a_composite_mark(reader: TextReader) -> None:
    image = figure_with_words(8, "KORVEX")
    parts = split_components(image)
    assert "words" in [p.kind for p in parts]
    assert text_similarity("korvex", normalise_text(reader.read_mark(image, parts))) >= 0.8


def test_reads_a_word_mark_that_is_one_line(reader: TextReader) -> None:
    image = word_image("BOLTRA")
    assert _looks_like_a_line(image)
    assert not _looks_like_a_line(make_mark(2, 128))
    text = reader.read_mark(image, split_components(image))
    assert text_similarity("boltra", normalise_text(text)) >= 0.8, text


@pytest.mark.skipif(not CJK_FONTS, reason="no CJK font installed (make fonts)")
def test_reads_chinese(reader: TextReader) -> None:
    font = ImageFont.truetype(str(CJK_FONTS[0]), 48)
    text = reader.read_query(word_image("华为商标", font, (300, 100)))
    assert text_similarity("华为商标", normalise_text(text)) >= 0.6, text


def test_low_confidence_text_is_dropped() -> None:
    strict = TextReader(min_confidence=1.01)  # nothing can be that sure
    assert strict.read_query(word_image("ZENITH")) == ""
