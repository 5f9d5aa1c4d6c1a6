"""``tmsearch keys``: API keys (create, list, revoke), stored hashed in the data dir."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from service.settings import Settings

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    pass
from service.cli.app import _err, app

keys_app = typer.Typer(
    rich_markup_mode=None,
    help="API keys: create, list, revoke (stored hashed in the data dir, "
         "or in the records' database server).",
    no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _key_store(ctx: typer.Context):  # noqa: ANN202 - KeyStore, imported lazily
    from service.security.keys import KeyStore
    from service.storage.layout import DataDir

    settings: Settings = ctx.obj.settings
    return KeyStore(DataDir.of(settings).keys)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help="public, agent, examiner or admin.")],
    name: Annotated[str | None, typer.Option(
        "--name", metavar="NAME", help="Who or what it is for.")] = None,
) -> None:
    """Make a key for ROLE. The key is printed once, on the last line; only its hash is
    kept, so it cannot be shown again."""
    from service.security.access import Role

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
    key_id: Annotated[str, typer.Argument(
        metavar="KEY_ID", help="The key's id (as `keys list` shows).")],
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from service.security.keys import UnknownKey

    store = _key_store(ctx)
    try:
        key = store.revoke(key_id)
    except UnknownKey as exc:
        _err(f"no key with id {key_id!r}")
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"revoked {key.key_id} ({key.role.value}) at {key.revoked_at}")
