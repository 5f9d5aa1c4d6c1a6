"""``tmsearch ingest`` and ``tmsearch remove``: marks into and out of the register."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from tqdm import tqdm

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass
from service.cli.app import _check_index, _err, _open, app


@app.command()
def ingest(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(
        metavar="FOLDER", help="Folder of mark images, searched recursively.")],
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", metavar="FILE", help="JSON lines or CSV with a 'file' column."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", help="Decode processes (0 = inline).")
    ] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", metavar="ADDRESS",
        help='Prepare and embed on a Ray cluster: "auto" (the cluster Ray finds, '
        "or a local one) or its address; the folder must be readable on every node "
        "[env TMSEARCH_RAY].")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="Print one JSON line a file on stdout (file, id, outcome, error), "
        "each once its mark is committed; the progress bar goes to stderr.")] = False,
) -> None:
    """Add or update every image under FOLDER; unchanged files are skipped. Safe to stop
    at any moment: run it again and it resumes, skipping what was written."""
    from service.marks.pipeline import count_image_files

    if not folder.is_dir():
        _err(f"not a folder: {folder}")
        raise typer.Exit(2)
    if metadata is not None and not metadata.is_file():
        _err(f"metadata file not found: {metadata}")
        raise typer.Exit(2)
    overrides: dict[str, Any] = {"workers": workers} if workers is not None else {}
    if ray is not None:
        overrides["ray"] = ray
    register = _open(ctx, **overrides)
    _check_index(register)
    total = count_image_files(folder)
    # smoothing 0: the rate (and so the ETA) over the whole run, not over the last chunk,
    # which arrive whole and made the first estimate read 24:39 for a 5 s job
    with tqdm(total=total, unit="mark", desc="ingest", dynamic_ncols=True, smoothing=0,
              file=sys.stderr) as bar:

        def on_event(event: Any) -> None:
            if jsonl:
                print(json.dumps({"file": event.path, "id": event.mark_id,
                                  "outcome": event.outcome, "error": event.message}),
                      flush=True)
            if event.outcome == "failed":
                for line in (event.message or "").splitlines() or [""]:
                    tqdm.write(f"error: {event.path}: {line}", file=sys.stderr)
        try:  # the bar moves as the workers finish files, not once a chunk is written
            summary = register.ingest_folder(folder, metadata, on_event, bar.update)
        except Exception as exc:  # noqa: BLE001
            tqdm.write(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from exc
        finally:
            register.close()
    rate = (summary.added + summary.updated) / summary.seconds if summary.seconds else 0.0
    typer.echo(
        f"added {summary.added}, updated {summary.updated}, skipped {summary.skipped}, "
        f"failed {summary.failed} in {summary.seconds:.1f} s ({rate:.1f} marks/s)",
        err=jsonl,  # stdout stays one JSON object a line
    )
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def remove(
    ctx: typer.Context, ids: Annotated[list[str], typer.Argument(
        metavar="ID", help="Mark ids to remove.")]
) -> None:
    """Remove marks by id."""
    register = _open(ctx)
    _check_index(register)
    try:
        removed = set(register.remove(ids))
    finally:
        register.close()
    for mark_id in ids:
        if mark_id in removed:
            typer.echo(f"removed {mark_id}")
        else:
            _err(f"no mark with id {mark_id!r}")
    if len(removed) < len(set(ids)):
        raise typer.Exit(1)
