"""Words as the register keeps them: normalisation and trigram terms."""

from __future__ import annotations

import pytest

from service.marks.words import normalise_text, trigram_terms


@pytest.mark.parametrize(("raw", "normal"), [
    ("ACME Corp.", "acme corp"),
    ("  Café—BAR  ", "café bar"),
    ("ＡＣＭＥ", "acme"),  # full-width letters fold (NFKC)
    ("华为 商标", "华为 商标"),
    ("snake_case!!", "snake case"),
    (None, ""),
    ("!!!", ""),
])
def test_normalise_text(raw: str | None, normal: str) -> None:
    assert normalise_text(raw) == normal


def test_trigram_terms() -> None:
    assert trigram_terms("acme co") == ["acm", "cme", "co"]
    assert len(trigram_terms("x" * 3 + " " + "abcdefghijklmnopqrstuvwxyz" * 3, limit=5)) == 5

