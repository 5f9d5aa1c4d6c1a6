"""Weights files: the network's config, a version label and the tensors, in one file.

Loading never downloads anything: the file is in ``models/weights/`` or given by path.
The version of a model is its name plus a digest of its tensors, so two different
trainings never share a version even when they share a name.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.network import EmbeddingNet, ModelConfig

FORMAT = "tmsearch-embedder/1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "weights" / "tmsearch-embedder.pt"


class CheckpointError(RuntimeError):
    """A weights file that is missing, unreadable or of another format."""


@dataclass(frozen=True)
class LoadedModel:
    net: EmbeddingNet
    config: ModelConfig
    version: str
    meta: dict[str, Any]


def _digest(state_dict: dict[str, torch.Tensor], config: ModelConfig) -> str:
    """Of the tensors and the config: the same network with another vector layout or
    evidence scale (models/signals.py) ranks differently, so it is another version."""
    sha = hashlib.sha256()
    sha.update(json.dumps(config.to_dict(), sort_keys=True).encode())
    for key in sorted(state_dict):
        sha.update(key.encode())
        sha.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return sha.hexdigest()[:12]


def save_checkpoint(
    net: EmbeddingNet, path: Path, name: str, meta: dict[str, Any] | None = None
) -> str:
    """Write ``net`` as float16 tensors (small enough to ship); returns the version."""
    state = {k: v.detach().cpu().to(torch.float16) if v.is_floating_point() else v.cpu()
             for k, v in net.state_dict().items()}
    version = f"{name}@{_digest(state, net.config)}"
    payload = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "config": net.config.to_dict(),
        "meta": meta or {},
        "state_dict": state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(payload, buf)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return version


def load_checkpoint(path: Path | None = None) -> LoadedModel:
    """Rebuild the network stored in ``path`` (default: the shipped weights)."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"model weights not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
        raise CheckpointError(f"cannot read model weights {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} weights file")
    config = ModelConfig.from_dict(payload["config"])
    net = EmbeddingNet(config)
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    net.load_state_dict(state)
    net.eval()
    return LoadedModel(net, config, str(payload["version"]), dict(payload.get("meta", {})))
