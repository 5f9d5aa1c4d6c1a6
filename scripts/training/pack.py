"""Pack training images small enough to travel to a GPU machine (scripts/train_device.sh).

A lent GPU machine gets the working tree and at most 64 MiB beside it, and cannot fetch
anything, so the rendered training set goes as one tar of small PNGs with its manifest
and licences. Whole design-variant groups go first, in a seeded random order (the GPU schedule is
for the variant recipe), then the other icons and the synthetic marks, until
``--max-mb`` is reached:

    python -m scripts.training.pack --data var/training-data/manifest.jsonl \\
        --out var/device-pack --side 112 --max-mb 56
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import tarfile
from pathlib import Path

from PIL import Image

from scripts.datasets.brand_sets import is_brand_set
from scripts.datasets.manifest import iter_manifest
from scripts.training.contrastive import sample_of
from scripts.training.variant_batches import groups_of

PACK_FILE = "pack.tar"


def ordered_rows(manifest: Path, seed: int = 0) -> list[tuple[dict, str]]:
    """The manifest's rows, brand sets refused: whole design-variant groups first, in a
    seeded random order of groups (a pack cut by its budget then holds groups from every
    set, each with all its members), then the other images, also shuffled."""
    rows = {path: (row, path) for row, path in iter_manifest(manifest)
            if not is_brand_set(row.get("set", ""), row)}
    samples = [sample_of(row, path) for row, path in rows.values()]
    groups = [[rows[sample.path] for sample in group.samples] for group in groups_of(samples)]
    rng = random.Random(seed)
    rng.shuffle(groups)
    grouped = {path for group in groups for _, path in group}
    rest = [item for path, item in rows.items() if path not in grouped]
    rng.shuffle(rest)
    return [item for group in groups for item in group] + rest


def small_png(path: str, side: int) -> bytes:
    with Image.open(path) as image:
        image.load()
        if max(image.size) > side:
            image.thumbnail((side, side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue()


def pack(manifest: Path, out: Path, side: int = 112, max_mb: float = 56.0) -> dict:
    """Write ``out/pack.tar`` (images and manifest.jsonl) and ``out/LICENSES.md``;
    returns what went in."""
    out.mkdir(parents=True, exist_ok=True)
    budget = int(max_mb * 1024 * 1024)
    used, packed, skipped = 0, [], 0
    with tarfile.open(out / PACK_FILE, "w") as tar:
        for row, path in ordered_rows(manifest):
            try:
                data = small_png(path, side)
            except OSError:
                skipped += 1
                continue
            if used + len(data) + 1024 > budget:  # a tar member's header and padding
                break
            info = tarfile.TarInfo(row["path"])
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            used += len(data) + 1024
            packed.append(row)
        lines = "".join(json.dumps(row) + "\n" for row in packed).encode()
        info = tarfile.TarInfo("manifest.jsonl")
        info.size = len(lines)
        tar.addfile(info, io.BytesIO(lines))
    licences = manifest.parent / "LICENSES.md"
    if licences.is_file():
        shutil.copyfile(licences, out / "LICENSES.md")
    return {"images": len(packed), "unreadable": skipped,
            "megabytes": round((out / PACK_FILE).stat().st_size / 2**20, 1)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("var/training-data/manifest.jsonl"))
    p.add_argument("--out", type=Path, default=Path("var/device-pack"))
    p.add_argument("--side", type=int, default=112, help="longest side of a packed image")
    p.add_argument("--max-mb", type=float, default=56.0)
    args = p.parse_args(argv)
    if not args.data.is_file():
        raise SystemExit(f"{args.data} not found: run `make fetch-data` first")
    print(json.dumps(pack(args.data, args.out, args.side, args.max_mb)))


if __name__ == "__main__":
    main()
