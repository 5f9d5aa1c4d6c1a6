"""Design-variant groups: one design drawn in several styles of one icon family.

The non-brand sets of @iconify/json draw many designs in several styles (fill /
outline / line / solid / bold / thin / light / duotone / regular / filled ...): the
same design by the same hand, as a line drawing and as a silhouette, thin and bold.
Those are exactly the redraws an examiner must see through, so icons of one set whose
names differ only by a style affix form a group of positives for a multi-positive
contrastive loss (scripts/training/supcon.py). Brand icons never get here: the brand
sets and brand names are dropped before grouping (scripts/datasets/brand_sets.py).

A pair's *weight* says how hard it is: a line drawing against a filled one, or thin
against bold, counts more than two near-identical styles (regular vs rounded).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

#: style affixes, as iconify sets spell them (prefix or suffix, joined by "-")
STYLES = (
    "fill", "filled", "solid", "outline", "outlined", "line", "linear", "stroke", "bold",
    "thin", "light", "duotone", "twotone", "two-tone", "regular", "round", "rounded",
    "sharp", "broken", "bulk", "mini", "micro",
)
_STYLE = "|".join(sorted((re.escape(s) for s in STYLES), key=len, reverse=True))
_SUFFIX = re.compile(rf"-({_STYLE})$")
#: style prefixes are spelled by few sets (ic: "outline-home", "twotone-home"); other
#: words in front ("line-chart", "light-bulb") name the design
_PREFIX = re.compile(r"^(baseline|outline|round|sharp|twotone)-")
#: which kind of drawing a style is: hard pairs cross kinds
_KIND = {"fill": "filled", "filled": "filled", "solid": "filled", "bold": "heavy",
         "bulk": "filled", "duotone": "filled", "twotone": "filled", "two-tone": "filled",
         "outline": "line", "outlined": "line", "line": "line", "linear": "line",
         "stroke": "line", "thin": "light", "light": "light", "broken": "line",
         "baseline": "filled"}
HARD_PAIR_WEIGHT = 2.0  # line vs filled, light vs heavy


def design_and_style(name: str) -> tuple[str, str]:
    """("arrow-left", "outline") for "arrow-left-outline"; style "" when none."""
    lowered = name.lower()
    for pattern in (_SUFFIX, _PREFIX):
        match = pattern.search(lowered)
        if match:
            base = pattern.sub("", lowered)
            if base:
                return base, match.group(1)
    return lowered, ""


def drawing_kind(style: str) -> str:
    """"filled", "line", "light", "heavy" or "plain" (regular, rounded, sharp, none)."""
    return _KIND.get(style, "plain")


def pair_weight(style_a: str, style_b: str) -> float:
    """How much a positive pair of these two styles counts in the loss."""
    a, b = drawing_kind(style_a), drawing_kind(style_b)
    hard = {a, b} in ({"filled", "line"}, {"light", "heavy"}, {"light", "filled"},
                      {"line", "heavy"})
    return HARD_PAIR_WEIGHT if hard else 1.0


def variant_groups(icons: Iterable[tuple[str, str]], min_size: int = 2
                   ) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(set, name) icons -> {(set, design): [(name, style), ...]} for designs drawn in at
    least ``min_size`` styles of one set. Designs never group across sets: another set
    is another hand, not a style."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for icon_set, name in icons:
        design, style = design_and_style(name)
        groups[(icon_set, design)].append((name, style))
    return {key: sorted(members) for key, members in groups.items()
            if len({style for _, style in members}) >= min_size}
