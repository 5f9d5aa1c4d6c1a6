"""Build the brand-logo retrieval evaluation set: cross-design brand groups plus distractors.

    python scripts/build_eval_set.py [--out var/eval-data] [--distractors 20000]

A brand drawn by several independent icon sets (simple-icons, logos, cib, Font Awesome
brands, ...) gives a group of different designs of one mark: a query with one of them
should retrieve the others. Only brands whose normalised name hashes even are used; odd
brands are reserved for an independent evaluation and are dropped before anything else
is done with them. Distractors are non-brand icons from the one-in-ten hold-out that
training never sees (scripts/datasets/brand_sets.py).

    DIR/gallery/<brand>/<set>.png     one rendering per set, in the icon's own colours
    DIR/distractors/<set>/<icon>.png  non-brand icons
    DIR/manifest.jsonl                path, brand (null for distractors), set, role, licence
    DIR/LICENSES.md, DIR/summary.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file, too

import argparse
import hashlib
import json
import logging
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image
from tqdm import tqdm

from scripts.datasets import iconify
from scripts.datasets.brand_sets import (
    brand_hash_is_even,
    brand_key,
    is_brand_set,
    is_distractor_holdout,
    is_non_commercial,
    looks_like_brand_icon,
    normalise_brand_name,
    strip_variant,
)
from scripts.datasets.render import Job, run_jobs

log = logging.getLogger("build_eval_set")

SIMPLE_ICONS = "simple-icons"
#: iconify brand sets drawn from; the first Font Awesome brands set present is used
EVAL_ICONIFY_SETS: tuple[str | tuple[str, ...], ...] = (
    "logos", "cib", ("fa7-brands", "fa6-brands", "fa-brands"), "bxl", "streamline-logos",
    "selfhst", "arcticons", "devicon", "skill-icons", "thesvg-color",
)
#: app-icon sets name apps, not always brands: a group needs a member from another set
APP_ICON_SETS = frozenset({"arcticons", "selfhst"})
SIMPLE_ICONS_LICENSE = ("CC0-1.0", "https://github.com/simple-icons/simple-icons")


@dataclass(frozen=True)
class Candidate:
    """One set's drawing of one brand."""

    brand: str
    set: str
    icon: str
    svg: str
    license: str
    license_url: str


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("var/eval-data"))
    p.add_argument("--cache-dir", type=Path, default=iconify.DEFAULT_CACHE)
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--margin", type=float, default=0.08, help="blank border, share of size")
    p.add_argument("--near-duplicate", type=float, default=0.02,
                   help="drop a drawing this close (mean grey difference at 32 px) to one "
                        "already in its group; 0 drops only pixel-identical ones")
    p.add_argument("--distractors", type=int, default=20000)
    p.add_argument("--seed", type=int, default=0, help="seed of the distractor sample")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def _set_order(set_name: str) -> tuple[int, str]:
    """Originals first, so a copied drawing is the one dropped as a duplicate."""
    order = [SIMPLE_ICONS, "logos", "devicon", "cib", "fa7-brands", "fa6-brands", "fa-brands",
             "bxl", "streamline-logos", "skill-icons", "thesvg-color", "selfhst", "arcticons"]
    return (order.index(set_name) if set_name in order else len(order), set_name)


def variant_rank(icon_name: str) -> tuple[int, int, str]:
    """Which of a set's drawings of a brand to use: the symbol, then the plain name, then
    other variants; word marks last."""
    name = icon_name.lower()
    if "wordmark" in name:
        rank = 9
    elif name.endswith("-icon"):
        rank = 0
    elif strip_variant(name) == name:
        rank = 1
    else:
        rank = 2
    return rank, len(name), name


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def simple_icons_candidates(size: int, margin: int, aliases: dict[str, str],
                            reserved: set[str], stats: Counter[str]) -> Iterator[Candidate]:
    """simple-icons brands (even hash by slug and by title), in their brand colour.

    A brand whose slug or title hashes odd is reserved under both names, so that another
    set's drawing of it cannot enter this evaluation under the other name.
    """
    from simplepycons.registry import ICONS

    inner = size - 2 * margin
    for slug in sorted(ICONS.names()):
        icon = ICONS[slug]
        if not (brand_hash_is_even(slug) and brand_hash_is_even(icon.title)):
            reserved.update((normalise_brand_name(slug), normalise_brand_name(icon.title)))
            continue  # reserved: its drawing is never read
        key = normalise_brand_name(slug)
        aliases.setdefault(normalise_brand_name(icon.title), key)
        colour = "#" + icon.primary_color.lstrip("#")
        if _luminance(colour) > 0.85:  # white or near-white marks would vanish on white
            colour = "#000000"
            stats["simple-icons light colour drawn black"] += 1
        inner_svg = icon.customize_svg_as_str(
            fill=colour, x=str(margin), y=str(margin), width=str(inner), height=str(inner))
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
               f'viewBox="0 0 {size} {size}">{inner_svg}</svg>')
        yield Candidate(key, SIMPLE_ICONS, slug, svg, *SIMPLE_ICONS_LICENSE)


