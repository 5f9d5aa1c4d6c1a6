"""``tmsearch``: ingest, search, remove, re-index, inspect and serve a register.

A thin face over :class:`service.register.Register`: parse arguments, call, format. Exit
codes: 0 all went well, 1 some items failed (each reported on stderr), 2 usage errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ByteSize, TypeAdapter, ValidationError
from tqdm import tqdm

from service.colour import SearchMode
from service.query import Crop, QueryError, SearchOptions, parse_filters
from service.settings import DeviceChoice, IndexChoice, Settings

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    from service.register import Register, SearchResult

app = typer.Typer(
    help="Trademark image similarity search: ingest marks, search by image, serve the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class CliState:
    settings: Settings


def _err(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Register data dir [env TMSEARCH_DATA_DIR; ./var]."),
    ] = None,
    device: Annotated[
        DeviceChoice | None,
        typer.Option("--device", help="Embedding device: auto, cpu or cuda [env TMSEARCH_DEVICE]."),
    ] = None,
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if device is not None:
        overrides["device"] = device
    try:
        ctx.obj = CliState(Settings(**overrides))
    except ValidationError as exc:  # a bad TMSEARCH_* variable: say which, no traceback
        for problem in exc.errors():
            field = ".".join(str(p) for p in problem["loc"])
            _err(f"setting {field}: {problem['msg']}")
        raise typer.Exit(2) from exc


def _open(ctx: typer.Context, **overrides: Any):  # noqa: ANN202 - Register, imported lazily
    """Open the register (loads the model: imported here so ``--help`` stays fast)."""
    from service.register import Register

    settings: Settings = ctx.obj.settings
    if overrides:
        settings = settings.model_copy(update=overrides)
    try:
        return Register(settings)
    except Exception as exc:  # noqa: BLE001 - turned into one clear line
        _err(str(exc))
        raise typer.Exit(1) from exc


def _check_index(register: Any) -> None:
    if register.index_error is not None:
        _err(str(register.index_error))
        register.close()
        raise typer.Exit(1)


@app.command()
def ingest(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder of mark images, searched recursively.")],
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="JSON lines or CSV with a 'file' column."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Decode processes (0 = inline).")
    ] = None,
    ray: Annotated[str | None, typer.Option(
        "--ray", help='Prepare and embed on a Ray cluster: "auto" (the cluster Ray finds, '
        "or a local one) or its address; the folder must be readable on every node "
        "[env TMSEARCH_RAY].")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="Print one JSON line a file on stdout (file, id, outcome, error), "
        "each once its mark is committed; the progress bar goes to stderr.")] = False,
) -> None:
    """Add or update every image under FOLDER; unchanged files are skipped. Safe to stop
    at any moment: run it again and it resumes, skipping what was written."""
    from service.pipeline import count_image_files

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
    with tqdm(total=total, unit="mark", desc="ingest", dynamic_ncols=True,
              file=sys.stderr) as bar:

        def on_event(event: Any) -> None:
            if jsonl:
                print(json.dumps({"file": event.path, "id": event.mark_id,
                                  "outcome": event.outcome, "error": event.message}),
                      flush=True)
            if event.outcome == "failed":
                tqdm.write(f"error: {event.path}: {event.message}", file=sys.stderr)
            if event.mark_id is not None:
                bar.update(1)

        try:
            summary = register.ingest_folder(folder, metadata, on_event)
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

# search options shared by `search` and `report` (the same semantics as the API's fields)
RotationOpt = Annotated[
    bool, typer.Option("--rotation-tolerant", help="Also try 8 rotations and reflections.")]
ModeOpt = Annotated[
    SearchMode, typer.Option("--mode", help="shape (colour-blind), colour, or composite.")]
NiceOpt = Annotated[
    str | None, typer.Option("--nice-classes", help="Comma list; any shared class.")]
ViennaOpt = Annotated[
    str | None, typer.Option("--vienna-codes", help="Comma list of prefixes, e.g. 26.01.")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="Comma list of statuses.")]
FiledFromOpt = Annotated[
    str | None, typer.Option("--filed-from", help="Earliest filing date, YYYY-MM-DD.")]
FiledToOpt = Annotated[
    str | None, typer.Option("--filed-to", help="Latest filing date, YYYY-MM-DD.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Part of the owner's name.")]
TextOpt = Annotated[str | None, typer.Option(
    "--text", help="The query's words; marks with similar words rank higher "
                   "(default: read from the image).")]
ReadTextOpt = Annotated[bool, typer.Option(
    "--read-text/--no-read-text", help="Read the query image's words with OCR.")]


def _options(crop: str | None = None, rotation_tolerant: bool = False,
             mode: SearchMode = SearchMode.composite, text: str | None = None,
             read_text: bool = True, **filters: str | None) -> SearchOptions:
    """Search options from CLI flags; a usage error (exit 2) when one does not validate.
    The CLI runs on the data dir itself, as an operator: it sees unpublished marks."""
    try:
        return SearchOptions(filters=parse_filters(**filters),
                             crop=Crop.parse(crop) if crop else None,
                             rotation_tolerant=rotation_tolerant, mode=mode, text=text,
                             read_text=read_text, include_unpublished=True)
    except QueryError as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc


@app.command()
def search(
    ctx: typer.Context,
    images: Annotated[list[Path] | None, typer.Argument(help="Query images.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="Results per query.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per query.")] = False,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="File with one image path a line.")
    ] = None,
    mark_id: Annotated[
        str | None, typer.Option("--id", help="Search with a mark already in the register.")
    ] = None,
    crop: Annotated[
        str | None, typer.Option("--crop", help="Search with a rectangle x,y,w,h of the image.")
    ] = None,
    rotation_tolerant: RotationOpt = False,
    mode: ModeOpt = SearchMode.composite,
    nice_classes: NiceOpt = None,
    vienna_codes: ViennaOpt = None,
    status: StatusOpt = None,
    filed_from: FiledFromOpt = None,
    filed_to: FiledToOpt = None,
    owner: OwnerOpt = None,
    text: TextOpt = None,
    read_text: ReadTextOpt = True,
) -> None:
    """Find the marks most similar to each query image (or to a mark, --id), best first."""
    options = _options(nice_classes=nice_classes, vienna_codes=vienna_codes, status=status,
                       filed_from=filed_from, filed_to=filed_to, owner=owner, crop=crop,
                       rotation_tolerant=rotation_tolerant, mode=mode, text=text,
                       read_text=read_text)
    paths = [str(p) for p in images or []]
    if queries is not None:
        if not queries.is_file():
            _err(f"queries file not found: {queries}")
            raise typer.Exit(2)
        paths += [line.strip() for line in queries.read_text().splitlines() if line.strip()]
    if not paths and mark_id is None:
        _err("give query images, --queries LIST or --id MARK")
        raise typer.Exit(2)
    register = _open(ctx)
    _check_index(register)
    failed = 0
    try:
        outcomes: Iterable[tuple[str, list[SearchResult] | Exception]] = (
            register.search_many(((p, _read(p)) for p in paths), k, options)
        )
        if mark_id is not None:
            outcomes = chain([_similar(register, mark_id, k, options)], outcomes)
        for name, outcome in outcomes:
            if isinstance(outcome, Exception):
                failed += 1
                _err(f"{name}: {outcome}")
                if as_json:
                    typer.echo(json.dumps({"query": name, "error": str(outcome)}))
                continue
            if as_json:
                rows = [{"id": r.record.id, "score": round(r.score, 6), "name": r.record.name,
                         "text": r.record.text, "risk": r.risk.value, "match": r.match()}
                        for r in outcome]
                typer.echo(json.dumps({"query": name, "query_text": getattr(
                    outcome, "query_text", "") or None, "results": rows}, ensure_ascii=False))
            else:
                words = getattr(outcome, "query_text", "")
                typer.echo(f"{name}:" + (f"  (words: {words})" if words else ""))
                for rank, r in enumerate(outcome, start=1):
                    part = "" if r.component is None else f"  [{r.component.kind}]"
                    said = f'  words "{r.words.mark}" {r.words.similarity:.2f}' if r.words else ""
                    typer.echo(f"  {rank:>3}. {r.score:.4f}  {r.risk.value:<6}  {r.record.id}  "
                               f"{r.record.name or ''}{part}{said}")
    finally:
        register.close()
    if failed:
        raise typer.Exit(1)


def _similar(register: Register, mark_id: str, k: int, options: SearchOptions
             ) -> tuple[str, list[SearchResult] | Exception]:
    from service.register import MarkNotFound

    try:
        return f"id:{mark_id}", register.similar(mark_id, k, options)
    except MarkNotFound:
        return f"id:{mark_id}", LookupError(f"no mark with id {mark_id!r}")
    except Exception as exc:  # noqa: BLE001 - reported like a failed query
        return f"id:{mark_id}", exc


def _read(path: str) -> bytes | Exception:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        return OSError(f"cannot read: {exc.strerror or exc}")


@app.command()
def report(
    ctx: typer.Context,
    images: Annotated[list[Path], typer.Argument(help="Query logos (images or zips of them).")],
    out: Annotated[Path, typer.Option("--out", help="Write the PDF report here.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write a CSV here.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="Matches per logo.")] = 5,
    rotation_tolerant: RotationOpt = False,
    mode: ModeOpt = SearchMode.composite,
    nice_classes: NiceOpt = None,
    vienna_codes: ViennaOpt = None,
    status: StatusOpt = None,
    filed_from: FiledFromOpt = None,
    filed_to: FiledToOpt = None,
    owner: OwnerOpt = None,
    text: TextOpt = None,
) -> None:
    """Pre-check many logos: their top matches with risk levels, as a PDF (and CSV)."""
    from service.reports import ReportError, read_zip, run_report, write_csv, write_pdf

    options = _options(nice_classes=nice_classes, vienna_codes=vienna_codes, status=status,
                       filed_from=filed_from, filed_to=filed_to, owner=owner,
                       rotation_tolerant=rotation_tolerant, mode=mode, text=text)
    queries: list[tuple[str, bytes | Exception]] = []
    for path in images:
        data = _read(str(path))
        if path.suffix.lower() == ".zip" and isinstance(data, bytes):
            try:
                queries += [(f"{path.name}:{name}", member) for name, member in read_zip(data)]
            except ReportError as exc:
                _err(f"{path}: {exc}")
                raise typer.Exit(2) from exc
        else:
            queries.append((str(path), data))
    if not queries:
        _err("no logos to check")
        raise typer.Exit(2)
    register = _open(ctx)
    _check_index(register)
    try:
        with tqdm(total=len(queries), unit="logo", desc="pre-check") as bar:
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                bar.update(n - done)
                done = n

            result = run_report(register, queries, k, options, progress)
        with out.open("wb") as fh:
            write_pdf(result, fh, lambda mark_id: _thumbnail_or_none(register, mark_id))
        if csv_out is not None:
            with csv_out.open("w", newline="", encoding="utf-8") as fh:
                write_csv(result, fh)
    finally:
        register.close()
    failed = [q for q in result.queries if q.error is not None]
    for q in failed:
        _err(f"{q.name}: {q.error}")
    high = sum(1 for q in result.queries for r in q.results if r.risk.value == "high")
    typer.echo(f"checked {len(result.queries) - len(failed)} logos ({len(failed)} failed), "
               f"{high} high-risk matches; wrote {out}" + (f" and {csv_out}" if csv_out else ""))
    if failed:
        raise typer.Exit(1)


def _thumbnail_or_none(register: Register, mark_id: str) -> bytes | None:
    try:
        return register.thumbnail(mark_id)
    except Exception:  # noqa: BLE001 - the PDF says "no image"
        return None


@app.command()
def remove(
    ctx: typer.Context, ids: Annotated[list[str], typer.Argument(help="Mark ids to remove.")]
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
    from service.consistency import check as check_data_dir
    from service.register import INDEX_FILE, RECORDS_FILE, records_location

    settings: Settings = ctx.obj.settings
    data_dir = settings.resolved_data_dir
    if settings.database_url is None and not (data_dir / RECORDS_FILE).is_file():
        _err(f"{data_dir} holds no register")
        raise typer.Exit(2)
    _faiss_only(ctx, "check")
    try:
        report = check_data_dir(data_dir, records_location(settings), INDEX_FILE)
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
    dest: Annotated[Path, typer.Argument(help="New folder for the backup.")],
) -> None:
    """Write a consistent snapshot of the register (records, keys, images, index) to DEST,
    while a server may be running."""
    from service.backup import BackupError
    from service.backup import backup as backup_data_dir
    from service.register import INDEX_FILE, RECORDS_FILE

    _records_in_data_dir(ctx, "backup")
    try:
        report = backup_data_dir(ctx.obj.settings.resolved_data_dir, dest, RECORDS_FILE,
                                 INDEX_FILE)
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
    src: Annotated[Path, typer.Argument(help="A folder written by `tmsearch backup`.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Move a non-empty data dir aside first (never deleted).")] = False,
) -> None:
    """Load a backup into the data dir (a new one, or --force), then open it: vectors the
    saved index lags behind are re-embedded, and the result is checked."""
    from service.backup import BackupError
    from service.backup import restore as restore_data_dir
    from service.consistency import check as check_data_dir
    from service.data_lock import DataDirBusy
    from service.register import INDEX_FILE, records_location

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
    report = check_data_dir(data_dir, records_location(ctx.obj.settings), INDEX_FILE)
    typer.echo(f"restored {count} marks into {data_dir}: "
               f"{'consistent' if report.ok else 'drift: run `tmsearch check`'}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the search page."""
    import uvicorn

    from service.api.main import create_app
    from service.api.observability import configure_json_logging

    settings: Settings = ctx.obj.settings
    host = host or settings.host
    port = port or settings.port
    configure_json_logging()  # one JSON line a request, with its request id
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None)


