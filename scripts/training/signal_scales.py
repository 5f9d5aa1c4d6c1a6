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

    loaded = load_checkpoint(args.weights)
    config = dataclasses.replace(loaded.config, input_mode="ink+grey",
                                 hog_cells=args.hog_cells, hog_share=args.hog_share,
                                 embed_weight=args.embed_weight)
    loaded.net.config = config
    paths = sorted(args.icons.rglob("*.png"))[: args.limit]
    if len(paths) <= TOP:
        raise SystemExit(f"{args.icons}: need more than {TOP} icons, found {len(paths)}")
    tmp = args.out.with_suffix(".unscaled.pt")
    save_checkpoint(loaded.net, tmp, "unscaled")
    embedder = Embedder(tmp, device="cpu", batch_size=128)
    prepared = [embedder.prepare(Image.open(path).convert("RGB"))
                for path in tqdm(paths, desc="icons", unit="icon")]
    stored = embedder.embed_prepared(np.stack(prepared))
    layout = VectorLayout.of(config)
    queries = np.random.default_rng(0).choice(len(paths), min(args.queries, len(paths)),
                                              replace=False)
    scales = {}
    for signal in layout.signals:
        part = signal.query(stored)[:, signal.start:signal.stop]
        scales[signal.name] = top_stats(part.astype(np.float32), queries)
        print(f"{signal.name}: centre {scales[signal.name][0]:.4f}, "
              f"spread {scales[signal.name][1]:.4f}")
    config = dataclasses.replace(config, embed_centre=round(scales["embedding"][0], 4),
                                 hog_centre=round(scales["orientation"][0], 4))
    loaded.net.config = config
    name = args.name or f"{loaded.version.split('@')[0]}-h{args.hog_cells}"
    meta = {**loaded.meta, "signal_centres": {
        "icons": str(args.icons), "count": len(paths), "queries": len(queries), "top": TOP,
        "spread": {k: round(v[1], 4) for k, v in scales.items()}}}
    version = save_checkpoint(loaded.net, args.out, name, meta)
    tmp.unlink()
    print(f"wrote {args.out}: {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
