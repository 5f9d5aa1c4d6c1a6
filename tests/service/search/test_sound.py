"""Words compared by sound: Chinese by toneless pinyin, Latin by a Metaphone key; found
as candidates through the words index too. Measured on generated pairs by
``scripts/bench_words.py``."""

from __future__ import annotations

from pathlib import Path

from scripts.bench_words import make_pairs, measure
from service.marks.metadata import MarkMetadata
from service.marks.phonetic import sound_of
from service.marks.words import indexed_words, words_of_index
from service.search.ranking import MIN_WORDS_SIMILARITY
from service.search.text_match import PHONETIC_WEIGHT, spelling_similarity, text_similarity
from service.storage.mark_record import NewImage
from service.storage.records import RecordStore


def test_homophones_are_alike_and_below_identical() -> None:
    assert sound_of("乐百氏").syllables == ("le", "bai", "shi") == sound_of("乐佰氏").syllables
    assert spelling_similarity("乐百氏", "乐佰氏") < MIN_WORDS_SIMILARITY  # one char of three
    assert text_similarity("乐百氏", "乐佰氏") == PHONETIC_WEIGHT
    assert PHONETIC_WEIGHT < text_similarity("乐百氏", "乐百氏")
    for a, b in (("kwik", "quick"), ("fone", "phone"), ("lexus", "lekzus")):
        assert text_similarity(a, b) >= PHONETIC_WEIGHT, (a, b)


def test_unrelated_words_stay_apart() -> None:
    for a, b in (("acme", "boltra"), ("华为", "小米"), ("zenith", "korvex")):
        assert text_similarity(a, b) < MIN_WORDS_SIMILARITY, (a, b)


def test_generated_pairs_behave_as_measured() -> None:
    pairs = make_pairs(200, seed=1)
    assert measure(pairs["zh homophone"], text_similarity)[0] >= 0.95
    assert measure(pairs["zh homophone"], spelling_similarity)[0] <= 0.6  # what sound adds
    assert measure(pairs["en sound-alike"], text_similarity)[0] >= 0.95
    for kind in ("zh unrelated", "en unrelated"):
        assert measure(pairs[kind], text_similarity)[0] <= 0.02, kind


def test_the_words_index_holds_the_sound_and_finds_a_homophone(tmp_path: Path) -> None:
    stored = indexed_words("乐百氏 Drinks")
    assert words_of_index(stored) == "乐百氏 drinks" and "pylebaishi" in stored
    store = RecordStore(tmp_path / "r.sqlite3")
    store.upsert([("tm-1", MarkMetadata(), NewImage("h1", "k1", "image/png", text="乐百氏"),
                   None),
                  ("tm-2", MarkMetadata(), NewImage("h2", "k2", "image/png", text="QUICK"),
                   None)])
    assert store.marks_with_words("乐佰氏") == {"tm-1": "乐百氏"}  # no character in common
    assert store.marks_with_words("kwik") == {"tm-2": "quick"}
    store.close()
