"""Reading the verbal element of a mark with an offline OCR model.

The model is RapidOCR's PP-OCRv4 (Chinese and Latin), whose ONNX files ship inside the
``rapidocr_onnxruntime`` wheel: nothing is downloaded at run time. It is loaded lazily on
first use, so a register that never reads text pays nothing.

Only the *words* components that ``service.marks.components`` found (or a whole mark shaped
like a line of words) are read, with recognition alone on the cut-out line (about 30 ms
a line on one core); a mark without words costs nothing. Queries are read the same way as
the register's marks: the same words are then found on both sides, and a query costs
30 ms a line instead of the 50 ms that detection over the whole image took (profiled with
``scripts/profile_pipeline.py``; detection was 80 % of a query's time).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from models.preprocess import INK_THRESHOLD, background_colour, ink_map
from service.marks.components import Component, split_components

log = logging.getLogger(__name__)

WORD_MARK_ASPECT = 2.0  # a single-element mark this wide (ink box w/h) is read as words


@dataclass(frozen=True)
class ReadText:
    """One line of text found in an image."""

    text: str
    confidence: float


class TextReader:
    """OCR of marks and queries; one per register (or per ingest worker process)."""

    def __init__(self, min_confidence: float = 0.6) -> None:
        self.min_confidence = min_confidence
        self._engine: Any = None
        self._lock = threading.Lock()

    def _get_engine(self) -> Any:
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR  # heavy import, only when used

            # one thread per session: ingest already runs one worker per core
            self._engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        return self._engine

    def _read_line(self, image: Image.Image) -> list[ReadText]:
        """Recognition alone on an image that is one line of words."""
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        with self._lock:
            engine = self._get_engine()
            found, _ = engine(bgr, use_det=False, use_cls=False, use_rec=True)
        lines = []
        for item in found or []:
            text, confidence = item[0], item[1]
            text = str(text).strip()
            if text and float(confidence) >= self.min_confidence:
                lines.append(ReadText(text, float(confidence)))
        return lines

    def read_query(self, image: Image.Image, components: list[Component] | None = None) -> str:
        """The words of a query image, read as a mark's are (components split here unless
        given)."""
        if components is None:
            components = split_components(image)
        return self.read_mark(image, components)

    def read_mark(self, image: Image.Image, components: list[Component]) -> str:
        """The verbal element of a mark: its words components, or the whole mark when it
        is a single element shaped like a line of words; '' when it has none."""
        lines: list[str] = []
        for part in components:
            if part.kind == "words":
                lines += [line.text for line in self._read_line(part.crop(image, pad=0.08))]
        if not components and _looks_like_a_line(image):
            lines += [line.text for line in self._read_line(image)]
        return " ".join(lines)


def _looks_like_a_line(image: Image.Image) -> bool:
    """Whether a mark of one element is shaped like a line of words (its ink, at 128 px
    on the long side, much wider than high); a side below one pixel there counts as one."""
    long_side = max(image.width, image.height, 1)
    size = (max(1, round(128 * image.width / long_side)),
            max(1, round(128 * image.height / long_side)))
    rgb = np.asarray(image.convert("RGB").resize(size))
    mask = ink_map(rgb, background_colour(rgb)) >= INK_THRESHOLD
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return False
    width, height = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    return width >= WORD_MARK_ASPECT * height


@functools.cache
def process_reader(min_confidence: float = 0.6) -> TextReader:
    """The reader of this process, for ingest workers: an ONNX session cannot be pickled
    to a worker, so each worker process builds its own once."""
    return TextReader(min_confidence)
