"""``tmsearch list``: browse the register by classes, codes, owner, dates and words, without
an image (the CLI face of ``GET /v1/marks``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from service.cli.app import _err, _open, app
from service.cli.search import with_filter_options
from service.marks.filters import QueryError, parse_filters
from service.storage.record_listing import MAX_PER_PAGE


@app.command("list")
@with_filter_options
def list_marks(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Option(
        "--text", metavar="WORDS", help="Part of the mark's name or words, "
        "case-insensitive.")] = None,
    page: Annotated[int, typer.Option("--page", metavar="N", min=1, help="1-based page.")] = 1,
    per_page: Annotated[int, typer.Option(
        "--per-page", metavar="N", min=1, max=MAX_PER_PAGE, help="Marks a page.")] = 20,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object a mark (the API's fields but the URLs).")] = False,
    search_fields: dict[str, Any] | None = None,
) -> None:
    """List the marks passing the filters, newest filing first, a page at a time. The CLI
    reads the data dir as an operator: filed marks are listed too."""
    try:
        filters = parse_filters(**(search_fields or {}))
    except QueryError as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    register = _open(ctx)
    try:
        listing = register.browse(filters, text, page, per_page, include_unpublished=True)
    finally:
        register.close()
    for record in listing.marks:
        if as_json:
            typer.echo(json.dumps(record.metadata().model_dump(mode="json"),
                                  ensure_ascii=False))
        else:
            classes = ",".join(str(c) for c in record.nice_classes) or "-"
            typer.echo(f"{record.id}  {record.filing_date or '-':<10}  "
                       f"{record.status or '-':<10}  {classes:<8}  {record.owner or '-'}  "
                       f"{record.name or ''}".rstrip())
    # stderr, so that --json on stdout stays one object a line
    typer.echo(f"page {listing.page} of {listing.pages}, {listing.total} marks"
               + (" (past the last page)" if listing.page > listing.pages else ""), err=True)
