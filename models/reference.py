"""A fixed reference image and its recorded embedding, shipped beside the weights.

The test suite embeds this image with the shipped weights and compares with the vector
recorded when the weights were written: any change to preprocessing, the network code or
the weights file that would silently alter every stored vector fails the tests instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from models.checkpoint import DEFAULT_WEIGHTS


def reference_path(weights: Path = DEFAULT_WEIGHTS) -> Path:
    return weights.with_name(weights.stem + ".reference.json")


def reference_image() -> Image.Image:
    """A composite mark drawn with integer coordinates only (identical everywhere)."""
    image = Image.new("RGB", (200, 160), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.ellipse([20, 20, 120, 120], fill=(200, 30, 40))
    draw.rectangle([60, 60, 170, 100], fill=(20, 40, 160))
    draw.polygon([(140, 20), (180, 60), (130, 70)], fill=(30, 140, 60))
    draw.line([(20, 140), (180, 140)], fill=(0, 0, 0), width=6)
    return image


def record_reference(embedder: object, weights: Path = DEFAULT_WEIGHTS) -> Path:
    """Write the reference embedding for ``embedder`` (an Embedder) beside ``weights``."""
    vector = embedder.embed_images([reference_image()])[0]  # type: ignore[attr-defined]
    path = reference_path(weights)
    path.write_text(json.dumps({
        "model_version": embedder.version,  # type: ignore[attr-defined]
        "vector": [round(float(v), 6) for v in vector],
    }, indent=0))
    return path


def load_reference(weights: Path = DEFAULT_WEIGHTS) -> tuple[str, np.ndarray]:
    data = json.loads(reference_path(weights).read_text())
    return data["model_version"], np.asarray(data["vector"], dtype=np.float32)
