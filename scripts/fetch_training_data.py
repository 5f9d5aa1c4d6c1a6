"""Fetch and render the training images: open icon and emoji sets, plus synthetic marks.

    python scripts/fetch_training_data.py [--out var/training-data] [--synthetic 20000]

Icons come from the npm package @iconify/json (cached in var/cache/npm). Every brand-logo
set is skipped (scripts/datasets/brand_sets.py), and so are brand icons found in general
sets by name, non-commercially licensed sets, and the one icon in ten held out for the
evaluation's distractors. Output, all resumable:

    DIR/icons/<set>/<icon>.png    icons, black (or their own colours) on white
    DIR/synthetic/<n>.png         generated devices and word marks
    DIR/manifest.jsonl            one line per image: path, source, set, icon, licence
    DIR/LICENSES.md               every set used, with its licence and author
    DIR/summary.json              counts: sets used and excluded, images, failures
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file, too

import argparse
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tqdm import tqdm

from scripts.datasets import iconify
from scripts.datasets.brand_sets import (
    is_brand_set,
    is_distractor_holdout,
    is_non_commercial,
    looks_like_brand_icon,
)
from scripts.datasets.render import Job, run_jobs
from scripts.datasets.synthetic import (
    cjk_install_hint,
    find_system_fonts,
    make_synthetic_image,
)

log = logging.getLogger("fetch_training_data")

SYNTHETIC_LICENSE = "CC0-1.0 (generated)"


@dataclass
class SetPlan:
    """The icons of one set to use, and the manifest rows for them."""

    prefix: str
    info: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)  # icon names not yet on disk


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("var/training-data"))
    p.add_argument("--cache-dir", type=Path, default=iconify.DEFAULT_CACHE,
                   help="where the @iconify/json tarball is kept (shared with the eval build)")
    p.add_argument("--size", type=int, default=160, help="image side in pixels")
    p.add_argument("--margin", type=float, default=0.08, help="blank border, share of size")
    p.add_argument("--limit-per-set", type=int, default=0, help="at most N icons a set (0: all)")
    p.add_argument("--max-icons", type=int, default=0, help="at most N icons in all (0: all)")
    p.add_argument("--synthetic", type=int, default=20000, help="number of synthetic marks")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic marks")
    p.add_argument("--workers", type=int, default=2, help="rendering processes")
    p.add_argument("--dry-run", action="store_true",
                   help="only decide what would be used and write summary.json")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def plan_icons(args: argparse.Namespace, json_dir: Path, stats: dict[str, Any]
               ) -> list[SetPlan]:
    """Decide set by set and icon by icon what may be trained on."""
    brand_keys = iconify.load_brand_keys(json_dir)
    skipped: Counter[str] = Counter()
    excluded: dict[str, str] = {}
    plans: list[SetPlan] = []
    total = 0
    for icon_set in iconify.iter_sets(json_dir):
        prefix = icon_set["prefix"]
        info = iconify.set_info(icon_set)
        if is_brand_set(prefix, info):
            excluded[prefix] = "brand-logo set"
            continue
        if is_non_commercial(info.get("license")):
            excluded[prefix] = "non-commercial licence"
            continue
        names = iconify.visible_icons(icon_set)
        if not names:
            excluded[prefix] = "no icons"
            continue
        skipped["hidden"] += len(icon_set.get("icons", {})) - len(names)
        skipped["alias"] += len(icon_set.get("aliases", {}))
        licence, licence_url = iconify.set_license(icon_set)
        plan = SetPlan(prefix, info)
        for name in names:
            if is_distractor_holdout(prefix, name):
                skipped["held out for eval distractors"] += 1
                continue
            if iconify.is_animated(icon_set, name):
                skipped["animated"] += 1
                continue
            if looks_like_brand_icon(name, brand_keys):
                skipped["brand icon in a general set"] += 1
                continue
            if args.limit_per_set and len(plan.rows) >= args.limit_per_set:
                break
            if args.max_icons and total >= args.max_icons:
                break
            rel = f"icons/{prefix}/{name}.png"
            plan.rows.append({
                "path": rel, "source": "iconify", "set": prefix, "icon": name,
                "license": licence, "license_url": licence_url,
                "color": bool(info.get("palette")),
            })
            if not (args.out / rel).exists():
                plan.todo.append(name)
            total += 1
        if plan.rows:
            plans.append(plan)
        if args.max_icons and total >= args.max_icons:
            break
    stats["sets_excluded"] = dict(sorted(excluded.items()))
    stats["icons_skipped"] = dict(skipped)
    return plans


def icon_jobs(plans: list[SetPlan], json_dir: Path, out: Path, size: int, margin: int
              ) -> Iterator[Job]:
    """Rendering jobs for icons not yet on disk, one set loaded at a time."""
    for plan in plans:
        if not plan.todo:
            continue
        icon_set = iconify.load_set(json_dir, plan.prefix) or {}
        for name in plan.todo:
            key = f"{plan.prefix}:{name}"
            path = out / "icons" / plan.prefix / f"{name}.png"
            try:
                svg = iconify.icon_to_svg(icon_set, name, size, margin)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("%s: cannot build SVG: %s", key, exc)
                continue
            if svg is not None:
                yield Job(key, path, svg=svg)


def synthetic_rows(n: int) -> list[dict[str, Any]]:
    return [{"path": f"synthetic/{i:06d}.png", "source": "synthetic", "set": "synthetic",
             "icon": f"{i:06d}", "license": SYNTHETIC_LICENSE, "license_url": "",
             "color": True} for i in range(n)]


def synthetic_jobs(rows: list[dict[str, Any]], out: Path, size: int, seed: int,
                   fonts: list[str]) -> Iterator[Job]:
    for row in rows:
        path = out / row["path"]
        if not path.exists():
            make = partial(make_synthetic_image, f"synthetic:{seed}:{row['icon']}", size,
                           tuple(fonts))
            yield Job(f"synthetic:{row['icon']}", path, make=make)


def run_all(jobs: Iterator[Job], total: int, workers: int, desc: str,
            counts: Counter[str]) -> None:
    """Render with a progress bar; failures are logged and counted, never fatal."""
    quiet = not sys.stderr.isatty()
    with tqdm(total=total, desc=desc, unit="img", mininterval=30 if quiet else 0.5,
              smoothing=0.05) as bar:
        for result in run_jobs(jobs, workers=workers):
            counts[result.status] += 1
            if result.status == "failed":
                log.warning("%s: %s", result.key, result.error)
            elif result.status == "blank":
                log.debug("%s: blank", result.key)
            bar.update(1)


def write_licenses(path: Path, plans: list[SetPlan], used: Counter[str], version: str,
                   stats: dict[str, Any], n_synthetic: int) -> None:
    """LICENSES.md: the provenance and licence of every image in the folder."""
    lines = [
        "# Training data licences",
        "",
        f"Icons from the npm package `@iconify/json` {version}, rendered to PNG. Each icon",
        "set keeps its own licence, listed below; attribution goes to the set's author.",
        "Brand-logo sets, brand icons inside general sets, and non-commercially licensed",
        "sets are not used (see scripts/datasets/brand_sets.py).",
        "",
        "| set | name | author | licence | images |",
        "| --- | --- | --- | --- | ---: |",
    ]
    for plan in plans:
        if not used[plan.prefix]:
            continue
        info = plan.info
        author = info.get("author") or {}
        lic = info.get("license") or {}
        author_md = f"[{author.get('name', '?')}]({author['url']})" if author.get("url") \
            else author.get("name", "?")
        lic_name = lic.get("spdx") or lic.get("title") or "unknown"
        lic_md = f"[{lic_name}]({lic['url']})" if lic.get("url") else lic_name
        lines.append(f"| {plan.prefix} | {info.get('name', plan.prefix)} | {author_md} "
                     f"| {lic_md} | {used[plan.prefix]} |")
    lines += ["", "## Excluded sets", ""]
    lines += [f"- {prefix}: {why}" for prefix, why in stats["sets_excluded"].items()]
    lines += [
        "", "## Synthetic marks", "",
        f"{n_synthetic} images in synthetic/ are generated by scripts/datasets/synthetic.py",
        "(random shapes and invented words set in system fonts); dedicated to the public",
        "domain (CC0-1.0). Fonts used are those of the machine (DejaVu, Liberation,",
        "WenQuanYi ...), whose licences allow rendering text into images.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


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
    log.info("@iconify/json %s at %s", version, json_dir)

    stats: dict[str, Any] = {"iconify_version": version, "size": args.size}
    plans = plan_icons(args, json_dir, stats)
    n_todo = sum(len(p.todo) for p in plans)
    n_planned = sum(len(p.rows) for p in plans)
    log.info("%d sets used, %d excluded; %d icons, %d still to render",
             len(plans), len(stats["sets_excluded"]), n_planned, n_todo)
    if args.dry_run:
        stats.update({"sets_used": sorted(p.prefix for p in plans), "icons_planned": n_planned,
                      "icons_to_render": n_todo, "seconds": round(time.time() - started, 1)})
        (out / "summary.dry-run.json").write_text(json.dumps(stats, indent=2) + "\n",
                                                  encoding="utf-8")
        return 0
    icon_counts: Counter[str] = Counter()
    run_all(icon_jobs(plans, json_dir, out, args.size, margin), n_todo, args.workers,
            "icons", icon_counts)

    fonts = find_system_fonts()
    hint = cjk_install_hint(fonts)
    if hint and args.synthetic:
        log.warning("%s (Chinese word marks are left out until then)", hint)
        print(hint, file=sys.stderr)
    syn_rows = synthetic_rows(args.synthetic)
    syn_todo = sum(1 for r in syn_rows if not (out / r["path"]).exists())
    syn_counts: Counter[str] = Counter()
    run_all(synthetic_jobs(syn_rows, out, args.size, args.seed, fonts), syn_todo,
            args.workers, "synthetic", syn_counts)

    # The manifest lists what is on disk, so it is right after any number of resumed runs.
    used: Counter[str] = Counter()
    tmp = out / "manifest.jsonl.part"
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in [r for p in plans for r in p.rows] + syn_rows:
            if (out / row["path"]).exists():
                used[row["set"]] += 1
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out / "manifest.jsonl")
    write_licenses(out / "LICENSES.md", plans, used, version, stats, used["synthetic"])

    stats.update({
        "sets_used": sorted(p for p in used if p != "synthetic"),
        "icons_in_manifest": sum(n for p, n in used.items() if p != "synthetic"),
        "synthetic_in_manifest": used["synthetic"],
        "icon_results": dict(icon_counts),
        "synthetic_results": dict(syn_counts),
        "fonts": len(fonts),
        "seconds": round(time.time() - started, 1),
    })
    (out / "summary.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    log.info("done in %.0f s: %d icons from %d sets, %d synthetic; failed %d, blank %d",
             stats["seconds"], stats["icons_in_manifest"], len(stats["sets_used"]),
             stats["synthetic_in_manifest"], icon_counts["failed"] + syn_counts["failed"],
             icon_counts["blank"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
