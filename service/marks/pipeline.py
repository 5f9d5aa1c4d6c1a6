"""The ingest pipeline's pieces: a streaming file reader and a picklable mapper.

reader (``iter_image_files``) -> mapper (``prepare_file``, in worker processes:
read, hash, decode, normalise, thumbnail, network input) -> writer (the register:
embed in batches, store records and vectors). The mapper touches no torch and no
database, so it runs anywhere and fails per file, never per batch.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from models.preprocess import canonical_square, canonical_view, prepare, prepare_square
from service.marks.colour import square_colour_signature
from service.marks.components import Component, split_components
from service.marks.images import ImageError, ImageLimits, content_hash, decode_image, make_thumbnail
from service.marks.ocr import TextReader, process_reader
from service.marks.views import Crop, dihedral_views

if TYPE_CHECKING:  # the model is imported only where it runs
    from models.embedder import Embedder

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".svg"}
)


def iter_image_files(folder: Path) -> Iterator[Path]:
    """Image files under ``folder``, depth first, in the file system's order.

    A generator over ``os.scandir``, which reads a directory a block of entries at a
    time: a folder of a million files is never listed into memory (sorting would need
    the whole listing); only the subdirectories still to visit are kept. The order does
    not matter to an ingest: marks are keyed by id and unchanged files by content hash.
    """
    stack = [folder]
    while stack:
        current = stack.pop()
        subdirs = []
        try:
            with os.scandir(current) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        subdirs.append(Path(entry.path))
                    elif (entry.is_file()
                          and os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS):
                        yield Path(entry.path)
        except OSError:
            continue
        stack.extend(reversed(subdirs))


def count_image_files(folder: Path) -> int:
    return sum(1 for _ in iter_image_files(folder))


def mark_id_for(path: Path, folder: Path) -> str:
    """Default mark id: path relative to the ingested folder, POSIX separators, no suffix."""
    return path.relative_to(folder).with_suffix("").as_posix()


@dataclass(frozen=True)
class PrepareSpec:
    """What a worker needs to know to prepare an image for the loaded model."""

    input_size: int
    input_mode: str
    limits: ImageLimits
    thumbnail_size: int
    read_text: bool = False  # OCR the verbal element (service/marks/ocr.py)
    # weights file: the worker embeds what it prepared (CPU, one thread a worker), so
    # the model never competes with the workers for the cores; None: the caller embeds
    embed_with: str | None = None


@dataclass
class PreparedImage:
    content_hash: str
    stored_bytes: bytes
    media_type: str
    thumbnail: bytes
    model_input: np.ndarray  # uint8 (C, S, S)
    components: list[tuple[Component, np.ndarray]] = field(default_factory=list)
    colour: np.ndarray | None = None
    text: str = ""  # the verbal element read by OCR, '' when none or not read
    vectors: np.ndarray | None = None  # (1 + components, dim) once embedded

    def model_inputs(self) -> list[np.ndarray]:
        """The network inputs in vector order: the whole mark, then its components."""
        return [self.model_input, *(model_input for _, model_input in self.components)]


@dataclass
class FileOutcome:
    """Result of preparing one file: ``prepared`` or ``unchanged`` or ``error``."""

    path: str
    content_hash: str | None = None
    prepared: PreparedImage | None = None
    unchanged: bool = False
    error: str | None = None


def prepare_bytes(data: bytes, spec: PrepareSpec, digest: str | None = None,
                  reader: TextReader | None = None) -> PreparedImage:
    """Decode untrusted bytes and derive everything the register stores for them. Words
    are read with ``reader`` (the register's own, in its process), else with the worker
    process's reader."""
    decoded = decode_image(data, spec.limits)
    parts = split_components(decoded.image)
    square, ground = canonical_square(decoded.image)
    return PreparedImage(
        content_hash=digest or content_hash(data),
        stored_bytes=decoded.stored_bytes,
        media_type=decoded.media_type,
        thumbnail=make_thumbnail(decoded.image, spec.thumbnail_size),
        model_input=prepare_square(square, ground, spec.input_size, spec.input_mode),
        components=component_inputs(decoded.image, spec, searchable(parts)),
        colour=square_colour_signature(square),
        text=(reader or process_reader()).read_mark(decoded.image, parts)
        if spec.read_text else "",
    )


def searchable(parts: list[Component]) -> list[Component]:
    """The components compared by shape: figures. Words are compared as text (OCR,
    service/search/text_match.py) and frames are plain borders: by shape, any two lines of
    words or any two rings look alike to the model and would match unrelated marks."""
    return [c for c in parts if c.kind == "figure"]


def component_inputs(image: Image.Image, spec: PrepareSpec,
                     components: list[Component] | None = None
                     ) -> list[tuple[Component, np.ndarray]]:
    """Network inputs of a mark's components (split here unless given, e.g. from records)."""
    parts = searchable(split_components(image)) if components is None else components
    return [(c, prepare(c.crop(image), spec.input_size, spec.input_mode)) for c in parts]


@dataclass
class QueryView:
    """One network input of a query: which part of the query image it shows."""

    model_input: np.ndarray
    part: Component | None = None  # None: the whole (cropped) query image
    # the part's own colour signature (service/marks/colour.py): a figure matched inside a
    # composite query is compared by its colours, not by those of the words beside it
    colour: np.ndarray | None = None


@dataclass
class PreparedQuery:
    """A query image ready to search: its network inputs, its colour signature and the
    words read in it."""

    views: list[QueryView]
    colour: np.ndarray
    text: str = ""
    # the sides the whole query's ink runs off ("ltrb"; models/preprocess.CanonicalView):
    # a copy cut out of a larger mark, whose whole the ranking also tries
    cut: str = ""


def query_inputs(
    data: bytes, spec: PrepareSpec, crop: Crop | None = None, rotation_tolerant: bool = False,
    reader: TextReader | None = None,
) -> PreparedQuery:
    """Network inputs for one query image: the whole (or its crop) and each of its
    components, each in 1 view or 8 (rotations by 90 degrees and mirrors); and its words
    when a reader is given."""
    image = decode_image(data, spec.limits).image
    if crop is not None:
        image = crop.apply(image)
    whole = canonical_view(image)
    views = [QueryView(prepare_square(whole.square, whole.background, spec.input_size,
                                      spec.input_mode))]
    if rotation_tolerant:  # the 8 views of the whole, the first being the image itself
        views += [QueryView(prepare(v, spec.input_size, spec.input_mode))
                  for v in dihedral_views(image)[1:]]
    parts = split_components(image)
    for part in searchable(parts):
        picture = part.crop(image)
        part_square, part_ground = canonical_square(picture)
        colour = square_colour_signature(part_square)
        views.append(QueryView(prepare_square(part_square, part_ground, spec.input_size,
                                              spec.input_mode), part, colour))
        if rotation_tolerant:
            views += [QueryView(prepare(view, spec.input_size, spec.input_mode), part, colour)
                      for view in dihedral_views(picture)[1:]]
    text = reader.read_query(image, parts) if reader is not None else ""
    return PreparedQuery(views, square_colour_signature(whole.square), text, whole.cut)


def prepare_file(task: tuple[str, str | None, PrepareSpec]) -> FileOutcome:
    """Worker entry point: ``(path, known content hash or None, spec)`` -> outcome."""
    path, known_hash, spec = task
    try:
        size = os.path.getsize(path)
        if size > spec.limits.max_bytes:
            return FileOutcome(
                path, error=f"file is {size:,} bytes; the limit is {spec.limits.max_bytes:,}"
            )
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return FileOutcome(path, error=f"cannot read: {exc.strerror or exc}")
    digest = content_hash(data)
    if digest == known_hash:
        return FileOutcome(path, content_hash=digest, unchanged=True)
    try:
        return FileOutcome(path, content_hash=digest, prepared=prepare_bytes(data, spec, digest))
    except ImageError as exc:
        return FileOutcome(path, content_hash=digest, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad file never aborts a batch
        return FileOutcome(path, content_hash=digest, error=f"unexpected error: {exc!r}")


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """Processes for ``prepare_files``: forked on Linux, spawned elsewhere.

    Forked workers start in milliseconds with the caller's modules (torch among them)
    already imported; spawned ones import everything again, 3-5 s a worker before the
    first file, which was a third of a 1,000-mark ingest on 2 cores. The workers touch
    no database and no GPU, and set their own torch threads (as a PyTorch DataLoader's
    forked workers do), so what fork copies from a threaded parent is never used."""
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """In a worker: end this process soon after its parent ends, however the parent
    ends (a kill -9 of an ingest left its workers running, 730 MB each, for minutes)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


WORKER_BATCH = 16  # files a worker prepares (and embeds, in one forward pass) per task


def prepare_files(tasks: list[tuple[str, str | None, PrepareSpec]]) -> list[FileOutcome]:
    """Worker entry point for a few files: each prepared (failing alone), then, when the
    spec says so, every network input of them embedded in one batch."""
    outcomes = [prepare_file(t) for t in tasks]
    prepared = [o.prepared for o in outcomes if o.prepared is not None]
    weights = tasks[0][2].embed_with if tasks else None
    if weights is not None and prepared:
        embed_prepared_images(process_embedder(weights), prepared)
    return outcomes


def embed_prepared_images(embedder: Embedder, images: list[PreparedImage]) -> None:
    """Set ``vectors`` on each image that has none, in one batched pass."""
    pending = [image for image in images if image.vectors is None]
    if not pending:
        return
    inputs = [model_input for image in pending for model_input in image.model_inputs()]
    vectors = embedder.embed_prepared(inputs)
    row = 0
    for image in pending:
        count = 1 + len(image.components)
        image.vectors = vectors[row:row + count]
        row += count


@functools.cache
def process_embedder(weights: str) -> Embedder:
    """The model of an ingest worker, loaded once per process, on one thread: the
    workers already take every core."""
    import torch

    from models.embedder import Embedder

    torch.set_num_threads(1)
    return Embedder(Path(weights), device="cpu")


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last may be shorter), read lazily."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def map_in_chunks(
    tasks: Iterable[list], executor: Executor | None,
    on_prepared: Callable[[int], None] | None = None,
) -> Iterator[list[FileOutcome]]:
    """Prepare chunks of tasks, keeping the next chunk in flight while one is consumed;
    each chunk goes to the workers ``WORKER_BATCH`` files a task. ``on_prepared`` hears
    how many files each task prepared, as it is collected (a progress bar's steps)."""
    told = on_prepared or (lambda _n: None)
    if executor is None:
        for chunk in tasks:
            out: list[FileOutcome] = []
            for i in range(0, len(chunk), WORKER_BATCH):
                part = prepare_files(chunk[i:i + WORKER_BATCH])
                told(len(part))
                out += part
            yield out
        return
    pending: list[list[Future[list[FileOutcome]]]] = []

    def collected(futures: list[Future[list[FileOutcome]]]) -> list[FileOutcome]:
        out: list[FileOutcome] = []
        for future in futures:
            part = future.result()
            told(len(part))
            out += part
        return out

    for chunk in tasks:
        pending.append([executor.submit(prepare_files, chunk[i:i + WORKER_BATCH])
                        for i in range(0, len(chunk), WORKER_BATCH)])
        if len(pending) >= 2:
            yield collected(pending.pop(0))
    while pending:
        yield collected(pending.pop(0))
