"""SVG -> PNG with resvg, and a small process pool that renders many icons resumably.

The one place where SVG is rasterised, so training and evaluation images look alike:
white background, opaque RGB PNG, icons without visible ink rejected.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import resvg_py
from PIL import Image

log = logging.getLogger(__name__)

BACKGROUND = "#ffffff"
#: fewer dark-enough pixels than this share of the image counts as blank (e.g. icons
#: drawn only by animation, which resvg does not play)
MIN_INK_FRACTION = 0.002
INK_LEVEL = 250  # grey level below which a pixel counts as ink on white


class BlankImageError(ValueError):
    """The SVG rendered to (almost) nothing visible."""


def svg_to_png(svg: str, background: str = BACKGROUND) -> bytes:
    """Rasterise an SVG string at its own width and height, as PNG bytes from resvg."""
    # System fonts are skipped: icons are paths, and results must not depend on the host.
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, background=background,
                                       skip_system_fonts=True))


def ink_fraction(image: Image.Image) -> float:
    """Share of pixels darker than near-white."""
    grey = image.convert("L")
    hist = grey.histogram()
    return sum(hist[:INK_LEVEL]) / max(1, grey.width * grey.height)


def render_svg_image(svg: str) -> Image.Image:
    """An SVG as an RGB image on white; raises BlankImageError when nothing shows."""
    with Image.open(io.BytesIO(svg_to_png(svg))) as img:
        rgb = img.convert("RGB")
    if ink_fraction(rgb) < MIN_INK_FRACTION:
        raise BlankImageError("no visible ink")
    return rgb


def write_png_atomic(image: Image.Image, path: Path) -> None:
    """Write a PNG so that an interrupted run never leaves a truncated file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    image.save(tmp, format="PNG", optimize=False, compress_level=6)
    tmp.replace(path)


@dataclass(frozen=True)
class Job:
    """One image to make: an SVG to rasterise, or a call that draws the image itself."""

    key: str
    path: Path
    svg: str | None = None
    make: Callable[[], Image.Image] | None = None


@dataclass(frozen=True)
class Result:
    """What became of a job: "done", "exists", "blank" or "failed"."""

    key: str
    path: Path
    status: str
    error: str = ""


def run_job(job: Job) -> Result:
    """Make one image unless it is already on disk; never raises."""
    if job.path.exists():
        return Result(job.key, job.path, "exists")
    try:
        if job.svg is not None:
            image = render_svg_image(job.svg)
        elif job.make is not None:
            image = job.make()
        else:
            raise ValueError("job has neither svg nor make")
        write_png_atomic(image, job.path)
    except BlankImageError as exc:
        return Result(job.key, job.path, "blank", str(exc))
    except Exception as exc:  # one bad icon must not stop the run
        return Result(job.key, job.path, "failed", f"{type(exc).__name__}: {exc}")
    return Result(job.key, job.path, "done")


def run_jobs(jobs: Iterable[Job], workers: int = 2, chunksize: int = 32) -> Iterator[Result]:
    """Run jobs in a pool of worker processes (or inline for workers <= 1), unordered."""
    if workers <= 1:
        yield from map(run_job, jobs)
        return
    # fork keeps start-up cheap; jobs carry only strings and picklable callables
    with get_context("fork").Pool(workers) as pool:
        yield from pool.imap_unordered(run_job, jobs, chunksize=chunksize)
