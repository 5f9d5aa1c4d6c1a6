"""Colour signatures and the shape / colour / composite search modes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps
from sqlalchemy import text

from service.marks.colour import DIM, SearchMode, colour_signature
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from tests.imagegen import make_mark, to_bytes


def test_signature_is_unit_length_and_compares_colour_distributions() -> None:
    red = colour_signature(make_mark(1, colour=(200, 20, 20)))
    red_again = colour_signature(make_mark(2, colour=(200, 20, 20)))
    blue = colour_signature(make_mark(1, colour=(20, 20, 200)))
    assert red.shape == (DIM,) and float(np.linalg.norm(red)) == pytest.approx(1.0, abs=1e-5)
    assert float(red @ red_again) > float(red @ blue)
    assert float(red @ red) == pytest.approx(1.0, abs=1e-5)




@pytest.fixture
def two_colourways(register: Register) -> Register:
    """The same shape registered in red, and a different shape in blue."""
    for seed in range(10):
        register.add_mark(to_bytes(make_mark(seed + 500)), MarkMetadata(id=f"other-{seed}"))
    register.add_mark(to_bytes(make_mark(7, colour=(210, 30, 30))), MarkMetadata(id="red-7"))
    register.add_mark(to_bytes(make_mark(8, colour=(30, 30, 210))), MarkMetadata(id="blue-8"))
    return register


def test_shape_mode_is_colour_blind(two_colourways: Register) -> None:
    blue_7 = make_mark(7, colour=(30, 30, 210))
    inverted = ImageOps.invert(make_mark(7, colour=(210, 30, 30)))
    grey = make_mark(7, colour=(210, 30, 30)).convert("L").convert("RGB")
    for query in (blue_7, inverted, grey):
        (top, *_) = two_colourways.search(to_bytes(query), k=2,
                                          options=SearchOptions(mode=SearchMode.shape))
        assert top.record.id == "red-7"
        assert top.score == pytest.approx(top.shape_score)
        assert top.score > 0.97


def test_colour_mode_lets_colour_weigh_in(two_colourways: Register) -> None:
    query = to_bytes(make_mark(7, colour=(30, 30, 210)))  # red-7's shape, blue-8's colour
    shape = {r.record.id: r.score
             for r in two_colourways.search(query, k=12, options=SearchOptions(
                 mode=SearchMode.shape))}
    colour = {r.record.id: r.score
              for r in two_colourways.search(query, k=12, options=SearchOptions(
                  mode=SearchMode.colour))}
    composite = {r.record.id: r.score for r in two_colourways.search(query, k=12)}
    gap = {name: scores["red-7"] - scores["blue-8"]
           for name, scores in (("shape", shape), ("colour", colour), ("composite", composite))}
    assert gap["shape"] > gap["composite"] > gap["colour"]


def test_same_shape_same_colour_is_identical_in_every_mode(two_colourways: Register) -> None:
    query = to_bytes(make_mark(7, colour=(210, 30, 30)))
    for mode in SearchMode:
        (top, *_) = two_colourways.search(query, k=1, options=SearchOptions(mode=mode))
        assert top.record.id == "red-7" and top.score == pytest.approx(1.0, abs=1e-3)


def test_old_records_without_a_signature_still_rank(register: Register) -> None:
    register.add_mark(to_bytes(make_mark(3)), MarkMetadata(id="m3"))
    with register.records.engine.begin() as conn:
        conn.execute(text("UPDATE marks SET colour = NULL"))
    (top,) = register.search(to_bytes(make_mark(3)), k=1,
                             options=SearchOptions(mode=SearchMode.colour))
    assert top.record.id == "m3" and top.score == pytest.approx(1.0, abs=1e-3)


def test_blank_image_signature_is_finite() -> None:
    assert np.isfinite(colour_signature(Image.new("RGB", (32, 32), "white"))).all()
