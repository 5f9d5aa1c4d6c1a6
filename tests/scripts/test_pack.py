"""The training pack for a GPU machine, and the device script that trains from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from models.checkpoint import load_checkpoint
from scripts.training.pack import PACK_FILE, pack

ROOT = Path(__file__).resolve().parents[2]


def test_the_pack_holds_variants_first_and_keeps_to_its_budget(manifest: Path,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "pack"
    whole = pack(manifest, out, side=48, max_mb=50)
    assert whole["images"] == 18 + 90 + 4
    with tarfile.open(out / PACK_FILE) as tar:
        rows = [json.loads(line) for line in tar.extractfile("manifest.jsonl")]
        assert all(tar.getmember(r["path"]).size > 0 for r in rows)
    assert [r["set"] for r in rows[:18]] == ["ph"] * 18  # the variant groups come first
    designs = [r["icon"].split("-")[0] for r in rows[:18]]
    assert all(len(set(designs[n:n + 3])) == 1 for n in range(0, 18, 3))  # whole groups
    small = pack(manifest, tmp_path / "small", side=48, max_mb=0.03)
    assert 0 < small["images"] < 18 and small["megabytes"] <= 0.05


def test_the_device_script_trains_from_a_pack(manifest: Path,
                                              tmp_path: Path) -> None:
    pack(manifest, tmp_path / "pack", side=64)
    env = {**os.environ, "TMSEARCH_SCHEDULE": "smoke", "PYTHON": sys.executable}
    done = subprocess.run(["sh", "scripts/train_device.sh", str(tmp_path / "pack"),
                           str(tmp_path / "out"), "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "design-variant groups" in done.stdout
    weights = tmp_path / "out" / "tmsearch-embedder.pt"
    assert load_checkpoint(weights).meta["steps_done"] == 3
    assert (tmp_path / "out" / "run" / "checkpoint.pt").is_file()
    missing = subprocess.run(["sh", "scripts/train_device.sh", str(tmp_path / "nothing"),
                              str(tmp_path / "o2")], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "pack.tar not found" in missing.stderr
