"""Give a weights file the orientation signal and measure where each signal's evidence
is 0.

    python -m scripts.training.signal_scales --weights IN.pt --icons DIR --out OUT.pt \
        [--name NAME] [--hog-cells 6] [--hog-share 0.5] [--embed-weight 0.7]

The network's tensors are kept; the config gains the orientation descriptor
(models/descriptor.py, input mode ``ink+grey``) and, per signal, the centre that turns
a cosine into evidence (models/signals.py): over ``--queries`` icons of ``DIR``
(non-brand icons: the evaluation's distractors or the training icons), the mean of each
query's 100 best cosines to the others. A typical query's best matches then sit near
evidence 0 and an identical image at 1 for either signal, so taking the larger evidence
compares like with like.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from models.checkpoint import load_checkpoint, save_checkpoint
from models.embedder import Embedder
from models.signals import VectorLayout

TOP = 100


def top_stats(vectors: np.ndarray, queries: np.ndarray) -> tuple[float, float]:
    """(mean, mean per-query spread) of each query's ``TOP`` best cosines (self left out)."""
    means, spreads = [], []
    for start in range(0, len(queries), 500):
        rows = queries[start:start + 500]
        sims = vectors[rows] @ vectors.T
        sims[np.arange(len(rows)), rows] = -np.inf
        best = np.partition(sims, sims.shape[1] - TOP, axis=1)[:, -TOP:]
        means.append(best.mean(axis=1))
        spreads.append(best.std(axis=1))
    return float(np.concatenate(means).mean()), float(np.concatenate(spreads).mean())


def with_orientation(weights: Path, icons: list[Path] | list[str], out: Path,
                     name: str | None = None, hog_cells: int = 6, hog_share: float = 0.5,
                     embed_weight: float = 0.7, queries: int = 2000) -> str:
    """Write ``out``: the network of ``weights`` with the orientation signal and each
    signal's centre measured on ``icons`` (non-brand icons); returns its version."""
    loaded = load_checkpoint(weights)
    config = dataclasses.replace(loaded.config, input_mode="ink+grey", hog_cells=hog_cells,
                                 hog_share=hog_share, embed_weight=embed_weight)
    loaded.net.config = config
    if len(icons) <= TOP:
        raise ValueError(f"need more than {TOP} icons to measure the centres, got {len(icons)}")
    tmp = out.with_suffix(".unscaled.pt")
    save_checkpoint(loaded.net, tmp, "unscaled")
    embedder = Embedder(tmp, device="cpu", batch_size=128)
    prepared = [embedder.prepare(Image.open(path).convert("RGB"))
                for path in tqdm(icons, desc="signal centres", unit="icon")]
    stored = embedder.embed_prepared(np.stack(prepared))
    rows = np.random.default_rng(0).choice(len(icons), min(queries, len(icons)),
                                           replace=False)
    scales = {}
    for signal in VectorLayout.of(config).signals:
        part = signal.query(stored)[:, signal.start:signal.stop]
        scales[signal.name] = top_stats(part.astype(np.float32), rows)
        print(f"{signal.name}: centre {scales[signal.name][0]:.4f}, "
              f"spread {scales[signal.name][1]:.4f}")
    loaded.net.config = dataclasses.replace(
        config, embed_centre=round(scales["embedding"][0], 4),
        hog_centre=round(scales["orientation"][0], 4))
    meta = {**loaded.meta, "signal_centres": {
        "icons": len(icons), "queries": len(rows), "top": TOP,
        "spread": {k: round(v[1], 4) for k, v in scales.items()}}}
    name = name or f"{loaded.version.split('@')[0]}-h{hog_cells}"
    version = save_checkpoint(loaded.net, out, name, meta)
    tmp.unlink()
    return version


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--icons", type=Path, required=True, help="folder of non-brand icons")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default=None, help="model name (default: the input's + -h6)")
    p.add_argument("--hog-cells", type=int, default=6)
    p.add_argument("--hog-share", type=float, default=0.5)
    p.add_argument("--embed-weight", type=float, default=0.7,
                   help="evidence of an identical image by the embedding (the descriptor's: 1)")
    p.add_argument("--limit", type=int, default=20000, help="icons read from --icons")
    p.add_argument("--queries", type=int, default=2000)
    args = p.parse_args(argv)
    icons = sorted(args.icons.rglob("*.png"))[: args.limit]
    try:
        version = with_orientation(args.weights, icons, args.out, args.name, args.hog_cells,
                                   args.hog_share, args.embed_weight, args.queries)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
