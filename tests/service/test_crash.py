"""A real ingest process killed with SIGKILL mid-batch leaves a consistent register."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from models.embedder import Embedder
from service.ops.consistency import check
from service.register import Register
from service.settings import Settings
from service.storage.layout import DataDir
from tests.imagegen import write_marks


def committed_marks(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM marks").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigkill_during_ingest_then_reopen_and_resume(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    paths = write_marks(tmp_path / "in", range(150))
    data_dir = tmp_path / "data"
    exe = Path(sys.executable).parent / "tmsearch"
    env = {**os.environ, "TMSEARCH_INDEX_SAVE_EVERY": "40", "TMSEARCH_BATCH_SIZE": "16",
           "TMSEARCH_INGEST_CHUNK": "8"}
    proc = subprocess.Popen(
        [str(exe), "--data-dir", str(data_dir), "--device", "cpu", "ingest", str(tmp_path / "in"),
         "--workers", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    db = data_dir / "records.sqlite3"
    deadline = time.time() + 120
    while committed_marks(db) < 30:
        assert proc.poll() is None, "ingest finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    acknowledged = committed_marks(db)
    assert 0 < acknowledged < 150

    s = settings.model_copy(update={"data_dir": data_dir})
    with Register(s, embedder) as reg:  # reconcile runs on open
        assert reg.records.count() >= acknowledged  # nothing acknowledged was lost
        assert set(reg.store.ids().tolist()) == set(reg.records.vector_ids())
        for record in list(reg.records.iter_all())[:5]:
            assert reg.search(reg.images.read(record.image_key, record.media_type), 1
                              )[0].record.id == record.id
        summary = reg.ingest_folder(tmp_path / "in")  # the next run resumes
        assert summary.failed == 0
        assert summary.skipped >= acknowledged
        assert reg.records.count() == 150
        assert len(reg.store) == len(reg.records.vector_ids())
    assert len(paths) == 150


def _tmsearch(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).parent / "tmsearch"
    env = {**os.environ, "TMSEARCH_INDEX_SAVE_EVERY": "16", "TMSEARCH_BATCH_SIZE": "16",
           "TMSEARCH_INGEST_CHUNK": "8", "TMSEARCH_WORKERS": "0"}
    return subprocess.Popen([str(exe), "--data-dir", str(data_dir), "--device", "cpu", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)


def _acknowledged(proc: subprocess.Popen[str], into: set[str], after: int = 0,
                  reached: threading.Event | None = None) -> threading.Thread:
    """Collect the ids the ingest reported as written (its --jsonl lines); set
    ``reached`` once ``after`` new ones came in this run."""
    def read() -> None:
        assert proc.stdout is not None
        seen = 0
        for line in proc.stdout:
            event = json.loads(line)
            if event["outcome"] in ("added", "updated", "skipped"):
                into.add(event["id"])
                seen += event["outcome"] != "skipped"
                if reached is not None and seen >= after:
                    reached.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _consistent_after_reopen(settings: Settings, embedder: Embedder, data_dir: Path,
                             must_hold: set[str]) -> int:
    with Register(settings.model_copy(update={"data_dir": data_dir}), embedder) as reg:
        ids = {r.id for r in reg.records.iter_all()}
        assert must_hold <= ids, f"acknowledged marks lost: {sorted(must_hold - ids)[:5]}"
        assert set(reg.store.ids().tolist()) == set(reg.records.vector_ids())
        reg.repair()  # leftovers of the kill: orphan images, temp files
        count = reg.records.count()
    report = check(DataDir(data_dir))
    assert report.ok, report.to_dict()
    return count


def test_random_sigkills_during_ingest_and_reindex_lose_nothing_acknowledged(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    """Ingests of 160 marks killed at random moments (seeded): once during start-up,
    then each after a random number of newly written marks, mid-batch; after every kill
    each acknowledged mark must be there and the stores must agree. Then re-indexes
    killed at random fractions of a full re-index's time."""
    write_marks(tmp_path / "in", range(160))
    data_dir = tmp_path / "data"
    rng = random.Random(7)
    acknowledged: set[str] = set()
    written_before = 0
    for round_ in range(4):
        reached = threading.Event()
        proc = _tmsearch(data_dir, "ingest", str(tmp_path / "in"), "--jsonl")
        reader = _acknowledged(proc, acknowledged, rng.randint(1, 20), reached)
        if round_ == 0:
            time.sleep(rng.uniform(0.2, 2.0))  # start-up: nothing written yet
        else:
            assert reached.wait(timeout=120), "the ingest wrote nothing"
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside the next chunk
        assert proc.poll() is None, "the ingest ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join(timeout=10)
        count = _consistent_after_reopen(settings, embedder, data_dir, acknowledged)
        assert count >= written_before  # what one run wrote, the next keeps
        written_before = count
    assert 0 < len(acknowledged) < 160
    proc = _tmsearch(data_dir, "ingest", str(tmp_path / "in"), "--jsonl")
    reader = _acknowledged(proc, acknowledged)
    assert proc.wait(timeout=300) == 0
    reader.join(timeout=10)
    assert len(acknowledged) == 160
    assert _consistent_after_reopen(settings, embedder, data_dir, acknowledged) == 160

    started = time.perf_counter()
    assert _tmsearch(data_dir, "reindex").wait(timeout=300) == 0
    full = time.perf_counter() - started
    kills = 0
    for _ in range(3):
        proc = _tmsearch(data_dir, "reindex")
        time.sleep(rng.uniform(0.3, 0.95) * full)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        assert _consistent_after_reopen(settings, embedder, data_dir, acknowledged) == 160
    assert kills >= 2
    with Register(settings.model_copy(update={"data_dir": data_dir}), embedder) as reg:
        record = reg.get("mark-17")
        data = reg.images.read(record.image_key, record.media_type)
        assert reg.search(data, 1)[0].record.id == "mark-17"
