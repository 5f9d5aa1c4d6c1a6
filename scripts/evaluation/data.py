"""The evaluation gallery: manifest rows as items with mark ids, and the queries of the
cross-design task.

A gallery image's mark id in the evaluation register is its path relative to the
manifest's folder without the suffix (``gallery/<brand>/<set>``,
``distractors/<set>/<icon>``): what ``Register.ingest_folder`` gives a file of a folder
laid out like the manifest's.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from scripts.datasets.brand_sets import brand_hash_is_even
from scripts.datasets.manifest import iter_manifest


@dataclass(frozen=True)
class Item:
    """One gallery image: where it is, its brand (None: a distractor), its icon set and
    its mark id in the register."""

    path: str
    brand: str | None
    set: str
    mark_id: str


def mark_id_of(row_path: str, index: int) -> str:
    """The mark id of a manifest row's image; an absolute or escaping path (which the
    register's folder layout cannot hold) gets ``external/<row>``."""
    rel = PurePosixPath(row_path.replace("\\", "/"))
    if rel.is_absolute() or ".." in rel.parts:
        return f"external/{index}"
    return rel.with_suffix("").as_posix()


def read_items(manifest: Path, gallery_limit: int | None = None) -> list[Item]:
    """The manifest's images in file order; with ``gallery_limit``, every brand rendering
    but only the first ``gallery_limit`` distractors (a quick run). Odd-hash brands are
    refused: they are kept out of every evaluation (see scripts/datasets/brand_sets.py)."""
    items: list[Item] = []
    distractors = 0
    for index, (row, path) in enumerate(iter_manifest(manifest)):
        brand = row.get("brand")
        if brand is not None and not brand_hash_is_even(brand):
            raise SystemExit(f"odd-hash brand {brand!r} in {manifest}: rebuild the eval set")
        if brand is None:
            distractors += 1
            if gallery_limit is not None and distractors > gallery_limit:
                continue
        items.append(Item(path, brand, row.get("set", ""), mark_id_of(row["path"], index)))
    ids = [item.mark_id for item in items]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{manifest} names one image twice (same path without suffix)")
    return items


def by_brand(items: list[Item]) -> dict[str, list[int]]:
    """Item indices of each brand's renderings."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.brand:
            groups[item.brand].append(index)
    return dict(groups)


def cross_design_queries(items: list[Item], limit: int | None = None, seed: int = 0
                         ) -> list[tuple[int, set[int]]]:
    """(query item, relevant items): every rendering of a brand drawn by 2+ sets, with
    the same brand's renderings in the other sets; ``limit`` draws a seeded sample."""
    queries = []
    for indices in by_brand(items).values():
        if len({items[i].set for i in indices}) < 2:
            continue
        for i in indices:
            relevant = {j for j in indices if items[j].set != items[i].set}
            if relevant:
                queries.append((i, relevant))
    if limit is not None and limit < len(queries):
        queries = sorted(random.Random(seed).sample(queries, limit))
    return queries


def brands_in_several_sets(items: list[Item]) -> int:
    return sum(1 for ix in by_brand(items).values() if len({items[i].set for i in ix}) >= 2)


def transform_originals(items: list[Item], count: int, seed: int, limit: int | None = None
                        ) -> list[int]:
    """The originals of the transformed-copy task, drawn as the evaluation always has:
    ``random.Random(seed).sample`` of the brand renderings in manifest order; ``limit``
    keeps the first of them, so a quick run's originals are the full run's first."""
    brand_items = sorted(i for ix in by_brand(items).values() for i in ix)
    drawn = random.Random(seed).sample(brand_items, min(count, len(brand_items)))
    return drawn if limit is None else drawn[:limit]