def iconify_candidates(json_dir: Path, size: int, margin: int, aliases: dict[str, str],
                       reserved: set[str], used_sets: dict[str, dict[str, Any]]
                       ) -> Iterator[Candidate]:
    """The best drawing of each even-hash brand in each iconify brand set."""
    for entry in EVAL_ICONIFY_SETS:
        options = entry if isinstance(entry, tuple) else (entry,)
        icon_set = None
        for prefix in options:
            icon_set = iconify.load_set(json_dir, prefix)
            if icon_set is not None:
                break
        if icon_set is None:
            log.warning("none of %s in @iconify/json: skipped", ", ".join(options))
            continue
        prefix = icon_set["prefix"]
        used_sets[prefix] = iconify.set_info(icon_set)
        best: dict[str, str] = {}
        for name in iconify.visible_icons(icon_set):
            key = brand_key(name)
            if not key or not brand_hash_is_even(key) or key in reserved:
                continue  # reserved (or nameless): dropped before anything else
            key = aliases.get(key, key)
            if iconify.is_animated(icon_set, name):
                continue
            if key not in best or variant_rank(name) < variant_rank(best[key]):
                best[key] = name
        licence, url = iconify.set_license(icon_set)
        for key, name in sorted(best.items()):
            svg = iconify.icon_to_svg(icon_set, name, size, margin)
            if svg is not None:
                yield Candidate(key, prefix, name, svg, licence, url)


def distractor_pool(json_dir: Path, brand_keys: set[str]) -> list[tuple[str, str]]:
    """(set, icon) of every held-out non-brand icon, in a fixed order."""
    pool: list[tuple[str, str]] = []
    for icon_set in iconify.iter_sets(json_dir):
        prefix = icon_set["prefix"]
        info = iconify.set_info(icon_set)
        if is_brand_set(prefix, info) or is_non_commercial(info.get("license")):
            continue
        for name in iconify.visible_icons(icon_set):
            if (is_distractor_holdout(prefix, name)
                    and not iconify.is_animated(icon_set, name)
                    and not looks_like_brand_icon(name, brand_keys)):
                pool.append((prefix, name))
    return sorted(pool)


def render(jobs: list[Job], workers: int, desc: str) -> dict[str, str]:
    """Render jobs; status by job key. Failures are logged, never fatal."""
    status: dict[str, str] = {}
    quiet = not sys.stderr.isatty()
    with tqdm(total=len(jobs), desc=desc, unit="img", mininterval=30 if quiet else 0.5) as bar:
        for result in run_jobs(jobs, workers=workers):
            status[result.key] = result.status
            if result.status == "failed":
                log.warning("%s: %s", result.key, result.error)
            bar.update(1)
    return status


def pixel_hash(path: Path) -> str:
    with Image.open(path) as img:
        return hashlib.sha1(img.convert("RGB").tobytes()).hexdigest()


def thumbnail(path: Path) -> list[int]:
    """32 x 32 grey pixels, to spot re-encodings of one design (e.g. a set copied from
    simple-icons) that differ only in anti-aliasing or margins."""
    with Image.open(path) as img:
        small = img.convert("L").resize((32, 32), Image.Resampling.BILINEAR)
    return list(small.tobytes())