@app.command()
def demo(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Only this many icons (evenly spread).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Ingest even if the register has marks.")
    ] = False,
) -> None:
    """Build the offline demo register from Simple Icons (skipped if marks exist)."""
    from service.demo import write_demo_folder

    register = _open(ctx)
    try:
        if register.records.count() and not force:
            typer.echo(
                f"register in {register.data_dir} already has {register.records.count()} marks;"
                " use --force to ingest the demo marks anyway"
            )
            if register.index_error is not None:
                typer.echo("its index was built with another model: re-indexing it now")
                with tqdm(total=register.records.count(), unit="mark", desc="reindex") as bar:
                    register.reindex(lambda n, _total: bar.update(n - bar.n))
            return
        _check_index(register)
        folder = register.data_dir / "demo-src"
        with tqdm(unit="icon", desc="render") as bar:
            metadata = write_demo_folder(folder, limit, lambda _slug: bar.update(1))
        total = sum(1 for _ in metadata.open())
        with tqdm(total=total, unit="mark", desc="ingest") as bar:
            summary = register.ingest_folder(
                folder / "images", metadata, lambda e: bar.update(1) if e.mark_id else None
            )
    finally:
        register.close()
    typer.echo(
        f"demo register: added {summary.added}, updated {summary.updated}, skipped "
        f"{summary.skipped}, failed {summary.failed} in {summary.seconds:.1f} s"
    )


