"""SVG rendering in child processes with a time and a memory limit.

The renderer (resvg, native code) is given only files that passed the static checks of
``service.marks.svg_check``, but a renderer can still crash (deep nesting overflowed its
stack), stall or allocate gigabytes on input nobody thought of. So it never runs in the
process that serves requests or ingests a batch: a small pool of long-lived workers
(``python -m service.marks.svg_worker``) renders, each under an address-space limit, and
a render that outlives its time is killed. A crash or a stall becomes an ``ImageError``
for that one file; the worker is replaced on the next render.

Workers read requests on their stdin and exit when it closes or when their parent dies
(``PR_SET_PDEATHSIG``), so a killed server or ingest leaves no renderer behind.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from service.marks.image_errors import ImageError, ImageTooLarge

_FRAME = struct.Struct(">cQ")  # status (b"K" ok, b"E" error), payload length


@dataclass(frozen=True)
class RenderLimits:
    """What one SVG render may take."""

    timeout_s: float = 5.0  # an ordinary mark renders in tens of milliseconds
    memory_mb: int = 1024  # the worker's whole address space
    workers: int = 2  # renders at once in one process (the rest wait their turn)


class _Worker:
    """One renderer child process and its pipes."""

    def __init__(self, limits: RenderLimits) -> None:
        env = {**os.environ, "TMSEARCH_SVG_MEMORY_MB": str(limits.memory_mb)}
        self.proc = subprocess.Popen(  # noqa: S603 - our own module, no shell
            [sys.executable, "-m", "service.marks.svg_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def render(self, svg: str, width: int | None, height: int | None, timeout_s: float
               ) -> bytes:
        """PNG bytes; ImageError for what the renderer refused; _Gone when the worker
        died or ran out of time (it is killed: the caller drops it)."""
        body = svg.encode("utf-8")
        head = json.dumps({"width": width, "height": height}).encode()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(struct.pack(">II", len(head), len(body)) + head + body)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _Gone("the SVG renderer stopped") from exc
        deadline = time.monotonic() + timeout_s
        status, length = _FRAME.unpack(self._read(_FRAME.size, deadline))
        payload = self._read(length, deadline)
        if status == b"E":
            raise ImageError(f"SVG could not be rendered: {payload.decode(errors='replace')}")
        return payload

    def _read(self, size: int, deadline: float) -> bytes:
        out = bytearray()
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while len(out) < size:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.kill()
                    raise _Gone("timeout")
                chunk = os.read(fd, min(size - len(out), 1 << 20))
                if not chunk:
                    self.kill()
                    raise _Gone("crashed")
                out += chunk
        return bytes(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def close(self) -> None:
        """Ask the worker to exit (its stdin closes), then make sure it did."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class _Gone(RuntimeError):
    """The worker crashed or was killed for running out of time."""


class SvgRenderer:
    """A pool of renderer workers for one process, started on the first SVG."""

    def __init__(self, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, self.limits.workers))
        self._pid = os.getpid()

    def render(self, svg: str, width: int | None = None, height: int | None = None) -> bytes:
        """PNG bytes of ``svg`` at ``width`` or ``height`` pixels (the other follows the
        drawing's aspect); ImageError if it fails, takes too long or needs too much
        memory."""
        with self._slots:
            worker = self._take()
            try:
                png = worker.render(svg, width, height, self.limits.timeout_s)
            except _Gone as exc:
                if str(exc) == "timeout":
                    raise ImageError(f"SVG took longer than {self.limits.timeout_s:g} s to "
                                     "render; simplify the drawing or send a PNG") from None
                raise ImageTooLarge("SVG could not be rendered within the renderer's "
                                    f"{self.limits.memory_mb} MB (it crashed or needed "
                                    "more); simplify the drawing or send a PNG") from None
            except ImageError:
                self._give(worker)
                raise
            self._give(worker)
            return png

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(self.limits)

    def _give(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def close(self) -> None:
        """Stop the idle workers (a render in flight finishes first)."""
        with self._lock:
            idle, self._idle = self._idle, []
        if os.getpid() == self._pid:  # a forked child does not own its parent's workers
            for worker in idle:
                worker.close()


_renderers: dict[tuple[int, RenderLimits], SvgRenderer] = {}
_renderers_lock = threading.Lock()


def process_renderer(limits: RenderLimits | None = None) -> SvgRenderer:
    """This process's renderer pool for ``limits`` (a forked child gets its own: pipes
    to the parent's workers are not shared)."""
    key = (os.getpid(), limits or RenderLimits())
    with _renderers_lock:
        renderer = _renderers.get(key)
        if renderer is None:
            renderer = _renderers[key] = SvgRenderer(key[1])
        return renderer


@atexit.register
def _close_renderers() -> None:
    for (pid, _), renderer in list(_renderers.items()):
        if pid == os.getpid():
            renderer.close()
