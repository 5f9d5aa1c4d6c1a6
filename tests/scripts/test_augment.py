"""Every augmentation keeps an RGB image with its ink, deterministically per seed."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from models.preprocess import background_colour, ink_map, prepare
from scripts.training.augment import TRANSFORMS, random_view
from tests.imagegen import make_mark


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_keeps_shape_range_and_ink(name: str) -> None:
    image = make_mark(4, size=160)
    out = TRANSFORMS[name](image, random.Random(1))
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    assert min(out.size) >= 16 and max(out.size) <= 1024
    arr = np.asarray(out)
    assert arr.dtype == np.uint8
    ink = ink_map(arr, background_colour(arr))
    assert (ink > 60).mean() > 0.005, "the mark must survive the transformation"
    prepared = prepare(out, 64, "ink")
    assert prepared.shape == (1, 64, 64) and prepared.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_is_deterministic_for_a_seed(name: str) -> None:
    image = make_mark(5, size=128)
    a = np.asarray(TRANSFORMS[name](image, random.Random(7)))
    b = np.asarray(TRANSFORMS[name](image, random.Random(7)))
    assert np.array_equal(a, b)


def test_geometric_transforms_do_what_they_say() -> None:
    image = make_mark(6)
    rng = random.Random(0)
    flipped = np.asarray(TRANSFORMS["mirror"](image, rng))
    assert np.array_equal(flipped, np.asarray(image)[:, ::-1])
    rotated = np.asarray(TRANSFORMS["rotate90"](image, rng))
    assert np.array_equal(rotated, np.rot90(np.asarray(image)))
    inverted = np.asarray(TRANSFORMS["contrast_reversal"](image, rng)).astype(int)
    assert np.array_equal(inverted, 255 - np.asarray(image).astype(int))


def test_recolour_changes_colours_but_not_the_ink_map_much() -> None:
    image = make_mark(8, size=128)
    out = TRANSFORMS["recolour"](image, random.Random(3))
    assert not np.array_equal(np.asarray(out), np.asarray(image))
    a = prepare(image, 64, "ink").astype(float) / 255
    b = prepare(out, 64, "ink").astype(float) / 255
    # same shape: the binarised ink masks mostly agree
    assert ((a > 0.3) == (b > 0.3)).mean() > 0.9


def test_random_view_varies_with_the_seed() -> None:
    image = make_mark(9, size=128)
    views = {np.asarray(random_view(image, random.Random(s))).tobytes() for s in range(6)}
    assert len(views) > 3
