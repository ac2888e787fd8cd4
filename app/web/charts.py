"""Server-rendered inline SVG charts (no JavaScript): horizontal bars and a link network.

Every chart carries a ``<title>`` and ``aria-label`` and is paired with a table or list in the
page, so a screen reader and a text browser get the same facts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value, and a CSS class (``pass``, ``flag``, ``fail``, ``unknown``)."""

    label: str
    value: float
    css: str = "pass"
    note: str = ""


def bar_chart(bars: Sequence[Bar], *, title: str, maximum: float | None = None,
              width: int = 560, row: int = 22, label_width: int = 170) -> Markup:
    """Horizontal bars scaled to ``maximum`` (default the largest value)."""
    top = maximum or max((b.value for b in bars), default=0) or 1
    height = row * len(bars) + 8
    plot = width - label_width - 60
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>']
    for i, bar in enumerate(bars):
        y = 4 + i * row
        length = max(0.0, min(bar.value / top, 1.0)) * plot
        parts.append(
            f'<text x="{label_width - 6}" y="{y + row * 0.65:.1f}" text-anchor="end">'
            f'{escape(bar.label)}</text>'
            f'<rect class="bar-{escape(bar.css)}" x="{label_width}" y="{y + 3}" '
            f'width="{max(length, 1.5):.1f}" height="{row - 8}" rx="2">'
            f'<title>{escape(bar.label)}: {bar.value:g} {escape(bar.note)}</title></rect>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + row * 0.65:.1f}">'
            f'{bar.value:g}{(" · " + escape(bar.note)) if bar.note else ""}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped


@dataclass(frozen=True)
class Node:
    """A merchant in the network picture."""

    id: str
    label: str
    css: str = ""
    href: str | None = None


# The network picture's geometry (user units; the SVG is drawn 1:1 in a 600 px column). Text
# widths are estimated from the character count with a generous average glyph width, so wrapped
# lines stay inside their band whatever the font.
NET_WIDTH = 600
NAME_FONT, NAME_LINE = 12, 15
EDGE_FONT, EDGE_LINE = 10.5, 13
GLYPH = 0.6  # average glyph width in em, rounded up for DejaVu Sans and Noto Sans
BOX_WIDTH, TRUNK_X, NODE_X, NODE_R = 180, 200, 372, 8
ROW_GAP = 12


def _wrap(text: str, width_px: float, font: float) -> list[str]:
    """``text`` wrapped to lines that fit ``width_px``: never cut short, long words broken."""
    return textwrap.wrap(text, max(4, int(width_px / (font * GLYPH))),
                         break_long_words=True, break_on_hyphens=False) or [""]


def network_chart(center: Node, links: Sequence[tuple[Node, Sequence[str]]], *, title: str,
                  width: int = NET_WIDTH) -> Markup:
    """The merchant in a box on the left, each linked merchant in a row of its own on the
    right, joined by an elbow edge labelled with what the two share (owner, IBAN, e-mail,
    phone, domain, IP). Names are wrapped, never cut; each row is tall enough for its name and
    for its edge label, which sits above the edge's last stretch, so no label overlaps a node,
    a name or another label (issue #11)."""
    name_x = NODE_X + NODE_R + 8
    rows = []
    for node, shares in links:
        name = _wrap(node.label, width - name_x - 4, NAME_FONT)
        # A share of two words ("sign-up IP") stays on one line: wrap only between shares.
        shared = ", ".join(share.replace(" ", "\u00a0") for share in shares)
        label = _wrap(shared, NODE_X - NODE_R - TRUNK_X - 18, EDGE_FONT)
        band = max(len(name) * NAME_LINE, 2 * (len(label) * EDGE_LINE + 4)) + ROW_GAP
        rows.append((node, name, label, band))
    box_lines = _wrap(center.label, BOX_WIDTH - 16, NAME_FONT)
    box_height = len(box_lines) * NAME_LINE + 16
    height = max(sum(r[3] for r in rows), box_height) + 8
    mid = height / 2
    parts = [f'<svg class="chart network" viewBox="0 0 {width} {height:.0f}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>']
    top = (height - sum(r[3] for r in rows)) / 2
    for node, name, label, band in rows:
        y = top + band / 2
        top += band
        parts.append(f'<path class="edge" d="M{BOX_WIDTH} {mid:.1f}H{TRUNK_X}V{y:.1f}'
                     f'H{NODE_X - NODE_R}"/>')
        parts.append(_lines(label, TRUNK_X + 10, y - 5 - (len(label) - 1) * EDGE_LINE,
                            EDGE_LINE, "edge-label"))
        parts.append(_node(node, y, name, name_x))
    parts.append(f'<rect class="center-box" x="0" y="{mid - box_height / 2:.1f}" '
                 f'width="{BOX_WIDTH}" height="{box_height}" rx="6"/>'
                 + _lines(box_lines, 8, mid - box_height / 2 + 8 + NAME_FONT, NAME_LINE,
                          "center-name", escape(center.label)))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped


def _lines(lines: Sequence[str], x: float, y: float, step: float, css: str,
           full: str | None = None) -> str:
    """One ``<text>`` of ``lines`` stacked ``step`` apart, the first baseline at ``y``."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else step}">{escape(line)}</tspan>'
                    for i, line in enumerate(lines))
    hover = f"<title>{full}</title>" if full else ""
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}">{hover}{spans}</text>'


def _node(node: Node, y: float, name: Sequence[str], name_x: float) -> str:
    first = y - (len(name) - 1) * NAME_LINE / 2 + NAME_FONT * 0.35
    body = (f'<g class="linked"><circle class="node {escape(node.css)}" cx="{NODE_X}" '
            f'cy="{y:.1f}" r="{NODE_R}"><title>{escape(node.label)}</title></circle>'
            + _lines(name, name_x, first, NAME_LINE, "name", escape(node.label)) + "</g>")
    if node.href:
        return f'<a href="{escape(node.href)}">{body}</a>'
    return body
