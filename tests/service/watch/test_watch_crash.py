"""Alerts are as durable as the marks: ingests killed with SIGKILL at random points, then
resumed, leave exactly one alert for every acknowledged copy of a watched mark, and the
webhook receives each alert once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from models.embedder import Embedder
from service.marks.metadata import MarkMetadata
from service.register import Register
from service.settings import Settings
from service.watch.store import AlertQuery
from service.watch.watches import WatchSpec
from service.watch.webhook import WebhookSender
from tests.imagegen import write_marks
from tests.service.test_crash import committed_marks
from tests.service.watch.test_watches import PROTECTED, _png, _redrawn
from tests.service.watch.test_webhook import Receiver

COPIES = [f"copy-{n}" for n in range(0, 120, 12)]


def _ingest(data_dir: Path, folder: Path, kill_after: int | None) -> None:
    exe = Path(sys.executable).parent / "tmsearch"
    env = {**os.environ, "TMSEARCH_BATCH_SIZE": "8", "TMSEARCH_INGEST_CHUNK": "8",
           "TMSEARCH_INDEX_SAVE_EVERY": "24"}
    proc = subprocess.Popen([str(exe), "--data-dir", str(data_dir), "--device", "cpu",
                             "ingest", str(folder), "--workers", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    if kill_after is None:
        assert proc.wait(timeout=300) == 0
        return
    deadline = time.time() + 120
    while committed_marks(data_dir / "records.sqlite3") < kill_after:
        assert proc.poll() is None, "ingest finished before it could be killed"
        assert time.time() < deadline
        time.sleep(0.02)
    time.sleep(random.Random(kill_after).uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_ingests_lose_no_alert_and_raise_none_twice(
        settings: Settings, embedder: Embedder, tmp_path: Path) -> None:
    folder = tmp_path / "filings"
    write_marks(folder, range(100, 220))
    for name in COPIES:
        (folder / f"{name}.png").write_bytes(_redrawn(PROTECTED))
    data_dir = tmp_path / "data"
    s = settings.model_copy(update={"data_dir": data_dir, "watch_webhook_url": "http://x"})
    with Register(s, embedder) as register:
        register.add_mark(_png(1), MarkMetadata(id="first"))
        register.watches.add(WatchSpec("ours", "cli", [("ours.png", _png(PROTECTED))]))
    for kill_after in (20, 60, 95):
        _ingest(data_dir, folder, kill_after)
        with Register(s, embedder) as register:
            acknowledged = {r.id for r in register.records.iter_all()}
            alerts, _ = register.watches.store.alerts(AlertQuery(per_page=200))
            alerted = [a.mark_id for a in alerts]
            assert len(alerted) == len(set(alerted))  # never twice
            assert set(alerted) == acknowledged & set(COPIES)  # none lost
    _ingest(data_dir, folder, None)
    receiver = Receiver(failures=0)
    try:
        with Register(s, embedder) as register:
            alerts, total = register.watches.store.alerts(AlertQuery(per_page=200))
            assert sorted(a.mark_id for a in alerts) == sorted(COPIES) and total == 10
            sender = WebhookSender(register.records, receiver.url, backoff_s=0.0)
            assert sender.deliver_due().delivered == 10
            assert sender.deliver_due().delivered == 0
            sender.close()
        keys = [key for _, key in receiver.posts]
        assert len(keys) == len(set(keys)) == 10
    finally:
        receiver.close()
