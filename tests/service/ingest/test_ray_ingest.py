"""Distributed ingest on a real local Ray cluster (two worker CPUs, started here): the
same register as the single-process path, record for record and vector for vector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from models.embedder import Embedder
from service.cli import app
from service.register import Register
from service.settings import Settings
from service.watch.store import AlertQuery
from service.watch.watches import WatchSpec
from tests.imagegen import make_mark, to_bytes, write_marks

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster with two worker CPUs; a missing or broken Ray fails the run.
    A node that times out starting (Ray waits 30 s for its raylet, which a loaded 2-core
    machine has missed once) gets one more try."""
    import ray

    for attempt in (1, 2):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception on a timeout
            ray.shutdown()
            if attempt == 2 or "timed out during startup" not in str(exc):
                raise
    assert ray.cluster_resources()["CPU"] == 2
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray") / "in"
    write_marks(root, range(36))
    write_marks(root, range(36, 42), fmt="JPEG", subdir="jpeg")
    (root / "broken.png").write_bytes(to_bytes(make_mark(1))[:50])
    return root


def _register_of(settings: Settings, embedder: Embedder, folder: Path, **changes: object
                 ) -> tuple[dict[str, tuple[str, int]], dict[str, np.ndarray], object]:
    with Register(settings.model_copy(update=changes), embedder) as register:
        # a watch of one of the folder's marks: the Ray path raises its alert too
        register.watches.add(WatchSpec("watched", "cli", [("w.png", (folder / "mark-5.png")
                                                                     .read_bytes())]))
        summary = register.ingest_folder(folder)
        summary.alerts = sorted(  # type: ignore[attr-defined]
            (a.mark_id, round(a.score, 4)) for a in register.watches.store.alerts(
                AlertQuery())[0])
        records = {r.id: (r.content_hash, len(r.components)) for r in register.records.iter_all()}
        vectors = {r.id: np.stack([register.store.reconstruct(v) for v in r.all_vector_ids()])
                   for r in register.records.iter_all()}
    return records, vectors, summary


def test_ray_ingest_gives_the_same_register_as_one_process(
    ray_cluster: None, settings: Settings, embedder: Embedder, folder: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from service.ingest.ray_executor import RayExecutor

    submitted: list[int] = []
    real_submit = RayExecutor.submit

    def counting_submit(self, fn, /, *args, **kwargs):  # noqa: ANN001, ANN202
        submitted.append(len(args[0]))
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(RayExecutor, "submit", counting_submit)
    local, local_vectors, local_summary = _register_of(
        settings, embedder, folder, data_dir=tmp_path / "local", workers=0)
    distributed, ray_vectors, ray_summary = _register_of(
        settings, embedder, folder, data_dir=tmp_path / "ray", ray="auto")
    assert sum(submitted) == 43 and len(submitted) >= 3  # every file went to the cluster
    assert (ray_summary.added, ray_summary.failed) == (local_summary.added,
                                                        local_summary.failed) == (42, 1)
    assert distributed == local
    assert ray_summary.alerts == local_summary.alerts  # type: ignore[attr-defined]
    assert ("mark-5", 1.0) in ray_summary.alerts  # type: ignore[attr-defined]
    for mark_id, vectors in local_vectors.items():
        assert np.allclose(ray_vectors[mark_id], vectors, atol=1e-5), mark_id


def test_cli_ingest_with_ray_auto_joins_the_running_cluster(
    ray_cluster: None, embedder: Embedder, folder: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ray

    monkeypatch.setattr("service.register.Embedder", lambda *a, **k: embedder)
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "--device", "cpu",
                                      "ingest", str(folder), "--ray", "auto"])
    assert result.exit_code == 1, result.output  # the broken file fails, the rest lands
    assert "added 42, updated 0, skipped 0, failed 1" in result.output
    assert ray.is_initialized()  # the test's cluster was joined, not shut down
    with Register(Settings(data_dir=tmp_path / "d", device="cpu", workers=0), embedder) as reg:
        top = reg.search(to_bytes(make_mark(7)), 1)[0]
        assert top.record.id == "mark-7"
