"""The weights of an unfinished run, in the shipped form, to measure it on the way.

    python -m scripts.training.export_checkpoint models/candidates/variants-ft \
        --icons var/eval-data/distractors --out var/train/variants-ft-5910.pt

A run under ``models/candidates/<run>/`` keeps only its training state (``checkpoint.pt``:
network, optimiser, schedule). This writes the network as a weights file with the
orientation signal and its evidence centres (scripts/training/signal_scales.py), as the
end of ``scripts/train.py`` would, without touching the run: it resumes as before.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from models.checkpoint import save_checkpoint
from models.network import EmbeddingNet, ModelConfig
from scripts.training.signal_scales import with_orientation


def export(run: Path, icons: list[Path], out: Path, name: str, arch: str) -> str:
    """Write ``out`` from ``run/checkpoint.pt``; returns the version."""
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    net = EmbeddingNet(ModelConfig(arch=arch))
    net.load_state_dict(state["net"])
    net.eval()
    bare = out.with_suffix(".bare.pt")
    save_checkpoint(net, bare, name, {"trained": True, "steps_done": state["step"],
                                      "plan": state.get("plan"), "unfinished_run": str(run)})
    try:
        return with_orientation(bare, icons, out, f"{name}-s{state['step']}")
    finally:
        bare.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="the run's --out folder (holds checkpoint.pt)")
    p.add_argument("--icons", type=Path, required=True, help="folder of non-brand icons")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default="tmsearch-candidate")
    p.add_argument("--arch", default=ModelConfig.arch)
    p.add_argument("--limit", type=int, default=20000, help="icons read from --icons")
    args = p.parse_args(argv)
    if not (args.run / "checkpoint.pt").is_file():
        print(f"error: no checkpoint.pt in {args.run}", file=sys.stderr)
        return 2
    icons = sorted(args.icons.rglob("*.png"))[: args.limit]
    try:
        version = export(args.run, icons, args.out, args.name, args.arch)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
