"""Which data may be trained on, and which brands are held out: the one place for these rules.

Brand logos are what the service is evaluated on, so no brand-logo set may ever be used
for training. Brands are further split by a hash of their normalised name: brands with an
even hash form this project's evaluation gallery (scripts/build_eval_set.py); brands with
an odd hash are reserved for an independent evaluation and must never be loaded, rendered
or reported on by this project's code.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

#: iconify category that marks a brand-logo set
LOGOS_CATEGORY = "Logos"

#: Brand-logo sets by prefix (iconify) or package name, excluded whatever their category.
BRAND_SET_PREFIXES: frozenset[str] = frozenset(
    {
        "simple-icons",
        "simplepycons",
        "devicon",
        "devicon-plain",
        "skill-icons",
        "super-tiny-icons",
        "cryptocurrency",
        "cryptocurrency-color",
        "fa-brands",
        "fa6-brands",
        "fa7-brands",
        "bxl",
        "cib",
        "logos",
        "selfhst",
        "arcticons",
        "thesvg",
        "thesvg-color",
        "streamline-logos",
        # Not in the "Logos" category in @iconify/json, but made of brand/product logos:
        "devicon-original",  # devicon variants (category unset)
        "devicon-line",
        "vscode-icons",  # file-type icons built around tool and language logos
        "material-icon-theme",
        "file-icons",
        "catppuccin",
        "unjs",  # logos of the unjs projects
        "gcp",  # Google Cloud product icons
        "academicons",  # logos of academic services and publishers (arXiv, ORCID, ...)
    }
)

#: Sets whose icon names are taken as brand names, to find brand icons hiding in general
#: sets (e.g. ``tabler:brand-github``). App-icon sets (arcticons, selfhst) are left out:
#: their names include everyday words such as "calculator" or "camera".
BRAND_NAME_SOURCES: tuple[str, ...] = (
    "logos",
    "cib",
    "fa-brands",
    "fa6-brands",
    "fa7-brands",
    "bxl",
    "devicon",
    "devicon-plain",
    "skill-icons",
    "thesvg",
    "thesvg-color",
    "streamline-logos",
)

# Variant words that name a rendering of a brand, not the brand ("github-icon", "x-dark").
_VARIANT_SUFFIX = re.compile(
    r"-(icon|plain|original|wordmark|color|colored|logo|logos|dark|light|block|solid|alt"
    r"|fill|filled|line|outline|outlined|duotone|bold|regular|thin|rounded|sharp|twotone"
    r"|circle|square|\d+)$"
)
_VARIANT_PREFIX = re.compile(r"^(brand|logo|logos|social|square)-")
_BRAND_TOKEN = re.compile(r"(^|-)(brand|brands|logo|logos)(-|$)")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def is_brand_set(prefix: str, info: Mapping[str, Any] | None = None) -> bool:
    """True for a brand-logo set: listed above, or in iconify's "Logos" category.

    ``info`` is the set's ``info`` object; a dict without ``category`` (a manifest row)
    is judged by its prefix alone.
    """
    if prefix in BRAND_SET_PREFIXES:
        return True
    return bool(info) and info.get("category") == LOGOS_CATEGORY


def normalise_brand_name(name: str) -> str:
    """Lower-case, accents stripped, only [a-z0-9]: "Café-Olé.js" -> "cafeolejs"."""
    decomposed = unicodedata.normalize("NFKD", name.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", plain)


def brand_hash_is_even(name: str) -> bool:
    """Even: this project's evaluation may use the brand. Odd: reserved, never touch."""
    digest = hashlib.sha1(normalise_brand_name(name).encode()).hexdigest()
    return int(digest, 16) % 2 == 0


def strip_variant(icon_name: str) -> str:
    """Drop rendering-variant affixes from an icon name: "brand-github-filled" -> "github"."""
    name = icon_name.lower()
    stripped = _VARIANT_PREFIX.sub("", name)
    name = stripped or name
    while True:
        shorter = _VARIANT_SUFFIX.sub("", name)
        if shorter == name or not shorter:
            return name
        name = shorter


def brand_key(icon_name: str) -> str:
    """Identity of the brand an icon name refers to, comparable across sets."""
    return normalise_brand_name(strip_variant(icon_name))


def has_brand_token(icon_name: str) -> bool:
    """Icon names such as "brand-x" or "github-logo" announce a brand whatever the set."""
    return bool(_BRAND_TOKEN.search(icon_name.lower()))


def looks_like_brand_icon(icon_name: str, brand_keys: Iterable[str] | set[str]) -> bool:
    """A general-set icon that depicts a brand: kept out of training and distractors."""
    keys = brand_keys if isinstance(brand_keys, set | frozenset) else set(brand_keys)
    return has_brand_token(icon_name) or brand_key(icon_name) in keys


def is_distractor_holdout(prefix: str, icon_name: str) -> bool:
    """One icon in ten is held out of training, for the evaluation's distractors."""
    digest = hashlib.sha1(f"{prefix}:{icon_name}".encode()).hexdigest()
    return int(digest, 16) % 10 == 0


def is_non_commercial(license_info: Mapping[str, Any] | None) -> bool:
    """Non-commercial licences (CC-BY-NC-*) are not used: the weights are redistributed."""
    if not license_info:
        return False
    text = f"{license_info.get('spdx', '')} {license_info.get('title', '')}"
    return "-NC" in text.upper() or "NONCOMMERCIAL" in text.upper().replace("-", "")
