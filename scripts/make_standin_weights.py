"""Write the stand-in model: a seeded random-initialised network, BatchNorm calibrated.

Until the trained model lands (see models/MODEL_CARD.md), this is the shipped model. A
random CNN is a crude but honest image hash; calibrating BatchNorm statistics on
generated shapes keeps its activations from collapsing, so distinct marks get distinct
vectors. Deterministic: the same seed gives the same file and the same version.

    python -m scripts.make_standin_weights [--out models/weights/tmsearch-embedder.pt]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from models.checkpoint import DEFAULT_WEIGHTS, save_checkpoint
from models.embedder import Embedder
from models.network import EmbeddingNet, ModelConfig
from models.preprocess import prepare
from models.reference import record_reference


def random_shape_image(rng: random.Random, size: int = 160) -> Image.Image:
    """A few random filled or outlined shapes in random colours on a plain ground."""
    ground = tuple(rng.randrange(256) for _ in range(3)) if rng.random() < 0.3 else (255,) * 3
    image = Image.new("RGB", (size, size), ground)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(1, 4)):
        box = sorted(rng.sample(range(size), 2))
        boy = sorted(rng.sample(range(size), 2))
        colour = tuple(rng.randrange(256) for _ in range(3))
        width = rng.randint(1, 8)
        kind = rng.choice(["ellipse", "rectangle", "polygon", "line"])
        if kind == "polygon":
            points = [(rng.randrange(size), rng.randrange(size)) for _ in range(rng.randint(3, 7))]
            draw.polygon(points, fill=colour if rng.random() < 0.6 else None, outline=colour)
        elif kind == "line":
            draw.line([(box[0], boy[0]), (box[1], boy[1])], fill=colour, width=width)
        else:
            fill = colour if rng.random() < 0.6 else None
            getattr(draw, kind)([box[0], boy[0], box[1], boy[1]], fill=fill, outline=colour,
                                width=width)
    return image


def build(seed: int, calibration_images: int) -> EmbeddingNet:
    torch.manual_seed(seed)
    config = ModelConfig()
    net = EmbeddingNet(config)
    rng = random.Random(seed)
    batch = np.stack([
        prepare(random_shape_image(rng), config.input_size, config.input_mode)
        for _ in range(calibration_images)
    ])
    x = torch.from_numpy(batch).float().div(127.5).sub(1.0)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration pass
    net.train()
    with torch.no_grad():
        for chunk in x.split(64):
            net(chunk)
        net.eval()
        # Centre the projection: random features share a large common component that
        # would make every pair of marks look alike; removing the mean spreads them out.
        projected = torch.cat([net.proj(net.pool(net.trunk(c))) for c in x.split(64)])
        net.proj.bias -= projected.mean(dim=0)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration-images", type=int, default=512)
    args = parser.parse_args()
    net = build(args.seed, args.calibration_images)
    version = save_checkpoint(
        net,
        args.out,
        name="standin-random-mnv3s",
        meta={
            "kind": "stand-in: seeded random initialisation, BatchNorm calibrated",
            "seed": args.seed,
            "trained": False,
        },
    )
    record_reference(Embedder(args.out, device="cpu"), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB), version {version}")


if __name__ == "__main__":
    main()
