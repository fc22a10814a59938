"""Server-rendered SVG charts: pure functions from numbers to markup, no JavaScript.

The SVG is inlined in the page (the CSP allows no external script, and needs none here);
every label is escaped. Each chart carries a <title> and a data table follows it in the
page, for screen readers and for copying figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#123a66", "#2e7d32", "#b26a00", "#a61b1b", "#6a1b9a", "#00838f")
FONT = 'font-family="system-ui, DejaVu Sans, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def _svg_open(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {FONT}>'
    )


def _nice_max(value: float) -> float:
    """A round axis maximum ≥ value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.1f}".replace(".", ",")


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 760,
    height: int = 240,
) -> Markup:
    """Lines over days (x: labels, evenly spaced), with a legend."""
    # The right margin holds half of the last day's label (centred on its point).
    left, right, top, bottom = 44, 24, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / peak

    parts = [
        _svg_open(width, height),
        f"<title>{escape(title)}</title>",
    ]
    for step in range(5):
        value = peak * step / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#dde3ea"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="#5b6b7c">'
            f"{_number(value)}</text>"
        )
    every = max(1, n // 10)
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="#5b6b7c">{escape(label)}</text>'
            )
    for index, s in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
                f"<title>{escape(s.name)}</title></polyline>"
            )
        legend_x = left + index * 170
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14}" y="{height - 5}">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    percent: bool = False,
    width: int = 760,
    bar_height: int = 18,
    label_width: int = 260,
) -> Markup:
    """Horizontal bars, one per (label, value), largest scale first as given."""
    if not items:
        # Said in the page's text size, not in a drawing scaled to its panel.
        return Markup('<p class="hint">Aucune donnée sur la période.</p>')
    gap = 6
    top = 8
    height = top + len(items) * (bar_height + gap) + 8
    peak = 1.0 if percent else _nice_max(max((v for _, v in items), default=0))
    plot_w = width - label_width - 70
    parts = [
        _svg_open(width, height),
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * (bar_height + gap)
        w = plot_w * (value / peak if peak else 0)
        shown = f"{value * 100:.1f} %".replace(".", ",") if percent else f"{_number(value)}{unit}"
        short = label if len(label) <= 42 else label[:41] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar_height - 5}" text-anchor="end">'
            f"{escape(short)}<title>{escape(label)}</title></text>"
            f'<rect x="{label_width}" y="{y}" width="{max(w, 1):.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}" rx="2"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + bar_height - 5}">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
