"""``tmsearch serve`` and ``tmsearch demo``: the API and page, and the demo register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from tqdm import tqdm

from service.settings import Settings

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass
from service.cli.app import _check_index, _open, app


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(
        "--host", metavar="ADDRESS",
        help="Bind address [default 127.0.0.1; env TMSEARCH_HOST].")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", metavar="PORT", help="Port [default 8000; env TMSEARCH_PORT].")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and the search page."""
    import uvicorn

    from service.api.main import create_app
    from service.api.observability import configure_json_logging
    from service.api.request_limits import PARSER_BUFFER_BYTES, JsonH11Protocol

    settings: Settings = ctx.obj.settings
    host = host or settings.host
    port = port or settings.port
    configure_json_logging()  # one JSON line a request, with its request id
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None,
                http=JsonH11Protocol, h11_max_incomplete_event_size=PARSER_BUFFER_BYTES)


@app.command()
def demo(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option(
            "--limit", metavar="N", help="Only this many icons (evenly spread).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Ingest even if the register has marks.")
    ] = False,
) -> None:
    """Build the offline demo register from Simple Icons (skipped if marks exist)."""
    from service.demo import demo_icon_names, write_demo_folder

    register = _open(ctx)
    try:
        if register.records.count() and not force:
            if (register.data_dir / "demo-src").is_dir():  # a restart of `make run`
                typer.echo(f"demo register ready in {register.data_dir}: "
                           f"{register.records.count()} marks")
            else:  # another register: the demo would be mixed into it
                typer.echo(
                    f"register in {register.data_dir} already has {register.records.count()}"
                    " marks; use --force to ingest the demo marks anyway")
            if register.index_error is not None:
                typer.echo("its index was built with another model: re-indexing it now")
                with tqdm(total=register.records.count(), unit="mark", desc="reindex") as bar:
                    register.reindex(lambda n, _total: bar.update(n - bar.n))
            return
        _check_index(register)
        folder = register.data_dir / "demo-src"
        with tqdm(total=len(demo_icon_names(limit)), unit="icon", desc="render") as bar:
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
