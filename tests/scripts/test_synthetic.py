"""The synthetic mark generator: right size, ink on paper, same picture for a seed."""

from __future__ import annotations

import random

from scripts.datasets.synthetic import (
    COMMON_HANZI,
    find_system_fonts,
    generate_synthetic_mark,
    hanzi_word,
    pseudo_word,
)


def test_synthetic_marks_have_ink_and_background() -> None:
    fonts = find_system_fonts()
    for seed in range(12):
        image = generate_synthetic_mark(random.Random(seed), 96, fonts)
        assert image.mode == "RGB" and image.size == (96, 96)
        grey = image.convert("L").histogram()
        ink, paper = sum(grey[:128]), sum(grey[250:])
        assert ink > 0 and paper > 0, seed


def test_synthetic_marks_are_deterministic() -> None:
    fonts = find_system_fonts()
    first = generate_synthetic_mark(random.Random(7), 64, fonts)
    again = generate_synthetic_mark(random.Random(7), 64, fonts)
    other = generate_synthetic_mark(random.Random(8), 64, fonts)
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()


def test_synthetic_without_fonts_still_draws() -> None:
    for seed in range(6):
        image = generate_synthetic_mark(random.Random(seed), 64, [])
        assert image.size == (64, 64)


def test_words() -> None:
    rng = random.Random(1)
    assert all(pseudo_word(rng).replace(" ", "").isalpha() for _ in range(50))
    word = hanzi_word(rng)
    assert 2 <= len(word) <= 4 and all(ch in COMMON_HANZI for ch in word)
    assert len(COMMON_HANZI) >= 300
