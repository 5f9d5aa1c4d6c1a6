"""The @iconify/json package: fetch it once, read its icon sets, turn an icon into SVG.

Shared by the training-data fetch and the evaluation-set build, so both read the same
cached tarball (var/cache/npm) and draw icons the same way.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scripts.datasets.brand_sets import BRAND_NAME_SOURCES, brand_key, normalise_brand_name

log = logging.getLogger(__name__)

PACKAGE = "@iconify/json"
DEFAULT_CACHE = Path("var/cache/npm")
DEFAULT_SIZE = 16  # iconify's default viewBox width and height
_SET_MEMBER = re.compile(r"^package/json/([a-z0-9][a-z0-9-]*)\.json$")

IconSet = dict[str, Any]


def fetch_tarball(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """`npm pack @iconify/json` into cache_dir, unless a tarball is already there."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    existing = sorted(cache_dir.glob("iconify-json-*.tgz"))
    if existing:
        return existing[-1]
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to fetch @iconify/json (apt-get install -y npm)")
    log.info("fetching %s with npm pack into %s", PACKAGE, cache_dir)
    out = subprocess.run(
        [npm, "pack", PACKAGE, "--silent"],
        cwd=cache_dir, check=True, capture_output=True, text=True,
    )
    tarball = cache_dir / out.stdout.strip().splitlines()[-1]
    if not tarball.is_file():
        raise RuntimeError(f"npm pack did not leave {tarball}")
    return tarball


def ensure_json_dir(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Unpack the sets' JSON files next to the tarball once; return their folder.

    Unpacked, a set can be read on its own; only plainly named json/*.json members are
    written, so the tarball cannot place files elsewhere.
    """
    tarball = fetch_tarball(cache_dir)
    target = cache_dir / tarball.name.removesuffix(".tgz")
    done = target / ".complete"
    if done.exists():
        return target / "json"
    (target / "json").mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            match = _SET_MEMBER.match(member.name)
            if not match or not member.isfile():
                continue
            src = tar.extractfile(member)
            if src is None:
                continue
            dest = target / "json" / f"{match.group(1)}.json"
            tmp = dest.with_suffix(".json.part")
            with src, open(tmp, "wb") as fh:
                shutil.copyfileobj(src, fh)
            tmp.replace(dest)
    done.write_text(tarball.name + "\n")
    return target / "json"


def package_version(json_dir: Path) -> str:
    """Version of @iconify/json, from the cached folder name."""
    return json_dir.parent.name.removeprefix("iconify-json-")


def set_prefixes(json_dir: Path) -> list[str]:
    """All set prefixes in the package, sorted."""
    return sorted(p.stem for p in json_dir.glob("*.json"))


def load_set(json_dir: Path, prefix: str) -> IconSet | None:
    """One icon set as parsed JSON, or None if the package has no such set."""
    path = json_dir / f"{prefix}.json"
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def iter_sets(json_dir: Path) -> Iterator[IconSet]:
    """Every icon set in the package, in prefix order."""
    for prefix in set_prefixes(json_dir):
        icon_set = load_set(json_dir, prefix)
        if icon_set is not None:
            yield icon_set


def set_info(icon_set: IconSet) -> dict[str, Any]:
    """The set's ``info`` block (name, author, license, category), or {}."""
    return icon_set.get("info") or {}


def set_license(icon_set: IconSet) -> tuple[str, str]:
    """(SPDX id or title, licence URL) of a set."""
    lic = set_info(icon_set).get("license") or {}
    return lic.get("spdx") or lic.get("title") or "unknown", lic.get("url") or ""


def visible_icons(icon_set: IconSet) -> list[str]:
    """Icon names to use: real icons only, hidden ones and aliases skipped."""
    return [name for name, icon in icon_set.get("icons", {}).items() if not icon.get("hidden")]


def is_animated(icon_set: IconSet, name: str) -> bool:
    """SMIL-animated icons (line-md, svg-spinners) render only their first frame, often
    blank or partial, so they are not used."""
    body = str(icon_set.get("icons", {}).get(name, {}).get("body", ""))
    return "<animate" in body or "<set" in body


def icon_to_svg(icon_set: IconSet, name: str, size: int, margin: int = 0,
                color: str = "#000000") -> str | None:
    """A standalone SVG of one icon, fitted into a size x size canvas inside the margin.

    ``currentColor`` resolves to ``color``; icons with their own colours keep them.
    Returns None for unknown or hidden icons (aliases are not resolved on purpose).
    """
    icon = icon_set.get("icons", {}).get(name)
    if icon is None or icon.get("hidden"):
        return None

    def attr(key: str, default: Any) -> Any:
        return icon.get(key, icon_set.get(key, default))

    left, top = float(attr("left", 0)), float(attr("top", 0))
    width, height = float(attr("width", DEFAULT_SIZE)), float(attr("height", DEFAULT_SIZE))
    body = str(icon["body"])
    # iconify's transformations, applied as in @iconify/utils iconToSVG
    rotate = int(attr("rotate", 0))
    h_flip, v_flip = bool(attr("hFlip", False)), bool(attr("vFlip", False))
    transforms: list[str] = []
    if h_flip and v_flip:
        rotate += 2
    elif h_flip:
        transforms += [f"translate({width + left:g} {-top:g})", "scale(-1 1)"]
        left = top = 0
    elif v_flip:
        transforms += [f"translate({-left:g} {height + top:g})", "scale(1 -1)"]
        left = top = 0
    rotate %= 4
    if rotate == 1:
        c = height / 2 + top
        transforms.insert(0, f"rotate(90 {c:g} {c:g})")
    elif rotate == 2:
        transforms.insert(0, f"rotate(180 {width / 2 + left:g} {height / 2 + top:g})")
    elif rotate == 3:
        c = width / 2 + left
        transforms.insert(0, f"rotate(-90 {c:g} {c:g})")
    if rotate % 2 == 1:
        left, top, width, height = top, left, height, width
    if transforms:
        body = f'<g transform="{" ".join(transforms)}">{body}</g>'

    inner = size - 2 * margin
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        f' width="{size}" height="{size}" viewBox="0 0 {size} {size}" color="{color}">'
        f'<svg x="{margin}" y="{margin}" width="{inner}" height="{inner}"'
        f' viewBox="{left:g} {top:g} {width:g} {height:g}">{body}</svg></svg>'
    )


def load_brand_keys(json_dir: Path) -> set[str]:
    """Normalised brand names from the brand-logo sets and simple-icons.

    Used only to keep brand icons found in general sets out of training and distractors;
    the names themselves are never rendered, written or reported.
    """
    keys: set[str] = set()
    for prefix in BRAND_NAME_SOURCES:
        icon_set = load_set(json_dir, prefix)
        if icon_set is None:
            continue
        keys.update(brand_key(name) for name in icon_set.get("icons", {}))
        keys.update(brand_key(name) for name in icon_set.get("aliases", {}))
    try:
        from simplepycons.registry import ICONS  # slow import, only when needed
    except ImportError:  # pragma: no cover - simplepycons is a declared dependency
        log.warning("simplepycons not installed: simple-icons names not excluded")
    else:
        for slug in ICONS.names():
            keys.add(normalise_brand_name(slug))
            keys.add(normalise_brand_name(ICONS[slug].title))
    keys.discard("")
    return keys
