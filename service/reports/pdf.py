"""A batch report as PDF, in English or Simplified Chinese: one section (one page or
more) per query logo, the logo above its matches with thumbnails, scores and risk levels,
a header with the filters, the date and the model.

Text is set in Debian's WenQuanYi Zen Hei (``fonts-wqy-zenhei``, ``make fonts``) when it
is installed, so Chinese mark names and owners print in either language; without it the
PDF falls back to Helvetica (and a Chinese report to English: nothing is downloaded).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from PIL import Image

from service.marks.images import ImageError, ImageLimits, decode_image

if TYPE_CHECKING:
    from service.reports.batch import Report

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
LANGUAGES = ("en", "zh")
RISK_COLOURS = {"high": "#b3261e", "medium": "#b26a00", "low": "#2e7d32"}
ZH = {
    "Trademark pre-check report": "商标近似预检报告",
    "Query {index} of {total}: {name}": "检索图样 {index}/{total}：{name}",
    "Date {date} · model {model} · top {k} · filters and options: {options}":
        "日期 {date} · 模型 {model} · 前 {k} 个结果 · 筛选与选项：{options}",
    "Error: {error}": "错误：{error}",
    "#": "序号", "Match": "匹配商标", "Mark": "商标", "Score": "近似度", "Risk": "风险等级",
    "classes": "尼斯分类", "matched": "匹配", "words": "文字要素", "whole": "整体商标",
    "figure": "图形要素", "no match": "无匹配", "(no image)": "（无图像）",
    "(unreadable)": "（无法读取）", "No queries.": "无检索图样。",
    "high": "高", "medium": "中", "low": "低",
    "filed": "已申请", "published": "已公告", "registered": "已注册", "expired": "已失效",
    "refused": "已驳回",
}


def write_pdf(report: Report, fh: IO[bytes], thumbnail: Callable[[str], bytes | None],
              language: str = "en") -> None:
    """Write ``report`` as PDF to ``fh`` in ``language`` (``en`` or ``zh``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    font = cjk_font()
    zh = language == "zh" and font is not None

    def t(text: str, **values: Any) -> str:
        return (ZH.get(text, text) if zh else text).format(**values)

    styles = stylesheet(font)
    doc = SimpleDocTemplate(fh, pagesize=A4, title=t("Trademark pre-check report"),
                            leftMargin=15 * mm, rightMargin=15 * mm)
    risk_colour = {risk: colors.HexColor(c) for risk, c in RISK_COLOURS.items()}

    story: list[Any] = []
    for index, query in enumerate(report.queries, start=1):
        if index > 1:
            story.append(PageBreak())
        story.append(Paragraph(t("Query {index} of {total}: {name}", index=index,
                                 total=len(report.queries), name=escape(query.name)),
                               styles["Heading2"]))
        story.append(Paragraph(t(
            "Date {date} · model {model} · top {k} · filters and options: {options}",
            date=report.created, model=escape(report.model_version), k=report.k,
            options=escape(report.describe_options())).replace("·", "&middot;"),
            styles["Normal"]))
        story.append(Spacer(1, 4 * mm))
        if query.error is not None:
            story.append(Paragraph(t("Error: {error}", error=escape(query.error)),
                                   styles["Normal"]))
            continue
        story.append(picture(query.image, 30 * mm, styles["Normal"], t))
        story.append(Spacer(1, 3 * mm))
        rows: list[list[Any]] = [[t("#"), t("Match"), t("Mark"), t("Score"), t("Risk")]]
        for rank, r in enumerate(query.results, start=1):
            rec = r.record
            part = r.component.kind if r.component else "whole"
            details = f"<b>{escape(rec.id)}</b><br/>{escape(rec.name or '')}<br/>" \
                      f"{escape(rec.owner or '')}<br/>{t('classes')} " \
                      f"{escape(', '.join(map(str, rec.nice_classes)) or '-')}" \
                      f" &middot; {escape(t(rec.status) if rec.status else '-')}<br/>" \
                      f"{t('matched')} {escape(t(part))}" + \
                      (f" &middot; {t('words')} &quot;{escape(r.words.mark)}&quot;"
                       if r.words else "")
            rows.append([str(rank), picture(thumbnail(rec.id), 22 * mm, styles["Normal"], t),
                         Paragraph(details, styles["Normal"]), f"{r.score:.3f}",
                         t(r.risk.value) if zh else r.risk.value.upper()])
        if len(rows) == 1:
            rows.append(["", "", t("no match"), "", ""])
        # rows split across pages (the header repeats): any k fits
        table = Table(rows, colWidths=[10 * mm, 28 * mm, 110 * mm, 16 * mm, 16 * mm],
                      repeatRows=1, splitByRow=1)
        style = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                 ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]
        if font is not None:
            style.append(("FONTNAME", (0, 0), (-1, -1), font))
        for row, r in enumerate(query.results, start=1):
            style.append(("TEXTCOLOR", (4, row), (4, row), risk_colour[r.risk.value]))
        table.setStyle(TableStyle(style))
        story.append(table)
    if not story:
        story.append(Paragraph(t("No queries."), styles["Normal"]))
    doc.build(story)


def cjk_font() -> str | None:
    """The registered name of the CJK font, or None where it is not installed."""
    if not CJK_FONT.is_file():
        return None
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = "WenQuanYiZenHei"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(CJK_FONT), subfontIndex=0))
    return name


def stylesheet(font: str | None) -> Any:
    """reportlab's sample styles, set in ``font`` (the CJK font) when there is one."""
    from reportlab.lib.styles import getSampleStyleSheet

    styles = getSampleStyleSheet()
    if font is not None:
        for style in styles.byName.values():
            if hasattr(style, "fontName"):
                style.fontName = font
    return styles


def picture(data: bytes | None, side: float, style: Any,
            say: Callable[[str], str] = str) -> Any:
    """An image as a flowable at most ``side`` wide and high, or a note in ``say``'s
    language where there is none or it cannot be read (SVG is decoded as the service
    decodes it)."""
    from reportlab.platypus import Image as PdfImage
    from reportlab.platypus import Paragraph

    if not data:
        return Paragraph(say("(no image)"), style)
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # noqa: BLE001 - SVG or unreadable: decode as the service does
        try:
            image = decode_image(data, ImageLimits()).image
        except ImageError:
            return Paragraph(say("(unreadable)"), style)
    image = image.convert("RGB")
    image.thumbnail((256, 256))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    buf.seek(0)
    scale = side / max(image.size)
    return PdfImage(buf, width=image.width * scale, height=image.height * scale)


def escape(text: str) -> str:
    """``text`` safe inside a reportlab Paragraph's markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
