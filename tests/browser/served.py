"""What the browser tests run against: a small generated register ingested with the CLI,
served by a real ``tmsearch serve``, and Debian's Chromium driven by playwright."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.imagegen import make_mark, to_bytes
from tests.service.server_process import served

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
TMSEARCH = Path(sys.executable).parent / "tmsearch"
HOST = "127.0.0.1"
SEEDS = range(30)
NICE_CLASSES = [[9], [25, 35], [9, 42], [30]]
STATUSES = ["filed", "published", "registered", "expired", "refused"]
OWNERS = ["Acme Ltd", "Globex GmbH", "Initech SA"]


def mark_id(seed: int) -> str:
    # some registers' ids hold a slash: every third one here, to exercise the URLs
    return f"EU/{seed:06d}" if seed % 3 == 0 else f"TM-{seed:06d}"


def metadata(seed: int) -> dict[str, object]:
    return {
        "file": f"mark-{seed}.png", "id": mark_id(seed), "name": f"Mark {seed}",
        "owner": OWNERS[seed % len(OWNERS)], "nice_classes": NICE_CLASSES[seed % 4],
        "status": STATUSES[seed % len(STATUSES)],
        "filing_date": f"{2010 + seed % 12}-{1 + seed % 9:02d}-15",
    }


@dataclass(frozen=True)
class Server:
    base: str
    images: Path  # the register's source images, "mark-<seed>.png"
    keys: dict[str, str]  # an API key per role, made with `tmsearch keys create`

    def image(self, seed: int) -> Path:
        return self.images / f"mark-{seed}.png"


def write_register(folder: Path) -> Path:
    """Mark images and their metadata (JSON lines); returns the metadata file."""
    folder.mkdir(parents=True)
    for seed in SEEDS:
        (folder / f"mark-{seed}.png").write_bytes(to_bytes(make_mark(seed)))
    meta = folder.parent / "metadata.jsonl"
    meta.write_text("".join(json.dumps(metadata(seed)) + "\n" for seed in SEEDS))
    return meta


def clean_env() -> dict[str, str]:
    # the developer's own TMSEARCH_* settings must not leak into the test server
    return {k: v for k, v in os.environ.items() if not k.startswith("TMSEARCH_")}


def ingest(data_dir: Path, folder: Path, meta: Path) -> None:
    done = subprocess.run(
        [str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu", "ingest", str(folder),
         "--metadata", str(meta), "--workers", "0"],
        capture_output=True, text=True, env=clean_env(), timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"tmsearch ingest failed ({done.returncode}):\n{done.stderr}")


def make_key(data_dir: Path, role: str) -> str:
    done = subprocess.run(
        [str(TMSEARCH), "--data-dir", str(data_dir), "keys", "create", "--role", role,
         "--name", f"browser tests ({role})"],
        capture_output=True, text=True, env=clean_env(), timeout=60)
    if done.returncode != 0:
        pytest.fail(f"tmsearch keys create failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def serving(root: Path) -> Iterator[Server]:
    """Ingest the generated register into ``root/data`` and serve it until the block ends."""
    folder, data_dir = root / "marks", root / "data"
    ingest(data_dir, folder, write_register(folder))
    keys = {role: make_key(data_dir, role) for role in ("examiner", "admin")}
    with served(data_dir, root / "serve.log", clean_env()) as (_, base):
        yield Server(base=base, images=folder, keys=keys)


@contextmanager
def chromium() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (run scripts/browser_deps.sh as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (run scripts/browser_deps.sh)"
    if not TMSEARCH.is_file():
        return "the tmsearch console script is not installed"
    return None
