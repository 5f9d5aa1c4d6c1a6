"""``tmsearch search`` and ``tmsearch report``: search by image or by mark id, one or
many queries, and batch reports (CSV, PDF)."""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Callable, Iterable
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from tqdm import tqdm

from service.marks.colour import SearchMode
from service.marks.filters import QueryError
from service.marks.views import Crop
from service.search.option_fields import SEARCH_FIELDS, OptionField, options_from
from service.search.query import SearchOptions

if TYPE_CHECKING:  # the register (and torch) load lazily so that --help stays fast
    from service.register import Register
    from service.search.results import SearchResult
from service.cli.app import _check_index, _err, _open, app


def with_option_fields(fields: tuple[OptionField, ...]
                       ) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command a flag for each of ``fields`` (from service/search/option_fields.py,
    the declaration the API's fields are made from too); it receives their values as one
    ``search_fields`` dict."""
    names = tuple(f.name for f in fields)

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "search_fields"]
        flags = [inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
            annotation=Annotated[f.type, typer.Option(f.flag, help=f.help,
                                                      metavar=_metavar(f))])
            for f in fields]

        @functools.wraps(command)
        def with_fields(**kwargs: Any) -> None:
            values = {name: kwargs.pop(name) for name in names}
            command(**kwargs, search_fields=values)

        with_fields.__signature__ = inspect.Signature(own + flags)  # type: ignore[attr-defined]
        return with_fields

    return decorate


#: every search option as a flag (``tmsearch search``, ``tmsearch report``)
with_search_options = with_option_fields(SEARCH_FIELDS)
#: the filters alone (``tmsearch list``)
with_filter_options = with_option_fields(tuple(f for f in SEARCH_FIELDS if f.is_filter))


def _metavar(field: OptionField) -> str | None:
    """What a search flag's value looks like (None: Click's own, a flag or a choice)."""
    if field.type is bool or field.type is SearchMode:
        return None
    if field.name.startswith("filed_"):
        return "DATE"
    return "LIST" if field.name.endswith(("classes", "codes")) or field.name == "status" else "TEXT"


def _options(search_fields: dict[str, Any], crop: str | None = None) -> SearchOptions:
    """Search options from CLI flags; a usage error (exit 2) when one does not validate.
    The CLI runs on the data dir itself, as an operator: it sees unpublished marks."""
    try:
        return options_from(search_fields, Crop.parse(crop) if crop else None,
                            include_unpublished=True)
    except QueryError as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc


@app.command()
@with_search_options
def search(
    ctx: typer.Context,
    images: Annotated[list[Path] | None, typer.Argument(
        metavar="IMAGE", help="Query images.")] = None,
    k: Annotated[int, typer.Option("--k", metavar="N", min=1, help="Results per query.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per query.")] = False,
    queries: Annotated[
        Path | None, typer.Option(
            "--queries", metavar="FILE", help="File with one image path a line.")
    ] = None,
    mark_id: Annotated[
        str | None, typer.Option(
            "--id", metavar="ID", help="Search with a mark already in the register.")
    ] = None,
    crop: Annotated[
        str | None, typer.Option(
            "--crop", metavar="X,Y,W,H", help="Search with a rectangle x,y,w,h of the image.")
    ] = None,
    search_fields: dict[str, Any] | None = None,
) -> None:
    """Find the marks most similar to each query image (or to a mark, --id), best first."""
    options = _options(search_fields or {}, crop)
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
    from service.storage.stored_marks import MarkNotFound

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
@with_search_options
def report(
    ctx: typer.Context,
    images: Annotated[list[Path], typer.Argument(
        metavar="IMAGE", help="Query logos (images or zips of them).")],
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Write the PDF report here.")],
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", metavar="FILE", help="Also write a CSV here.")] = None,
    k: Annotated[int, typer.Option(
        "--k", metavar="N", min=1, max=50, help="Matches per logo.")] = 5,
    language: Annotated[str, typer.Option(
        "--language", metavar="en|zh",
        help="The PDF's language: en (English) or zh (Simplified Chinese).")] = "en",
    search_fields: dict[str, Any] | None = None,
) -> None:
    """Pre-check many logos: their top matches with risk levels, as a PDF (and CSV)."""
    from service.reports.batch import (
        ReportError,
        read_zip,
        run_report,
        write_csv,
        written_in_place,
    )
    from service.reports.pdf import write_pdf

    options = _options(search_fields or {})
    if language not in ("en", "zh"):
        _err(f"--language is en or zh, not {language!r}")
        raise typer.Exit(2)
    for target in (out, csv_out):  # before any search: a bad path fails at once
        problem = _unwritable(target) if target is not None else None
        if problem:
            _err(f"cannot write {target}: {problem}")
            raise typer.Exit(2)
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
        with written_in_place(out, "wb") as fh:
            write_pdf(result, fh, lambda mark_id: _thumbnail_or_none(register, mark_id),
                      language)
        if csv_out is not None:
            with written_in_place(csv_out, "w") as fh:
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


def _unwritable(path: Path) -> str | None:
    """Why a report file cannot be written there, or None."""
    if path.is_dir():
        return "it is a folder"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"no folder {folder}"
    if not os.access(folder, os.W_OK):
        return f"{folder} is not writable"
    return None


def _thumbnail_or_none(register: Register, mark_id: str) -> bytes | None:
    try:
        return register.thumbnail(mark_id)
    except Exception:  # noqa: BLE001 - the PDF says "no image"
        return None
