"""The index file: one file, written atomically, so a header never meets another's index.

Version 2 (``TMSI2``): magic, 8-byte little-endian header length, a JSON header
``{"info": IndexInfo, "state": {...}, "arrays": [[name, dtype, shape], ...]}``, the
arrays' raw bytes in that order, then the serialised FAISS index to the end of the file.
Version 1 (``TMSI1``, flat indexes of earlier releases) is read too: its header is the
IndexInfo alone and the FAISS index follows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from index.base import IndexIncompleteError, IndexInfo

MAGIC_V1 = b"TMSI1\n"
MAGIC_V2 = b"TMSI2\n"


@dataclass
class IndexFile:
    """Everything an index file holds."""

    info: IndexInfo
    faiss_blob: np.ndarray  # uint8, a serialised FAISS index
    state: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def write(path: Path, content: IndexFile) -> None:
    """Atomically write ``content`` to ``path`` (temp file, fsync, rename)."""
    arrays = {k: np.ascontiguousarray(v) for k, v in content.arrays.items()}
    header = json.dumps({
        "info": asdict(content.info),
        "state": content.state,
        "arrays": [[k, v.dtype.str, list(v.shape)] for k, v in arrays.items()],
    }).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as fh:
        fh.write(MAGIC_V2 + len(header).to_bytes(8, "little") + header)
        for value in arrays.values():
            fh.write(memoryview(value).cast("B"))
        fh.write(memoryview(content.faiss_blob).cast("B"))


def read_header(fh: BinaryIO, path: Path) -> tuple[bytes, dict[str, Any]]:
    magic = fh.read(len(MAGIC_V2))
    if magic not in (MAGIC_V1, MAGIC_V2):
        raise ValueError(f"{path} is not a tmsearch index file")
    size = int.from_bytes(fh.read(8), "little")
    header = json.loads(fh.read(size))
    if magic == MAGIC_V1:
        header = {"info": header, "state": {}, "arrays": []}
    return magic, header


def read_info(path: Path) -> IndexInfo:
    with open(path, "rb") as fh:
        return IndexInfo(**read_header(fh, path)[1]["info"])


def read(path: Path) -> IndexFile:
    with open(path, "rb") as fh:
        _, header = read_header(fh, path)
        arrays = {}
        for name, dtype, shape in header["arrays"]:
            arr = np.empty(shape, dtype=np.dtype(dtype))
            if fh.readinto(memoryview(arr).cast("B")) != arr.nbytes:
                raise IndexIncompleteError(f"{path} is truncated; run `tmsearch reindex`")
            arrays[name] = arr
        rest = os.fstat(fh.fileno()).st_size - fh.tell()
        blob = np.empty(rest, dtype=np.uint8)
        if fh.readinto(memoryview(blob)) != rest:
            raise IndexIncompleteError(f"{path} is truncated; run `tmsearch reindex`")
    return IndexFile(IndexInfo(**header["info"]), blob, header["state"], arrays)


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write to a temp file beside ``path``; rename over it only once fully on disk."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
