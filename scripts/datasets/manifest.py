"""Reading the JSON-lines manifests that the data scripts write (one image a line)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def iter_manifest(path: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """``(row, image path)`` per line; relative paths are taken from the manifest's folder."""
    root = path.parent
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                image = Path(row["path"])
                yield row, str(image if image.is_absolute() else root / image)
