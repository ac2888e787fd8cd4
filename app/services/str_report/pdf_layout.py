"""Layout pieces of the STR PDF: the embedded fonts, paragraph styles, bilingual headings and
tables (reportlab platypus)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

ISO_INSTANT = re.compile(r"\b(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z\b")
FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
MARGIN = 15 * mm
STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=15, leading=19, spaceAfter=4),
    # keepWithNext: a heading never ends a page without the block it introduces
    "h1": ParagraphStyle("h1", fontName=BOLD, fontSize=12, leading=15, spaceBefore=10,
                         spaceAfter=4, textColor=colors.HexColor("#1f3a5f"), keepWithNext=1),
    "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=10, leading=13, spaceBefore=6,
                         spaceAfter=2, keepWithNext=1),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9.5),
    "head": ParagraphStyle("head", fontName=BOLD, fontSize=7.5, leading=9.5),
    # Hashes and ids have no spaces: let them break anywhere instead of running off the page.
    "code": ParagraphStyle("code", fontName=FONT, fontSize=7, leading=9, wordWrap="CJK"),
}


def register_fonts() -> None:
    """Register the embedded fonts with reportlab (once per process)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def text(value: Any) -> str:
    """A value as escaped paragraph text; ``—`` for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes / evet" if value else "no / hayır"
    if isinstance(value, list | tuple):
        return escape(", ".join(str(v) for v in value))
    # "2026-11-20 10:00:00" wraps and reads better in a narrow cell than "…T10:00:00Z"
    return escape(ISO_INSTANT.sub(r"\1 \2", str(value)))


def para(value: Any, style: str = "body") -> Paragraph:
    """A paragraph of ``value`` (escaped; the title and headings are plain text too)."""
    return Paragraph(text(value).replace("\n", "<br/>"), STYLES[style])


def heading(english: str, turkish: str, level: str = "h1") -> Paragraph:
    """A bilingual heading: ``English / Türkçe``."""
    return para(f"{english} / {turkish}", level)


def grid(header: list[str], rows: list[list[Any]], widths: list[float],
         code_columns: tuple[int, ...] = ()) -> Flowable:
    """A table with a repeated bold header row; ``widths`` are fractions of the line."""
    if not rows:
        return para("None / Yok", "cell")
    usable = A4[0] - 2 * MARGIN
    body = [[para(h, "head") for h in header]]
    body += [[para(v, "code" if i in code_columns else "cell") for i, v in enumerate(row)]
             for row in rows]
    # splitInRow: a cell taller than a page (a long note, a long evidence list) continues on
    # the next page instead of failing the whole report.
    table = Table(body, colWidths=[w * usable for w in widths], repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),  # the table's own default is Helvetica
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def pairs(items: list[tuple[str, Any]]) -> Flowable:
    """A two-column label/value table."""
    return grid(["Field / Alan", "Value / Değer"], [[k, v] for k, v in items], [0.3, 0.7])


def gap() -> Spacer:
    """Vertical space between blocks."""
    return Spacer(1, 3 * mm)
