"""A re-index run in the background of the server, one at a time, with its progress.

The register does the work (``Register.reindex``: searches and writes go on meanwhile and
the new index is swapped in whole); this only gives it a thread and something to poll.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from service.ops.maintenance import ReindexRunning
from service.register import Register


@dataclass
class ReindexStatus:
    status: str = "idle"  # idle | running | done | failed
    done: int = 0
    total: int = 0
    index: str | None = None  # the kind asked for (auto, flat, ivfpq, hnsw)
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReindexJob:
    """Owned by the app (one per process)."""

    def __init__(self, register: Register) -> None:
        self.register = register
        self.state = ReindexStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, index: str | None = None, memory_budget: int | None = None
              ) -> ReindexStatus:
        """Start a re-index; :class:`ReindexRunning` when one already runs."""
        with self._lock:
            if self.state.status == "running":
                raise ReindexRunning("a re-index is already running")
            self.state = ReindexStatus("running", total=self.register.records.count(),
                                       index=index or self.register.settings.index,
                                       started_at=time.time())
            self._thread = threading.Thread(target=self._run, args=(index, memory_budget),
                                            name="reindex", daemon=True)
            self._thread.start()
            return self.state

    def _run(self, index: str | None, memory_budget: int | None) -> None:
        def progress(done: int, total: int) -> None:
            self.state.done, self.state.total = done, total

        try:
            self.register.reindex(progress, index=index, memory_budget=memory_budget)
            self.state.status = "done"
        except Exception as exc:  # noqa: BLE001 - reported through the status
            self.state.status, self.state.error = "failed", str(exc)
        finally:
            self.state.finished_at = time.time()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
