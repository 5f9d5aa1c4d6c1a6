"""The watched marks' words: every watched mark whose words reach the ranking's floor is
named, including words that share no trigram (which the register's trigram lookup
misses), and marks that sound alike."""

from __future__ import annotations

import random
import string

from service.marks.words import normalise_text
from service.search.ranking import MIN_WORDS_SIMILARITY
from service.search.text_match import text_similarity
from service.watch.watched_words import WatchedWords


def _words(texts: list[str]) -> WatchedWords:
    words = WatchedWords()
    for number, text in enumerate(texts):
        words.add(number, normalise_text(text))
    return words


def test_words_sharing_a_bigram_but_no_trigram_are_named() -> None:
    # the two pairs the trigram lookup missed in the benchmark at scale
    texts = ["dou", "PLOUNOOX cynd", "zzq"]
    words = _words(texts)
    assert text_similarity("dou", "rou") >= MIN_WORDS_SIMILARITY
    assert words.candidates("rou") == {0}
    assert text_similarity(normalise_text(texts[1]), "loopun") >= MIN_WORDS_SIMILARITY
    assert 1 in words.candidates("loopun")
    assert words.candidates("") == set()


def test_marks_that_sound_alike_are_named() -> None:
    words = _words(["乐百氏", "QUICK", "acme"])
    assert words.candidates(normalise_text("乐佰氏")) >= {0}
    assert 1 in words.candidates(normalise_text("KWIK"))
    assert 2 not in words.candidates(normalise_text("KWIK"))


def test_every_mark_whose_words_reach_the_floor_is_named() -> None:
    """Against every pair compared, on random short words (many near misses)."""
    rng = random.Random(0)
    letters = "aeioulnrst"

    def word() -> str:
        return "".join(rng.choice(letters) for _ in range(rng.randint(1, 7)))

    texts = [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(400)]
    texts += ["".join(rng.choice(string.ascii_lowercase) for _ in range(5)) for _ in range(50)]
    words = _words(texts)
    named = reached = 0
    for _ in range(150):
        query = normalise_text(" ".join(word() for _ in range(rng.randint(1, 2))))
        found = words.candidates(query)
        expected = {n for n, text in enumerate(texts)
                    if text_similarity(normalise_text(text), query) >= MIN_WORDS_SIMILARITY}
        assert expected <= found
        named += len(found)
        reached += len(expected)
    assert reached > 100  # the comparison had something to find
    assert named <= 2 * reached  # and the lookup names little more than it needs
