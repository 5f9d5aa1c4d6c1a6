"""A real ingest process killed with SIGKILL mid-batch leaves a consistent register."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from models.embedder import Embedder
from service.register import Register
from service.settings import Settings
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
