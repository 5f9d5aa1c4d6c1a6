"""Writes by one process are seen by every other, with real processes: a mark ingested or
removed with the CLI while ``tmsearch serve`` runs is found (or gone) by image search
within seconds; two ingests at once keep both folders; a killed ingest leaves no worker
behind to hold the data dir."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.imagegen import make_mark, to_bytes, write_marks
from tests.service.server_process import TMSEARCH, clean_env, served

pytestmark = pytest.mark.skipif(not TMSEARCH.is_file(), reason="console script not installed")


def follow_fast() -> dict[str, str]:
    return clean_env(follow_interval_s="0.5")


def tmsearch(data_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu", *args],
                          capture_output=True, text=True, env=follow_fast(), timeout=timeout)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    data_dir = tmp_path / "data"
    write_marks(tmp_path / "first", range(4))
    assert tmsearch(data_dir, "ingest", str(tmp_path / "first")).returncode == 0
    with served(data_dir, tmp_path / "serve.log", follow_fast()) as (_, base):
        yield data_dir, base


def top_id(base: str, seed: int) -> str | None:
    response = httpx.post(f"{base}/v1/search", timeout=30, data={"k": "1"},
                          files={"image": ("q.png", to_bytes(make_mark(seed)), "image/png")})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    return results[0]["id"] if results else None


def eventually(check: Callable[[], bool], within: float = 10.0) -> float:
    """Seconds until ``check`` holds (fails the test past ``within``)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"not seen within {within} s")
        time.sleep(0.2)
    return time.monotonic() - started


def test_cli_writes_reach_a_running_server_in_seconds(server: tuple[Path, str],
                                                      tmp_path: Path) -> None:
    data_dir, base = server
    write_marks(tmp_path / "more", [40, 41])
    assert top_id(base, 40) != "mark-40"
    ingest = tmsearch(data_dir, "ingest", str(tmp_path / "more"))
    assert ingest.returncode == 0, ingest.stderr
    eventually(lambda: top_id(base, 40) == "mark-40" and top_id(base, 41) == "mark-41")
    removed = tmsearch(data_dir, "remove", "mark-40")
    assert removed.returncode == 0, removed.stderr
    eventually(lambda: top_id(base, 40) != "mark-40")
    assert httpx.get(f"{base}/v1/marks/mark-40").status_code == 404
    assert httpx.get(f"{base}/healthz").json()["marks"] == 5


def test_two_ingests_at_once_keep_both_folders(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_marks(tmp_path / "a", range(0, 40))
    write_marks(tmp_path / "b", range(100, 140))
    assert tmsearch(data_dir, "stats").returncode == 0  # the data dir exists before both
    runs = [subprocess.Popen([str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu",
                              "ingest", str(tmp_path / folder)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=clean_env(follow_interval_s="0.5", index_save_every="8"))
            for folder in ("a", "b")]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    check = tmsearch(data_dir, "check", "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["ok"] and report["marks"] == 80
    assert report["vectors_indexed"] == report["vectors_expected"]


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_ingest_leaves_no_worker_and_no_busy_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_marks(tmp_path / "many", range(400))
    proc = subprocess.Popen([str(TMSEARCH), "--data-dir", str(data_dir), "--device", "cpu",
                             "ingest", str(tmp_path / "many"), "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=follow_fast())
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = {c for c in _children(proc.pid) if _alive(c)}
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the ingest finished before its workers could be seen")
    assert len(workers) >= 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    eventually(lambda: not any(_alive(w) for w in workers), within=5)
    repair = tmsearch(data_dir, "repair")
    assert repair.returncode == 0, repair.stdout + repair.stderr  # "busy" before
    assert json.loads(tmsearch(data_dir, "check", "--json").stdout)["ok"]