def thumb_distance(a: list[int], b: list[int]) -> float:
    """Mean absolute grey difference, 0 (same) to 1."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / (255 * len(a))


def write_licenses(path: Path, used_sets: dict[str, dict[str, Any]], counts: Counter[str],
                   version: str) -> None:
    lines = [
        "# Evaluation data licences",
        "",
        "Brand logos are trademarks of their owners. They are used here only to measure",
        "retrieval, never for training, and are not redistributed with the project.",
        "Icon drawings come from simple-icons (via the simplepycons package) and from",
        f"the npm package `@iconify/json` {version}; each set keeps its own licence.",
        "",
        "| set | author | licence | images |",
        "| --- | --- | --- | ---: |",
    ]
    if counts[SIMPLE_ICONS]:
        lines.append(f"| {SIMPLE_ICONS} | Simple Icons contributors | "
                     f"[{SIMPLE_ICONS_LICENSE[0]}]({SIMPLE_ICONS_LICENSE[1]}) "
                     f"| {counts[SIMPLE_ICONS]} |")
    for prefix, info in sorted(used_sets.items()):
        if not counts[prefix]:
            continue
        author = info.get("author") or {}
        lic = info.get("license") or {}
        name = lic.get("spdx") or lic.get("title") or "unknown"
        lic_md = f"[{name}]({lic['url']})" if lic.get("url") else name
        lines.append(f"| {prefix} | {author.get('name', '?')} | {lic_md} | {counts[prefix]} |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.time()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    margin = round(args.size * args.margin)
    json_dir = iconify.ensure_json_dir(args.cache_dir)
    version = iconify.package_version(json_dir)
    stats: Counter[str] = Counter()

    # 1. even-hash brands, one drawing per set
    aliases: dict[str, str] = {}
    used_sets: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Candidate]] = defaultdict(dict)
    reserved: set[str] = set()
    for cand in simple_icons_candidates(args.size, margin, aliases, reserved, stats):
        groups[cand.brand][cand.set] = cand
    for cand in iconify_candidates(json_dir, args.size, margin, aliases, reserved, used_sets):
        groups[cand.brand][cand.set] = cand
    stats["even brands seen"] = len(groups)
    cross = {b: g for b, g in groups.items()
             if len(g) >= 2 and any(s not in APP_ICON_SETS for s in g)}
    log.info("%d even-hash brands, %d drawn by two or more sets", len(groups), len(cross))

    # 2. render, drop blanks and pixel-identical drawings, keep groups still >= 2
    gallery_dir = out / "gallery"
    jobs = [Job(f"{b}\t{s}", gallery_dir / b / f"{s}.png", svg=c.svg)
            for b, g in sorted(cross.items()) for s, c in sorted(g.items())]
    status = render(jobs, args.workers, "gallery")
    stats.update(f"gallery {v}" for v in status.values())
    rows: list[dict[str, Any]] = []
    kept_paths: set[Path] = set()
    for brand, group in sorted(cross.items()):
        seen: set[str] = set()
        thumbs: list[list[int]] = []
        members: list[Candidate] = []
        for set_name, cand in sorted(group.items(), key=lambda kv: _set_order(kv[0])):
            path = gallery_dir / brand / f"{set_name}.png"
            if not path.exists():
                continue
            digest = pixel_hash(path)
            if digest in seen:
                stats["gallery pixel-identical dropped"] += 1
                continue
            thumb = thumbnail(path)
            if args.near_duplicate > 0 and any(
                    thumb_distance(thumb, t) < args.near_duplicate for t in thumbs):
                stats["gallery near-duplicate dropped"] += 1
                continue
            seen.add(digest)
            thumbs.append(thumb)
            members.append(cand)
        if len(members) < 2:
            stats["groups below two after rendering"] += 1
            continue
        for cand in members:
            path = gallery_dir / brand / f"{cand.set}.png"
            kept_paths.add(path)
            rows.append({"path": str(path.relative_to(out)), "brand": brand, "set": cand.set,
                         "icon": cand.icon, "role": "gallery", "license": cand.license,
                         "license_url": cand.license_url})
    for path in gallery_dir.rglob("*.png"):  # drop what is not in the gallery
        if path not in kept_paths:
            path.unlink()
    for folder in sorted(gallery_dir.iterdir(), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder)
    n_groups = len({r["brand"] for r in rows})
    log.info("gallery: %d brand groups, %d images", n_groups, len(rows))

    # 3. distractors: a fixed-seed sample of held-out non-brand icons
    brand_keys = iconify.load_brand_keys(json_dir)
    pool = distractor_pool(json_dir, brand_keys)
    stats["distractor pool"] = len(pool)
    want = min(args.distractors, len(pool))
    sample = random.Random(args.seed).sample(pool, min(len(pool), int(want * 1.05) + 50))
    sets_cache: dict[str, iconify.IconSet] = {}
    d_jobs: list[Job] = []
    for prefix, name in sample:
        if prefix not in sets_cache:
            sets_cache[prefix] = iconify.load_set(json_dir, prefix) or {}
        svg = iconify.icon_to_svg(sets_cache[prefix], name, args.size, margin)
        if svg is not None:
            d_jobs.append(Job(f"{prefix}:{name}", out / "distractors" / prefix / f"{name}.png",
                              svg=svg))
    d_status = render(d_jobs, args.workers, "distractors")
    n_distractors = 0
    for job in d_jobs:  # sample order, so the same seed keeps the same icons
        if n_distractors >= want or d_status.get(job.key) not in ("done", "exists"):
            continue
        prefix, name = job.key.split(":", 1)
        icon_set = sets_cache[prefix]
        licence, url = iconify.set_license(icon_set)
        used_sets.setdefault(prefix, iconify.set_info(icon_set))
        rows.append({"path": str(job.path.relative_to(out)), "brand": None, "set": prefix,
                     "icon": name, "role": "distractor", "license": licence,
                     "license_url": url})
        n_distractors += 1
    kept = {out / r["path"] for r in rows}
    for job in d_jobs:  # the spare renderings are not part of the set
        if job.path not in kept and job.path.exists():
            job.path.unlink()
    if n_distractors < args.distractors:
        log.warning("only %d distractors (asked for %d)", n_distractors, args.distractors)

    tmp = out / "manifest.jsonl.part"
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out / "manifest.jsonl")
    per_set = Counter(r["set"] for r in rows)
    write_licenses(out / "LICENSES.md", used_sets, per_set, version)
    summary = {
        "iconify_version": version,
        "brand_groups": n_groups,
        "gallery_images": sum(1 for r in rows if r["role"] == "gallery"),
        "gallery_per_set": dict(Counter(r["set"] for r in rows if r["role"] == "gallery")),
        "group_sizes": dict(sorted(Counter(
            Counter(r["brand"] for r in rows if r["brand"]).values()).items())),
        "distractors": n_distractors,
        "counts": dict(stats),
        "seconds": round(time.time() - started, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    log.info("done in %.0f s: %d groups, %d gallery images, %d distractors",
             summary["seconds"], n_groups, summary["gallery_images"], n_distractors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
