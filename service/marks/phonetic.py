"""How a mark's words sound: toneless pinyin for Chinese characters (``pypinyin``) and
a Metaphone key for Latin words (``jellyfish``), so that marks that are spoken alike
compare as alike however they are written: 乐百氏 / 乐佰氏 (both "le bai shi"),
KWIK / QUICK, FONE / PHONE. ``service.search.text_match`` weighs them beside the
spelling; the records index them beside the words, so a homophone is also found as a
candidate.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+")
# spellings that sound alike but that Metaphone keeps apart
_SOUND_ALIKE = ((re.compile(r"qu"), "kw"), (re.compile(r"ck"), "k"), (re.compile(r"x"), "ks"),
                (re.compile(r"z"), "s"), (re.compile(r"y(?=[^aeiou]|$)"), "i"))
MIN_KEY = 2  # shorter Metaphone keys (one consonant) say too little to compare


@dataclass(frozen=True)
class Sound:
    """The sound of normalised text: its Chinese syllables and its Latin words' keys."""

    syllables: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()

    def index_terms(self) -> str:
        """What the records index beside the words (``py:`` / ``mp:`` tagged, so that a
        key never matches a word by accident)."""
        parts = []
        if self.syllables:
            parts.append("py" + "".join(self.syllables))
        parts += ["mp" + key.lower() for key in self.keys]
        return " ".join(parts)


def sound_of(text: str) -> Sound:
    """The sound of ``text`` (normalised: ``service.marks.words.normalise_text``)."""
    return _sound(text)


@functools.lru_cache(maxsize=65536)
def _sound(text: str) -> Sound:
    syllables: tuple[str, ...] = ()
    if _CJK.search(text):
        from pypinyin import Style, lazy_pinyin  # local: only Chinese words pay for it

        syllables = tuple(s for s in lazy_pinyin(
            "".join(_CJK.findall(text)), style=Style.NORMAL, errors="ignore") if s)
    keys = tuple(k for k in (_metaphone(w) for w in _LATIN_WORD.findall(text)) if len(k) >= MIN_KEY)
    return Sound(syllables, keys)


def _metaphone(word: str) -> str:
    import jellyfish

    for pattern, replacement in _SOUND_ALIKE:
        word = pattern.sub(replacement, word)
    return jellyfish.metaphone(word)
