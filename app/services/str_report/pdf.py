"""The STR package printed as a PDF (reportlab): bilingual headings (English / Turkish),
paginated, DejaVu Sans embedded so that Turkish letters (ğ ş ı İ ç ö ü) print correctly.

The PDF is a rendering of the JSON package, never a second source: every figure comes from the
package, and its SHA-256 is printed on every page. ``invariant`` output makes the same package
give the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, SimpleDocTemplate

from app.services.str_report.pdf_layout import FONT, MARGIN, para, register_fonts
from app.services.str_report.pdf_sections import SECTIONS

TITLE = "Suspicious Transaction Report / Şüpheli İşlem Bildirimi"


def render_str_pdf(package: dict[str, Any]) -> bytes:
    """The PDF of ``package`` (as built by ``build_str_package``)."""
    register_fonts()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN + 4 * mm, bottomMargin=MARGIN + 4 * mm,
                            title=f"STR {package['case']['id']}", author="kybgate",
                            creator="kybgate", invariant=1,
                            # every page starts in DejaVu: Helvetica has no ğ ş ı İ
                            initialFontName=FONT)
    story: list[Flowable] = [para(TITLE, "title")]
    for section in SECTIONS:
        story += section(package)
    footer = _footer(package)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _footer(package: dict[str, Any]):
    case_id, digest = package["case"]["id"], package["sha256"]

    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        width, _height = A4
        canvas.drawString(MARGIN, 8 * mm, f"{case_id} · SHA-256 {digest}")
        canvas.drawRightString(width - MARGIN, 8 * mm,
                               f"Page / Sayfa {canvas.getPageNumber()}")
        canvas.restoreState()
    return draw
