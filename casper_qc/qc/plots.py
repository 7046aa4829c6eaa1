"""Inline SVG plots for the QC pages: generated here, embedded in the HTML, nothing loaded from
anywhere (no script, no font or style sheet, no network).

Every function returns one ``<svg>`` element as text with ``role="img"``, a ``<title>`` and a
``data-plot`` attribute naming the plot; styling is by presentation attributes only (no
``style`` attributes), text is escaped. Undefined values are drawn as "n/a" cells or missing bars,
never as zero.
"""

from __future__ import annotations

from html import escape
from typing import Any, Mapping, Sequence

__all__ = ["histogram_svg", "matrix_svg", "bars_svg"]

_FONT = 'font-family="sans-serif" font-size="11"'
_BAR = "#4c78a8"
_ALERT = "#e45756"
_AXIS = "#555555"


def _svg(plot: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" data-plot="{escape(plot)}" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _fmt(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{100 * value:.1f}%" if percent else f"{value:.2f}"


def histogram_svg(distribution: Mapping[str, Any], title: str, *, threshold: float | None = None) -> str:
    """Bars of ``distribution`` (``edges``, ``counts``, ``undefined`` as
    :meth:`casper_qc.qc.report.QCReport.distribution` gives), a dashed line at ``threshold``."""
    edges: Sequence[float] = distribution["edges"]
    counts: Sequence[int] = distribution["counts"]
    width, height, left, bottom, top = 520, 220, 40, 36, 24
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max(counts) if counts and max(counts) else 1
    step = plot_w / max(len(counts), 1)
    low, high = edges[0], edges[-1]
    body = [f'<text x="{left}" y="14" {_FONT} fill="{_AXIS}">tasks per bin; {int(distribution.get("undefined", 0))} '
            f'task(s) undefined</text>',
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{_AXIS}"/>']
    for k, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + k * step
        below = threshold is not None and edges[k + 1] <= threshold + 1e-9
        body.append(f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{step - 2:.1f}" '
                    f'height="{h:.1f}" fill="{_ALERT if below else _BAR}" data-count="{count}">'
                    f"<title>{edges[k]:.1f} to {edges[k + 1]:.1f}: {count} task(s)</title></rect>")
        if count:
            body.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" {_FONT}>'
                        f"{count}</text>")
    for k, edge in enumerate(edges):
        if k % 2 == 0:
            body.append(f'<text x="{left + k * step:.1f}" y="{top + plot_h + 14}" text-anchor="middle" {_FONT} '
                        f'fill="{_AXIS}">{edge:.1f}</text>')
    if threshold is not None and low <= threshold <= high:
        x = left + plot_w * (threshold - low) / (high - low)
        body.append(f'<line class="threshold" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + plot_h}" '
                    f'stroke="{_ALERT}" stroke-dasharray="4 3"/>'
                    f'<text x="{x + 3:.1f}" y="{top + 6}" {_FONT} fill="{_ALERT}">threshold {threshold:g}</text>')
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle" {_FONT}>'
                f"{escape(str(distribution.get('figure', 'value')))}</text>")
    return _svg("histogram", title, width, height, body)


def _color(value: float | None) -> str:
    """White (0 or below) to dark blue (1)."""
    if value is None:
        return "#eeeeee"
    t = min(max(value, 0.0), 1.0)
    r, g, b = (int(255 + (c - 255) * t) for c in (8, 69, 148))
    return f"#{r:02x}{g:02x}{b:02x}"


def matrix_svg(names: Sequence[str], values: Mapping[tuple[str, str], float | None], title: str,
               *, figure: str = "agreement") -> str:
    """An annotator x annotator matrix (symmetric; the diagonal is blank unless ``values`` has
    it), cells coloured by value and labelled with it."""
    count = len(names)
    cell, left, top = 56, 150, 120
    width, height = left + cell * count + 130, top + cell * count + 24
    body = [f'<text x="4" y="14" {_FONT} fill="{_AXIS}">{escape(figure)} between annotators</text>']
    for k, name in enumerate(names):
        short = escape(name if len(name) <= 22 else name[:21] + "…")
        body.append(f'<text x="{left - 6}" y="{top + k * cell + cell / 2 + 4:.1f}" text-anchor="end" {_FONT}>'
                    f"{short}</text>")
        x = left + k * cell + cell / 2
        body.append(f'<text x="{x:.1f}" y="{top - 6}" transform="rotate(-40 {x:.1f} {top - 6})" {_FONT}>{short}</text>')
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            value = values.get((a, b), values.get((b, a)))
            if i == j and (a, a) not in values:
                continue
            x, y = left + j * cell, top + i * cell
            dark = value is not None and value > 0.6
            body.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                        f'fill="{_color(value)}"><title>{escape(a)} / {escape(b)}: {_fmt(value)}</title></rect>'
                        f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 3:.1f}" text-anchor="middle" {_FONT} '
                        f'fill="{"#ffffff" if dark else "#222222"}">{_fmt(value)}</text>')
    return _svg("matrix", title, width, height, body)


def bars_svg(items: Sequence[tuple[str, float | None]], title: str, *, limit: float | None = None,
             percent: bool = True, plot: str = "bars", unit: str = "") -> str:
    """Horizontal bars, one per ``(label, value)``; bars beyond ``limit`` are red and a dashed
    line marks it. Undefined values get no bar and the label "n/a"."""
    left, row, top = 180, 22, 22
    width = 560
    height = top + row * max(len(items), 1) + 10
    plot_w = width - left - 70
    defined = [v for _, v in items if v is not None]
    peak = max([*defined, limit or 0.0, 1e-9])
    body = [f'<text x="4" y="14" {_FONT} fill="{_AXIS}">{escape(unit)}</text>'] if unit else []
    for k, (label, value) in enumerate(items):
        y = top + k * row
        short = escape(label if len(label) <= 26 else label[:25] + "…")
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" {_FONT}>{short}</text>')
        if value is not None:
            w = plot_w * value / peak
            over = limit is not None and value > limit
            body.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 6}" '
                        f'fill="{_ALERT if over else _BAR}" data-value="{value:.6g}">'
                        f"<title>{escape(label)}: {_fmt(value, percent)}</title></rect>")
        body.append(f'<text x="{left + (plot_w * value / peak if value is not None else 0) + 4:.1f}" y="{y + 14}" '
                    f'{_FONT}>{_fmt(value, percent)}</text>')
    if limit is not None:
        x = left + plot_w * limit / peak
        body.append(f'<line class="threshold" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" '
                    f'stroke="{_ALERT}" stroke-dasharray="4 3"/>')
    return _svg(plot, title, width, height, body)
