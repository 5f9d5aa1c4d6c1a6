"""Word similarity: bigram Dice and the best pair of words."""

from __future__ import annotations

import pytest

from service.search.ranking import MIN_WORDS_SIMILARITY
from service.search.text_match import dice, text_similarity


def test_dice_is_one_for_equal_and_zero_for_disjoint() -> None:
    assert dice("acme", "acme") == 1.0
    assert dice("acme", "zulu") == 0.0
    assert dice("", "acme") == 0.0
    assert dice("acme", "acne") == pytest.approx(2 * 1 / 6)  # only "ac" is shared


def test_one_changed_letter_stays_similar_and_unrelated_words_do_not() -> None:
    assert text_similarity("acme", "acmee") >= 0.8
    assert text_similarity("zenith", "zenlth") >= MIN_WORDS_SIMILARITY  # an OCR slip
    assert text_similarity("acme", "boltra") < MIN_WORDS_SIMILARITY


def test_a_shared_word_counts_beside_other_words() -> None:
    assert text_similarity("acme", "acme corporation") == 1.0
    assert text_similarity("acme", "acme corporation") > dice("acme", "acmecorporation")


def test_chinese_words_compare_by_characters() -> None:
    assert text_similarity("华为", "华为") == 1.0
    assert text_similarity("华为商标", "华为科技") > 0.3
    assert text_similarity("华为", "小米") == 0.0
