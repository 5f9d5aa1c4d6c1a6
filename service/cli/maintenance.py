"""``tmsearch reindex / stats / check / repair / backup / restore``: operating a
data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ByteSize, TypeAdapter, ValidationError
from tqdm import tqdm

from service.settings import IndexChoice, Settings

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass
from service.cli.app import _check_index, _err, _open, app


@app.command()
def reindex(
    ctx: typer.Context,
    index: Annotated[
        IndexChoice | None, typer.Option(
            "--index", help="auto (exact below ~200k marks, compressed above or when over the "
            "memory budget), flat, ivfpq or hnsw; default: TMSEARCH_INDEX or auto.")
    ] = None,
    memory_budget: Annotated[
        str | None, typer.Option("--memory-budget",
                                 help="Memory the index may take, e.g. 2GB or 512MiB.")
    ] = None,
) -> None:
    """Re-embed every stored mark with the current model into a new index, then swap."""
    budget = None
    if memory_budget is not None:
        try:
            budget = int(TypeAdapter(ByteSize).validate_python(memory_budget))
        except ValidationError as exc:
            _err(f"--memory-budget {memory_budget!r} is not a size such as 2GB or 512MiB")
            raise typer.Exit(2) from exc
    register = _open(ctx)
    try:
        with tqdm(total=register.records.count(), unit="mark", desc="reindex") as bar:
            done = register.reindex(lambda n, _total: bar.update(n - bar.n), index=index,
                                    memory_budget=budget)
        kind = register.store.info.kind
    except ValueError as exc:  # an index kind over the memory budget
        _err(str(exc))
        raise typer.Exit(2) from exc
    finally:
        register.close()
    typer.echo(f"re-indexed {done} marks with model {register.embedder.version} "
               f"into a {kind} index")


@app.command()
def stats(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the register's size, model and index."""
    register = _open(ctx)
    try:
        info = register.stats()
    finally:
        register.close()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        typer.echo(f"{key:>20}: {value}")
    if info["needs_reindex"]:
        typer.echo("the index was built with another model: run `tmsearch reindex`")


def _faiss_only(ctx: typer.Context, command: str) -> None:
    """check and repair compare the data dir with its FAISS index file; a Milvus store
    is checked by reopening the register (reconcile runs on open) and backed up with
    Milvus's own tools."""
    if ctx.obj.settings.vector_store != "faiss":
        _err(f"`tmsearch {command}` works on a FAISS index in the data dir; this register's "
             f"vectors are in {ctx.obj.settings.vector_store} (opening the register "
             "reconciles them with the records)")
        raise typer.Exit(2)


def _records_in_data_dir(ctx: typer.Context, command: str) -> None:
    """backup and restore copy the data dir; records in a database server are not in it."""
    if ctx.obj.settings.database_url is not None:
        _err(f"{command} covers registers whose records live in the data dir; this one's are "
             "in a database server (TMSEARCH_DATABASE_URL): use that server's own backups "
             "(pg_dump, base backups) for the records and copy the data dir beside them")
        raise typer.Exit(2)


