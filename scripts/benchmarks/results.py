"""Where a benchmark's results go: ``NAME.json`` (everything measured) and ``NAME.md``
(the table the README and docs/DEPLOYMENT.md copy) in the output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(out: Path, name: str, result: dict[str, Any], table: str) -> None:
    """Write ``result`` and its table under ``out`` and print the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))
    (out / f"{name}.md").write_text(table)
    print(table)
