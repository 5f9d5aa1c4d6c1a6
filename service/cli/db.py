"""``tmsearch db``: the records database's schema revision and migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass
from service.cli.app import _err, app

db_app = typer.Typer(
    rich_markup_mode=None,
    help="The records database: its schema revision and migrations.",
    no_args_is_help=True)
app.add_typer(db_app, name="db")


def _records_url(ctx: typer.Context):  # noqa: ANN202 - sqlalchemy URL, imported lazily
    from service.storage.db.engine import database_url
    from service.storage.layout import DataDir

    return database_url(DataDir.of(ctx.obj.settings).records)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    sql: Annotated[bool, typer.Option(
        "--sql", help="Print the DDL (for a DBA to apply) instead of running it.")] = False,
) -> None:
    """Migrate the records schema to this release's (the server also does this on open,
    unless TMSEARCH_DATABASE_MIGRATE=false)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.storage.db.engine import create_records_engine, redacted
    from service.storage.db.migrate import HEAD, SchemaError, ensure_schema, upgrade_sql

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

    from service.storage.db.engine import create_records_engine, redacted
    from service.storage.db.migrate import HEAD, current_revision

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
