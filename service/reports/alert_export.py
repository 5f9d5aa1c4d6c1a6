"""A watch's alerts as CSV and as PDF (issue 19.3), for the API and ``tmsearch watch
alerts``.

An agent sends a client the marks filed like theirs, an examiner files them with an
opposition: so an export is one watch's alerts as the caller may see them (filings that
are still unpublished only for roles that see filed marks), each with the filing's name
and owner from the register, and the PDF shows the filing's thumbnail beside the watched
mark it looks like, the score and the risk level. The PDF is set as the batch report is
(service/reports/pdf.py: Debian's CJK font, English or Simplified Chinese).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from service.reports.pdf import RISK_COLOURS, ZH, cjk_font, escape, picture, stylesheet
from service.search.risk import RiskLevel
from service.storage.records import RecordStore
from service.watch.store import (
    ALERT_STATUSES,
    MAX_PER_PAGE,
    Alert,
    AlertQuery,
    Watch,
    WatchError,
    WatchStore,
)

#: a PDF lists at most this many alerts, the newest (a CSV lists every one)
MAX_PDF_ALERTS = 500
CSV_COLUMNS = ("alert_id", "created_at", "watch", "mark_id", "name", "owner", "watched_mark",
               "score", "risk", "matched_component", "status")
#: what a spreadsheet would read as a formula at the start of a cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ALERT_ZH = {
    "Trademark watch alerts": "商标监测预警报告",
    "Watch: {name}": "商标监测：{name}",
    "Date {date} · owner {owner} · alerts at {level}":
        "日期 {date} · 所有者 {owner} · 预警级别：{level}",
    "risk {risk} or higher": "{risk}风险及以上",
    "score >= {score}": "近似度 ≥ {score}",
    "Watched marks: {marks}": "被监测商标：{marks}",
    "Nice classes {classes} · Vienna codes {codes}": "尼斯分类 {classes} · 维也纳分类 {codes}",
    "any": "不限",
    "{count} alerts": "共 {count} 条预警",
    "the newest {count} of {total} alerts": "共 {total} 条预警，列出最新的 {count} 条",
    " · only status {status}": " · 仅处理状态：{status}",
    " · only risk {risk}": " · 仅风险等级：{risk}",
    "Filing": "新申请商标", "Details": "详情", "Watched mark": "被监测商标",
    "raised {date}": "预警时间 {date}", "status": "处理状态",
    "new": "未读", "seen": "已读", "dismissed": "已忽略",
    "No alerts.": "无预警。",
}


@dataclass(frozen=True)
class AlertLine:
    """One alert with what the register says of its filing."""

    alert: Alert
    name: str | None
    owner: str | None
    watched_mark_id: str | None  # the register mark watched, None for an uploaded image


@dataclass
class AlertExport:
    watch: Watch
    lines: list[AlertLine]
    total: int  # every alert that matched (a PDF may hold only the newest)
    status: str | None = None
    risk: str | None = None
    created: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def check_filters(status: str | None, risk: str | None) -> None:
    """Refuse a status or risk an alert cannot have (a clear 4xx, one CLI error line)."""
    if status is not None and status not in ALERT_STATUSES:
        raise WatchError(f"status must be one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    if risk is not None and risk not in {r.value for r in RiskLevel}:
        raise WatchError(f"risk must be low, medium or high, got {risk!r}")


def collect_alerts(store: WatchStore, records: RecordStore, watch: Watch,
                   include_unpublished: bool, status: str | None = None,
                   risk: str | None = None, limit: int | None = None) -> AlertExport:
    """``watch``'s alerts, newest first (at most ``limit``), that a caller who may or may
    not see unpublished marks sees. Names are unique per owner, so the watch's owner and
    name pick exactly its alerts, whoever asks (an admin too)."""
    check_filters(status, risk)
    lines: list[AlertLine] = []
    seen: set[int] = set()
    watched = {}
    for mark in watch.marks:
        watched.setdefault(mark.label, mark.mark_id)
    total, page = 0, 1
    while limit is None or len(lines) < limit:
        found, total = store.alerts(AlertQuery(
            owner=watch.owner, include_unpublished=include_unpublished, watch=watch.name,
            status=status, risk=risk, page=page, per_page=MAX_PER_PAGE))
        fresh = [a for a in found if a.id not in seen]  # alerts raised meanwhile shift pages
        facts = records.get_many([a.mark_id for a in fresh])
        for alert in fresh[:None if limit is None else limit - len(lines)]:
            seen.add(alert.id)
            record = facts.get(alert.mark_id)
            lines.append(AlertLine(alert, record.name if record else None,
                                   record.owner if record else None,
                                   watched.get(alert.watched_mark)))
        if len(found) < MAX_PER_PAGE:
            break
        page += 1
    return AlertExport(watch, lines, max(total, len(lines)), status, risk)


def _cell(text: str | None) -> str:
    """Text as a spreadsheet shows it: never run as a formula (a mark named ``=HYPERLINK``
    stays words)."""
    text = text or ""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def write_alerts_csv(export: AlertExport, fh: IO[str]) -> None:
    """One row per alert, newest first, the columns of ``CSV_COLUMNS``."""
    writer = csv.writer(fh)
    writer.writerow(CSV_COLUMNS)
    for line in export.lines:
        a = line.alert
        writer.writerow([a.id, a.created_at, _cell(a.watch), _cell(a.mark_id),
                         _cell(line.name), _cell(line.owner), _cell(a.watched_mark),
                         f"{a.score:.4f}", a.risk, a.matched or "whole", a.status])


def _when(iso: str) -> str:
    """``2026-12-02T06:27:11+00:00`` as ``2026-12-02 06:27 UTC``."""
    try:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def write_alerts_pdf(export: AlertExport, fh: IO[bytes],
                     thumbnail: Callable[[str], bytes | None], language: str = "en") -> None:
    """Write ``export`` as PDF to ``fh`` in ``language`` (``en`` or ``zh``): a header
    with the watch, then a table over as many pages as it needs."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cjk_font()
    zh = language == "zh" and font is not None
    words = {**ZH, **ALERT_ZH}

    def t(text: str, **values: Any) -> str:
        return (words.get(text, text) if zh else text).format(**values)

    def risk_text(risk: str) -> str:
        return t(risk) if zh else risk.upper()

    styles = stylesheet(font)
    normal = styles["Normal"]
    watch = export.watch
    doc = SimpleDocTemplate(fh, pagesize=A4, title=t("Trademark watch alerts"),
                            leftMargin=15 * mm, rightMargin=15 * mm)
    level = t("score >= {score}", score=watch.min_score) if watch.min_score is not None \
        else t("risk {risk} or higher", risk=risk_text(watch.min_risk or "medium"))
    count = t("{count} alerts", count=export.total) if len(export.lines) == export.total \
        else t("the newest {count} of {total} alerts", count=len(export.lines),
               total=export.total)
    if export.status:
        count += t(" · only status {status}", status=t(export.status))
    if export.risk:
        count += t(" · only risk {risk}", risk=risk_text(export.risk))
    story: list[Any] = [
        Paragraph(escape(t("Trademark watch alerts")), styles["Title"]),
        Paragraph(escape(t("Watch: {name}", name=watch.name)), styles["Heading2"]),
        Paragraph(escape(t("Date {date} · owner {owner} · alerts at {level}",
                           date=_when(export.created), owner=watch.owner, level=level)),
                  normal),
        Paragraph(escape(t("Watched marks: {marks}",
                           marks=", ".join(m.label for m in watch.marks))), normal),
        Paragraph(escape(t("Nice classes {classes} · Vienna codes {codes}",
                           classes=", ".join(map(str, watch.nice_classes)) or t("any"),
                           codes=", ".join(watch.vienna_codes) or t("any"))), normal),
        Paragraph(escape(count), normal),
        Spacer(1, 4 * mm),
    ]
    rows: list[list[Any]] = [[t("#"), t("Filing"), t("Details"), t("Watched mark"),
                              t("Score"), t("Risk")]]
    for number, line in enumerate(export.lines, start=1):
        a = line.alert
        details = "<br/>".join([
            f"<b>{escape(a.mark_id)}</b>", escape(line.name or ""), escape(line.owner or ""),
            escape(t("raised {date}", date=_when(a.created_at))),
            f"{t('matched')} {escape(t(a.matched or 'whole'))} &middot; "
            f"{t('status')} {escape(t(a.status))}"])
        label = Paragraph(escape(a.watched_mark), normal)
        watched = [picture(thumbnail(line.watched_mark_id), 18 * mm, normal, t), label] \
            if line.watched_mark_id else label
        rows.append([str(number), picture(thumbnail(a.mark_id), 22 * mm, normal, t),
                     Paragraph(details, normal), watched, f"{a.score:.3f}",
                     risk_text(a.risk)])
    if len(rows) == 1:
        rows.append(["", "", t("No alerts."), "", "", ""])
    table = Table(rows, colWidths=[9 * mm, 26 * mm, 70 * mm, 42 * mm, 16 * mm, 17 * mm],
                  repeatRows=1, splitByRow=1)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]
    if font is not None:
        style.append(("FONTNAME", (0, 0), (-1, -1), font))
    for row, line in enumerate(export.lines, start=1):
        colour = RISK_COLOURS.get(line.alert.risk)
        if colour:
            style.append(("TEXTCOLOR", (5, row), (5, row), colors.HexColor(colour)))
    table.setStyle(TableStyle(style))
    story.append(table)
    doc.build(story)
