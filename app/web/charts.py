"""Server-rendered inline SVG charts (no JavaScript): horizontal bars and a link network.

Every chart carries a ``<title>`` and ``aria-label`` and is paired with a table or list in the
page, so a screen reader and a text browser get the same facts.
"""

from __future__ import annotations

import math
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


def network_chart(center: Node, links: Sequence[tuple[Node, Sequence[str]]], *, title: str,
                  size: int = 460) -> Markup:
    """The merchant in the middle, linked merchants on a circle around it; each edge is
    labelled with what the two share (owner, IBAN, e-mail, phone, domain, IP)."""
    mid = size / 2
    radius = size / 2 - 70 if links else 0
    parts = [f'<svg class="chart network" viewBox="0 0 {size} {size}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title>']
    placed = []
    for i, (node, shares) in enumerate(links):
        angle = 2 * math.pi * i / len(links) - math.pi / 2
        x, y = mid + radius * math.cos(angle), mid + radius * math.sin(angle)
        placed.append((node, x, y))
        parts.append(f'<line class="edge" x1="{mid:.1f}" y1="{mid:.1f}" x2="{x:.1f}" '
                     f'y2="{y:.1f}"/><text class="edge-label" x="{(mid + x) / 2:.1f}" '
                     f'y="{(mid + y) / 2 - 3:.1f}" text-anchor="middle">'
                     f'{escape(", ".join(shares))}</text>')
    for node, x, y in [(center, mid, mid), *placed]:
        parts.append(_node(node, x, y))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value is escaped


def _node(node: Node, x: float, y: float) -> str:
    label = node.label if len(node.label) <= 24 else node.label[:23] + "…"
    circle = (f'<circle class="node {escape(node.css)}" cx="{x:.1f}" cy="{y:.1f}" r="12">'
              f'<title>{escape(node.label)}</title></circle>'
              f'<text x="{x:.1f}" y="{y + 26:.1f}" text-anchor="middle">{escape(label)}</text>')
    if node.href:
        return f'<a href="{escape(node.href)}">{circle}</a>'
    return circle