keys_app = typer.Typer(help="API keys: create, list, revoke (stored hashed in the data dir, "
                       "or in the records' database server).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_store(ctx: typer.Context):  # noqa: ANN202 - KeyStore, imported lazily
    from service.keys import KeyStore, keys_location

    settings: Settings = ctx.obj.settings
    return KeyStore(keys_location(settings.resolved_data_dir, settings.database_url))


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help="public, examiner or admin.")],
    name: Annotated[str | None, typer.Option("--name", help="Who or what it is for.")] = None,
) -> None:
    """Make a key for ROLE. The key is printed once, on the last line; only its hash is
    kept, so it cannot be shown again."""
    from service.access import Role

    try:
        chosen = Role(role)
    except ValueError as exc:
        _err(f"--role must be one of {', '.join(r.value for r in Role)}, got {role!r}")
        raise typer.Exit(2) from exc
    store = _key_store(ctx)
    try:
        record, key = store.create(chosen, name)
    finally:
        store.close()
    typer.echo(f"created key {record.key_id} (role {record.role.value}"
               f"{', ' + record.name if record.name else ''}); it is shown only now:")
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a key.")] = False,
) -> None:
    """Every key: id, role, name, when made and when revoked (never the key itself)."""
    store = _key_store(ctx)
    try:
        keys = store.list()
    finally:
        store.close()
    for key in keys:
        if as_json:
            typer.echo(json.dumps({"key_id": key.key_id, "role": key.role.value,
                                   "name": key.name, "created_at": key.created_at,
                                   "revoked_at": key.revoked_at}))
        else:
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            typer.echo(f"{key.key_id}  {key.role.value:<8}  {key.created_at}  {state:<30}  "
                       f"{key.name or ''}")
    if not keys and not as_json:
        typer.echo("no keys")


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (as `keys list` shows).")],
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from service.keys import UnknownKey

    store = _key_store(ctx)
    try:
        key = store.revoke(key_id)
    except UnknownKey as exc:
        _err(f"no key with id {key_id!r}")
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"revoked {key.key_id} ({key.role.value}) at {key.revoked_at}")


