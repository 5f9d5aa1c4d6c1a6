"""The SVG renderer runs in worker processes: a crash, a stall or a memory blow-up of the
renderer is an ImageError for that one file, the next render works, and no worker
outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from service.marks.image_errors import ImageError, ImageTooLarge
from service.marks.svg_render import RenderLimits, SvgRenderer

NS = 'xmlns="http://www.w3.org/2000/svg"'
DISC = f'<svg {NS} viewBox="0 0 100 100"><circle cx="50" cy="50" r="40"/></svg>'


@pytest.fixture
def renderer() -> SvgRenderer:
    made = SvgRenderer(RenderLimits(timeout_s=2.0, memory_mb=512, workers=1))
    yield made
    made.close()


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_renders_at_the_asked_side(renderer: SvgRenderer) -> None:
    assert _png_size(renderer.render(DISC, 300, None)) == (300, 300)
    assert _png_size(renderer.render(DISC, None, 120)) == (120, 120)


def test_a_renderer_crash_costs_one_file(renderer: SvgRenderer) -> None:
    deep = (f'<svg {NS} viewBox="0 0 100 100">' + "<g>" * 300 + '<rect width="5" height="5"/>'
            + "</g>" * 300 + "</svg>")  # resvg overflows its stack: the worker dies
    with pytest.raises(ImageTooLarge, match="could not be rendered"):
        renderer.render(deep, 256, None)
    assert _png_size(renderer.render(DISC, 64, None)) == (64, 64)


def test_a_render_past_its_memory_is_refused(renderer: SvgRenderer) -> None:
    thin = f'<svg {NS} viewBox="0 0 1 10000000"><rect width="1" height="50"/></svg>'
    with pytest.raises(ImageError):  # 1 x 10,000,000 px asked: over 512 MB
        renderer.render(thin, 1, None)
    assert _png_size(renderer.render(DISC, 64, None)) == (64, 64)


def test_a_render_past_its_time_is_killed() -> None:
    slow = SvgRenderer(RenderLimits(timeout_s=0.5, memory_mb=512, workers=1))
    blur = (f'<svg {NS} viewBox="0 0 100 100"><filter id="b"><feGaussianBlur '
            'stdDeviation="30"/></filter>'
            + "".join(f'<circle cx="{i}" cy="50" r="20" filter="url(#b)"/>' for i in range(80))
            + "</svg>")  # several seconds of work
    started = time.perf_counter()
    try:
        with pytest.raises(ImageError, match="longer than 0.5 s"):
            slow.render(blur, 2048, None)
        assert time.perf_counter() - started < 3.0
        assert _png_size(slow.render(DISC, 64, None)) == (64, 64)
    finally:
        slow.close()


def test_the_renderers_own_error_is_told_back(renderer: SvgRenderer) -> None:
    with pytest.raises(ImageError, match="could not be rendered"):
        renderer.render(f'<svg {NS} width="3cm" height="0"/>', 64, None)
    assert _png_size(renderer.render(DISC, 64, None)) == (64, 64)


def test_workers_die_with_their_parent() -> None:
    script = (
        "import os, sys, time\n"
        "from service.marks.svg_render import SvgRenderer\n"
        "r = SvgRenderer()\n"
        f"r.render({DISC!r}, 32, None)\n"
        "print(r._idle[0].proc.pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())  # type: ignore[union-attr]
        os.kill(worker, 0)  # alive while the parent lives
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            try:  # reap it if it became our child's orphan in this namespace
                os.waitpid(worker, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        else:
            pytest.fail("the renderer worker outlived its parent")
    finally:
        parent.kill()
