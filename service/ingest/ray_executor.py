"""Distributed ingest on a Ray cluster, behind the ``concurrent.futures`` interface.

The ingest pipeline (``service.marks.pipeline.map_in_chunks``) hands tasks of 16 files to an
executor; with ``--ray`` that executor is a Ray cluster instead of local worker
processes. Each task runs ``prepare_files`` on a node (decode, components, OCR,
thumbnail and, on the node's CPU, the embedding, one thread a task), and its result
comes back as a ``concurrent.futures.Future``, so the register writes chunks exactly as
with local workers: the same records, the same vectors, the same write order.

The files are read by the nodes, so the ingested folder must be readable at the same path
on every node (a shared file system), as must a ``--model-path`` other than the shipped
weights (which every node's installed package holds).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


class RayExecutor(Executor):
    """Runs functions as Ray tasks: ``address`` "auto" joins the cluster Ray finds
    (``RAY_ADDRESS``, or one started on this machine) or starts a local one; anything
    else is a cluster address (``ray://head:10001``, ``10.0.0.5:6379``)."""

    def __init__(self, address: str = "auto", cpus_per_task: float = 1.0,
                 local_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:  # an optional extra: pip install 'tmsearch[ray]'
            raise RuntimeError("--ray needs the ray package: pip install 'tmsearch[ray]'"
                               ) from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address != "auto":
                kwargs["address"] = address
            elif local_cpus is not None:
                kwargs["num_cpus"] = local_cpus
            ray.init(**kwargs)
        self._cpus = cpus_per_task
        self._remote: dict[Callable[..., Any], Any] = {}

    @property
    def cluster_cpus(self) -> float:
        return float(self._ray.cluster_resources().get("CPU", 0.0))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = self._ray.remote(num_cpus=self._cpus)(fn)
        return remote.remote(*args, **kwargs).future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