db_app = typer.Typer(help="The records database: its schema revision and migrations.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")


def _records_url(ctx: typer.Context):  # noqa: ANN202 - sqlalchemy URL, imported lazily
    from service.db.engine import database_url
    from service.register import records_location

    return database_url(records_location(ctx.obj.settings))


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    sql: Annotated[bool, typer.Option(
        "--sql", help="Print the DDL (for a DBA to apply) instead of running it.")] = False,
) -> None:
    """Migrate the records schema to this release's (the server also does this on open,
    unless TMSEARCH_DATABASE_MIGRATE=false)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.db.engine import create_records_engine, redacted
    from service.db.migrate import HEAD, SchemaError, ensure_schema, upgrade_sql

    url = _records_url(ctx)
    if sql:
        typer.echo(upgrade_sql(url))
        return
    engine = create_records_engine(url)
    try:
        ensure_schema(engine)
    except (SchemaError, SQLAlchemyError) as exc:
        _err(f"{redacted(url)}: {getattr(exc, 'orig', None) or exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"{redacted(url)}: schema at revision {HEAD} (this release's)")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the records schema's revision; exit 1 when it is behind this release's."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.db.engine import create_records_engine, redacted
    from service.db.migrate import HEAD, current_revision

    url = _records_url(ctx)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        _err(f"no records database at {url.database}")
        raise typer.Exit(2)
    engine = create_records_engine(url)
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except SQLAlchemyError as exc:
        _err(f"{redacted(url)}: {getattr(exc, 'orig', None) or exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    state = "up to date" if revision == HEAD else "behind: run `tmsearch db upgrade`"
    typer.echo(f"{redacted(url)} ({url.get_backend_name()}): revision {revision or 'none'}, "
               f"this release's {HEAD}: {state}")
    if revision != HEAD:
        raise typer.Exit(1)


if __name__ == "__main__":  # python -m service.cli, as the tmsearch script
    app()
