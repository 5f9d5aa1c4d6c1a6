"""Who may use a data dir at once: any number of registers, or one repair or restore.

Every open register (a server, an ingest, a search) holds a shared ``flock`` on
``<data dir>/.lock``; ``repair`` and ``restore`` need it exclusive, because they delete
files that a running writer may be about to name in a record. The lock is released by
the kernel when the process ends, however it ends: a killed ingest never leaves the data
dir locked. A forked child (an ingest's worker processes) closes its copy of the lock's
file at once, so a worker that outlives its parent can never hold the data dir. On
systems without ``fcntl`` the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"
_open_lock_fds: set[int] = set()  # this process's lock files, closed in forked children


def _close_inherited_locks() -> None:
    for fd in list(_open_lock_fds):
        with contextlib.suppress(OSError):
            os.close(fd)  # the parent's lock stays: flock belongs to the parent's copy
    _open_lock_fds.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


class DataDirBusy(RuntimeError):
    """Another process uses the data dir (or is repairing or restoring it)."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        _open_lock_fds.add(self._fd)
        self.data_dir = data_dir

    def shared(self) -> None:
        self._take(False, "it is being repaired or restored")

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        """Hold the data dir alone for ``what`` (then back to shared)."""
        self._take(True, "a server, an ingest or another command uses it: stop it before "
                         f"the {what}")
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_SH)

    def _take(self, exclusive: bool, why: str) -> None:
        if fcntl is None:
            return
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(self._fd, mode | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataDirBusy(f"the data dir {self.data_dir} is busy: {why}") from exc

    def close(self) -> None:
        _open_lock_fds.discard(self._fd)
        os.close(self._fd)  # releases the lock
