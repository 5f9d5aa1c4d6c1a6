"""Verbal elements in the register: read at ingest, raised by a query's words (typed or
read from the query image), shown on the result, under filters and exclusions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFont

from models.embedder import Embedder
from service.marks.filters import parse_filters
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.search.query import SearchOptions
from service.search.ranking import WORDS_WEIGHT
from service.search.risk import RiskLevel
from service.settings import Settings
from tests.imagegen import make_mark, to_bytes

WORDS = ["ZENITH", "KORVEX", "BOLTRA", "MIRALO", "QUANDE", "TEPLIX"]


def composite(seed: int, word: str | None) -> Image.Image:
    """A figure above a word, as many registered marks are."""
    image = Image.new("RGB", (320, 230), "white")
    image.paste(make_mark(seed, 120), (100, 0))
    if word:
        ImageDraw.Draw(image).text((40, 150), word, font=ImageFont.load_default(size=48),
                                   fill=(0, 0, 0))
    return image


def _fill(register: Register, n: int = 24) -> None:
    """mark-i: figure i with word WORDS[i % 6] for even i; odd marks have no words.
    Marks 0-11 are class 9, the rest class 25."""
    for seed in range(n):
        word = WORDS[(seed // 2) % len(WORDS)] if seed % 2 == 0 else None
        register.add_mark(to_bytes(composite(seed, word)),
                          MarkMetadata(id=f"mark-{seed}", nice_classes=[9 if seed < 12 else 25]))


def _rank(results: list, mark_id: str) -> int | None:
    ids = [r.record.id for r in results]
    return ids.index(mark_id) if mark_id in ids else None


def test_ingest_reads_the_verbal_element(register: Register) -> None:
    _fill(register, 6)
    assert register.get("mark-2").text.upper().replace(" ", "") == "KORVEX"
    assert register.get("mark-1").text is None  # no words, nothing read
    assert register.stats()["marks_with_words"] == 3


def test_typed_words_raise_the_mark_with_those_words(register: Register) -> None:
    _fill(register)
    query = to_bytes(make_mark(500, 200))  # a figure like none in the register
    plain = register.search(query, k=24, options=SearchOptions(read_text=False))
    worded = register.search(query, k=5, options=SearchOptions(text="Teplix"))
    # mark-10 and mark-22 carry TEPLIX; both come first once the words count
    assert {r.record.id for r in worded[:2]} == {"mark-10", "mark-22"}
    assert _rank(plain, "mark-10") > 1 or _rank(plain, "mark-22") > 1
    top = worded[0]
    assert top.words is not None and top.words.similarity == 1.0
    assert top.match()["words"] == {"query": "teplix", "mark": top.record.text,
                                    "similarity": 1.0}
    # identical words alone score WORDS_WEIGHT (0.8): a risk on their own, below the High
    # of a near-identical device (service/search/ranking.py)
    assert WORDS_WEIGHT <= top.score < 0.9
    assert top.risk is RiskLevel.medium
    assert top.score > top.shape_score


def test_words_read_from_the_query_image(register: Register) -> None:
    _fill(register)
    query = to_bytes(composite(501, "MIRALO"))  # new figure, registered words
    results = register.search(query, k=3)
    assert {"mark-6", "mark-18"} <= {r.record.id for r in results}
    assert results[0].words is not None and results[0].words.query == "miralo"
    off = register.search(query, k=3, options=SearchOptions(read_text=False))
    assert all(r.words is None for r in off)


def test_marks_found_only_by_their_words_join_the_results(register: Register) -> None:
    _fill(register)
    query = to_bytes(make_mark(4, 120))  # mark-4's figure, no words
    shape_only = register.search(query, k=1, options=SearchOptions(read_text=False))
    assert [r.record.id for r in shape_only] == ["mark-4"]
    # BOLTRA is on mark-4 and mark-16; with k=2, mark-16 must come from the words lookup
    results = register.search(query, k=2, options=SearchOptions(text="BOLTRA"))
    assert [r.record.id for r in results] == ["mark-4", "mark-16"]
    assert results[1].shape_score < results[0].shape_score


def test_word_candidates_obey_filters_and_exclusions(register: Register) -> None:
    _fill(register)
    query = to_bytes(make_mark(500, 200))
    in_25 = SearchOptions(text="Teplix", filters=parse_filters(nice_classes="25"))
    results = register.search(query, k=5, options=in_25)
    assert results[0].record.id == "mark-22" and _rank(results, "mark-10") is None
    assert all(25 in r.record.nice_classes for r in results)
    excluded = replace(in_25, exclude_ids=frozenset({"mark-22"}))
    assert _rank(register.search(query, k=5, options=excluded), "mark-22") is None


def test_similar_uses_the_stored_words(register: Register) -> None:
    _fill(register)
    results = register.similar("mark-0", k=3)  # ZENITH on mark-0 and mark-12
    assert results[0].record.id == "mark-12"
    assert results[0].words is not None and results[0].words.similarity == 1.0


def test_reading_can_be_switched_off(settings: Settings, embedder: Embedder) -> None:
    with Register(replace_settings(settings, read_text=False), embedder) as register:
        register.add_mark(to_bytes(composite(0, "ZENITH")), MarkMetadata(id="a"))
        assert register.get("a").text is None
        results = register.search(to_bytes(composite(1, "ZENITH")), k=1)
        assert results[0].words is None


def replace_settings(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


@pytest.mark.parametrize("typed", ["", "   ", "!!"])
def test_empty_typed_words_are_no_words(register: Register, typed: str) -> None:
    _fill(register, 4)
    results = register.search(to_bytes(make_mark(0, 200)), k=2,
                              options=SearchOptions(text=typed))
    assert all(r.words is None for r in results)
