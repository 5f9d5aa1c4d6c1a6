"""``tmsearch watch``: watches over the register's new filings, and their alerts.

The CLI acts as the operator on the data dir: it sees every owner's watches and alerts
(filed marks included). A watch made here belongs to ``cli`` unless ``--owner`` names an
API key's id, whose holder then sees it through the API.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from service.cli.app import _err, _open, app

watch_app = typer.Typer(
    rich_markup_mode=None, no_args_is_help=True,
    help="Watch new filings for marks like yours: add, list, remove, run, alerts.")
app.add_typer(watch_app, name="watch")

CLI_OWNER = "cli"


def _ints(value: str | None, flag: str) -> list[int]:
    if not value:
        return []
    try:
        return [int(v) for v in value.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        _err(f"{flag} takes numbers separated by commas, got {value!r}")
        raise typer.Exit(2) from exc


def _codes(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").replace(";", ",").split(",") if v.strip()]


@watch_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The watch's name.")],
    image: Annotated[list[Path] | None, typer.Option(
        "--image", metavar="FILE", help="An image of a mark to protect (repeatable).")] = None,
    mark: Annotated[list[str] | None, typer.Option(
        "--mark", metavar="ID", help="A register mark to protect (repeatable).")] = None,
    nice_classes: Annotated[str | None, typer.Option(
        "--nice-classes", metavar="LIST", help="Only filings in these Nice classes, "
        "e.g. 9,42.")] = None,
    vienna_codes: Annotated[str | None, typer.Option(
        "--vienna-codes", metavar="LIST", help="Only filings with these Vienna codes "
        "(prefixes), e.g. 26.01,03.")] = None,
    min_risk: Annotated[str, typer.Option(
        "--min-risk", metavar="LEVEL", help="Alert from this risk level: low, medium or "
        "high.")] = "medium",
    min_score: Annotated[float | None, typer.Option(
        "--min-score", metavar="SCORE", min=0.0, max=1.0,
        help="Alert from this score instead of a risk level.")] = None,
    owner: Annotated[str, typer.Option(
        "--owner", metavar="KEY_ID", help="The API key id the watch belongs to.")] = CLI_OWNER,
) -> None:
    """Protect one or more marks: every new filing like them raises an alert."""
    from service.marks.filters import QueryError
    from service.storage.stored_marks import MarkNotFound
    from service.watch.store import WatchError
    from service.watch.watches import WatchSpec

    images = []
    for path in image or []:
        try:
            images.append((path.name, path.read_bytes()))
        except OSError as exc:
            _err(f"cannot read {path}: {exc.strerror or exc}")
            raise typer.Exit(2) from exc
    spec = WatchSpec(name, owner, images, mark or [], _ints(nice_classes, "--nice-classes"),
                     _codes(vienna_codes), None if min_score is not None else min_risk,
                     min_score)
    register = _open(ctx)
    try:
        watch = register.watches.add(spec)
    except (WatchError, MarkNotFound, QueryError, ValueError) as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc
    finally:
        register.close()
    level = f"score >= {watch.min_score}" if watch.min_score is not None else \
        f"risk {watch.min_risk or 'medium'} or higher"
    typer.echo(f"watch {watch.name} (id {watch.id}) protects {len(watch.marks)} mark(s), "
               f"alerts at {level}")


@watch_app.command("list")
def list_watches(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a watch.")] = False,
) -> None:
    """Every watch: its marks, filters and level."""
    register = _open(ctx)
    try:
        watches = register.watches.list()
    finally:
        register.close()
    for watch in watches:
        if as_json:
            typer.echo(json.dumps(asdict(watch), ensure_ascii=False))
            continue
        marks = ", ".join(m.label for m in watch.marks)
        level = watch.min_score if watch.min_score is not None else watch.min_risk or "medium"
        classes = ",".join(map(str, watch.nice_classes)) or "any class"
        typer.echo(f"{watch.id}  {watch.name}  owner {watch.owner}  {level}  {classes}  "
                   f"[{marks}]")
    if not watches:
        typer.echo("no watches", err=True)


def _find(register, name: str):  # noqa: ANN001, ANN202 - Register and Watch, lazily imported
    from service.watch.store import WatchNotFound

    try:
        return register.watches.find(name)
    except WatchNotFound as exc:
        _err(str(exc))
        raise typer.Exit(2) from exc


@watch_app.command("remove")
def remove(ctx: typer.Context,
           name: Annotated[str, typer.Argument(metavar="NAME", help="The watch's name.")]
           ) -> None:
    """Remove a watch and its alerts."""
    register = _open(ctx)
    try:
        watch = _find(register, name)
        register.watches.remove(watch)
    finally:
        register.close()
    typer.echo(f"removed watch {watch.name} (id {watch.id})")


@watch_app.command("run")
def run(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="DATE", help="Check marks added or changed since this day "
        "(YYYY-MM-DD); default: every mark.")] = None,
) -> None:
    """Check a period's filings again against the watches as they are now (for a watch
    made after them). An alert is never raised twice."""
    from datetime import date

    if since is not None:
        try:
            since = date.fromisoformat(since).isoformat()
        except ValueError as exc:
            _err(f"--since takes a day as YYYY-MM-DD, got {since!r}")
            raise typer.Exit(2) from exc
    register = _open(ctx)
    try:
        written = register.watches.run(since)
    finally:
        register.close()
    typer.echo(f"{written} new alert(s)")


@watch_app.command("alerts")
def alerts(
    ctx: typer.Context,
    watch: Annotated[str | None, typer.Option(
        "--watch", metavar="NAME", help="Only this watch's alerts.")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", metavar="STATUS", help="new, seen or dismissed.")] = None,
    page: Annotated[int, typer.Option("--page", metavar="N", min=1)] = 1,
    per_page: Annotated[int, typer.Option("--per-page", metavar="N", min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object a line: watch, mark id, score, risk, match.")] = False,
    csv_out: Annotated[Path | None, typer.Option(
        "--csv", metavar="FILE", help="Write the watch's alerts (all) as CSV here "
        "(needs --watch).")] = None,
    pdf_out: Annotated[Path | None, typer.Option(
        "--pdf", metavar="FILE", help="Write the watch's alerts as PDF here, each filing "
        "beside the watched mark (needs --watch).")] = None,
    language: Annotated[str, typer.Option(
        "--language", metavar="en|zh",
        help="The PDF's language: en (English) or zh (Simplified Chinese).")] = "en",
) -> None:
    """Alerts, newest first; or one watch's alerts written as CSV and/or PDF."""
    from service.watch.store import ALERT_STATUSES, AlertQuery

    if status is not None and status not in ALERT_STATUSES:
        _err(f"--status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
        raise typer.Exit(2)
    if csv_out is not None or pdf_out is not None:
        _export(ctx, watch, status, csv_out, pdf_out, language)
        return
    register = _open(ctx)
    try:
        found, total = register.watches.store.alerts(
            AlertQuery(watch=watch, status=status, page=page, per_page=per_page))
    finally:
        register.close()
    for alert in found:
        if as_json:
            typer.echo(json.dumps({
                "id": alert.id, "watch": alert.watch, "mark_id": alert.mark_id,
                "score": round(alert.score, 4), "risk": alert.risk,
                "match": {"watched_mark": alert.watched_mark, "component": alert.matched},
                "status": alert.status, "created_at": alert.created_at}, ensure_ascii=False))
        else:
            typer.echo(f"{alert.id}  {alert.created_at}  {alert.watch}  {alert.mark_id}  "
                       f"{alert.score:.3f} {alert.risk:<6}  like {alert.watched_mark} "
                       f"({alert.matched})  {alert.status}")
    typer.echo(f"{total} alert(s)", err=True)


def _export(ctx: typer.Context, name: str | None, status: str | None, csv_out: Path | None,
            pdf_out: Path | None, language: str) -> None:
    """``alerts --csv/--pdf``: every alert of one watch (the PDF: the newest
    ``MAX_PDF_ALERTS``), as the operator sees them, filed filings included. The paths are
    checked before the register opens; each file is renamed into place when whole."""
    from service.cli.search import _unwritable
    from service.reports.alert_export import (
        MAX_PDF_ALERTS,
        collect_alerts,
        write_alerts_csv,
        write_alerts_pdf,
    )
    from service.reports.batch import written_in_place

    if name is None:
        _err("--csv and --pdf write one watch's alerts: name it with --watch")
        raise typer.Exit(2)
    if language not in ("en", "zh"):
        _err(f"--language is en or zh, not {language!r}")
        raise typer.Exit(2)
    for target in (csv_out, pdf_out):
        problem = _unwritable(target) if target is not None else None
        if problem:
            _err(f"cannot write {target}: {problem}")
            raise typer.Exit(2)
    register = _open(ctx)
    try:
        found = _find(register, name)
        if csv_out is not None:
            export = collect_alerts(register.watches.store, register.records, found, True,
                                    status)
            with written_in_place(csv_out, "w") as fh:
                write_alerts_csv(export, fh)
            typer.echo(f"wrote {len(export.lines)} alert(s) of watch {found.name} to {csv_out}")
        if pdf_out is not None:
            export = collect_alerts(register.watches.store, register.records, found, True,
                                    status, limit=MAX_PDF_ALERTS)

            def thumbnail(mark_id: str) -> bytes | None:
                try:
                    return register.thumbnail(mark_id)
                except Exception:  # noqa: BLE001 - the PDF says "no image"
                    return None

            with written_in_place(pdf_out, "wb") as fh:
                write_alerts_pdf(export, fh, thumbnail, language)
            shown = f"{len(export.lines)} of {export.total}" \
                if len(export.lines) < export.total else str(export.total)
            typer.echo(f"wrote {shown} alert(s) of watch {found.name} to {pdf_out}")
    finally:
        register.close()


@watch_app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Post the alerts waiting for the webhook (TMSEARCH_WATCH_WEBHOOK_URL) once; a
    running server does this every few seconds by itself."""
    from service.watch.webhook import WebhookSender

    settings = ctx.obj.settings
    if not settings.watch_webhook_url:
        _err("no webhook: set TMSEARCH_WATCH_WEBHOOK_URL")
        raise typer.Exit(2)
    register = _open(ctx)
    sender = WebhookSender(register.records, settings.watch_webhook_url)
    try:
        report = sender.deliver_due()
    finally:
        sender.close()
        register.close()
    typer.echo(f"delivered {report.delivered}, to retry {report.retrying}, "
               f"given up {report.failed}")
