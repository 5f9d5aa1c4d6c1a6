"""The ``tmsearch`` root: the Typer app, its global options and the helpers every
command group shares (one error line, opening the register lazily)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from service.marks.plain_errors import problem_text
from service.settings import DeviceChoice, Settings

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass


app = typer.Typer(
    help="Trademark image similarity search: ingest marks, search by image, serve the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: Rich markup ate every [bracketed] part ("[env TMSEARCH_DATA_DIR; ./var]")
    # and gave each flag a "<bool>" column
    rich_markup_mode=None,
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
        typer.Option(
            "--data-dir", metavar="DIR", help="Register data dir [env TMSEARCH_DATA_DIR; ./var]."),
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
            _err(f"setting {problem_text(problem, 'settings')}")
        raise typer.Exit(2) from exc


def _open(ctx: typer.Context, **overrides: Any):  # noqa: ANN202 - Register, imported lazily
    """Open the register (loads the model: imported here so ``--help`` stays fast)."""
    settings: Settings = ctx.obj.settings
    if overrides:
        settings = settings.model_copy(update=overrides)
    # a word at once: torch, the model and the register take seconds to load (stderr, so
    # that --json on stdout stays one object a line)
    typer.echo(f"opening the register in {settings.resolved_data_dir} …", err=True)
    from service.register import Register

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