@app.command()
def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Report drift between the records, the stored images and the saved index, changing
    nothing (safe while a server runs; the model is not loaded). Exit 1 if any."""
    from service.ops.consistency import check as check_data_dir
    from service.storage.layout import DataDir

    settings: Settings = ctx.obj.settings
    layout = DataDir.of(settings)
    if settings.database_url is None and not layout.records_file.is_file():
        _err(f"{layout.root} holds no register")
        raise typer.Exit(2)
    _faiss_only(ctx, "check")
    try:
        report = check_data_dir(layout)
    except Exception as exc:  # noqa: BLE001 - an unreachable database: one clear line
        _err(str(exc))
        raise typer.Exit(1) from exc
    body = report.to_dict()
    if as_json:
        typer.echo(json.dumps(body, indent=2))
    else:
        typer.echo(f"{body['marks']} marks, {body['vectors_expected']} vectors named by the "
                   f"records, {body['vectors_indexed']} in the saved index")
        for name in ("missing_vectors", "stray_vectors", "missing_images", "orphan_images",
                     "temp_files"):
            if body[name]["count"]:
                typer.echo(f"{name.replace('_', ' ')}: {body[name]['count']} "
                           f"(e.g. {', '.join(map(str, body[name]['sample']))})")
        if report.index_error:
            typer.echo(f"index: {report.index_error}")
        typer.echo("consistent" if report.ok else
                   "drift found: `tmsearch repair` mends it (stop the server first)")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def repair(
    ctx: typer.Context,
    drop_unreadable: Annotated[bool, typer.Option(
        "--drop-unreadable", help="Also remove marks whose stored image is gone.")] = False,
) -> None:
    """Mend drift: re-embed vectors the index lacks, drop those it should not hold, delete
    stored files no record uses and leftovers of interrupted writes. Needs the data dir
    alone (stop the server first)."""
    _faiss_only(ctx, "repair")
    register = _open(ctx)
    _check_index(register)
    try:
        report = register.repair(drop_unreadable)
    except Exception as exc:  # noqa: BLE001 - one clear line (busy data dir, ...)
        _err(str(exc))
        raise typer.Exit(1) from exc
    finally:
        register.close()
    typer.echo(f"re-embedded {report.restored} vectors, dropped {report.dropped}, deleted "
               f"{report.orphans_deleted} unused images and {report.leftovers_deleted} "
               "leftover files")
    if report.unreadable and not report.removed:
        typer.echo(f"{len(report.unreadable)} marks have lost their stored image (ingest "
                   f"them again, or --drop-unreadable): {', '.join(report.unreadable[:10])}")
        raise typer.Exit(1)
    if report.removed:
        typer.echo(f"removed {len(report.removed)} marks whose image was gone")


@app.command()
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="New folder for the backup.")],
) -> None:
    """Write a consistent snapshot of the register (records, keys, images, index) to DEST,
    while a server may be running."""
    from service.ops.backup import BackupError
    from service.ops.backup import backup as backup_data_dir
    from service.storage.layout import DataDir

    _records_in_data_dir(ctx, "backup")
    try:
        report = backup_data_dir(DataDir.of(ctx.obj.settings), dest)
    except BackupError as exc:
        _err(str(exc))
        raise typer.Exit(1) from exc
    typer.echo(f"backed up {report.marks} marks, {report.images} image files and "
               f"{report.index_files} index files to {report.path} in {report.seconds:.1f} s")
    if report.missing_images:
        _err(f"{len(report.missing_images)} marks had no stored image in the source "
             "(`tmsearch check`)")
        raise typer.Exit(1)


@app.command()
def restore(
    ctx: typer.Context,
    src: Annotated[Path, typer.Argument(
        metavar="SRC", help="A folder written by `tmsearch backup`.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Move a non-empty data dir aside first (never deleted).")] = False,
) -> None:
    """Load a backup into the data dir (a new one, or --force), then open it: vectors the
    saved index lags behind are re-embedded, and the result is checked."""
    from service.ops.backup import BackupError
    from service.ops.backup import restore as restore_data_dir
    from service.ops.consistency import check as check_data_dir
    from service.storage.data_lock import DataDirBusy
    from service.storage.layout import DataDir

    _records_in_data_dir(ctx, "restore")
    data_dir = ctx.obj.settings.resolved_data_dir
    try:
        moved = restore_data_dir(src, data_dir, force)
    except (BackupError, DataDirBusy) as exc:
        _err(str(exc))
        raise typer.Exit(1) from exc
    if moved is not None:
        typer.echo(f"the data dir that was there is now {moved}")
    register = _open(ctx)  # reconcile on open
    count = register.records.count()
    register.close()
    report = check_data_dir(DataDir.of(ctx.obj.settings))
    typer.echo(f"restored {count} marks into {data_dir}: "
               f"{'consistent' if report.ok else 'drift: run `tmsearch check`'}")
    if not report.ok:
        raise typer.Exit(1)
