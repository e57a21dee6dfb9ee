"""Server-side SVG charts: the same markup in a dashboard page and in a PDF report.

Each function returns an :class:`Svg`; every piece of text is escaped here, so the markup
can be inserted into a template as is. Charts carry a ``<title>`` and ``<desc>`` for screen
readers, and use the Okabe–Ito palette, readable by colour-blind readers.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString

from onco_hdf.numbers import NBSP, decimals_needed, format_number

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
# Diverging scale for Likert items: disagreement in orange, agreement in blue.
DIVERGING = ("#B35806", "#F1A340", "#D9D9D9", "#998EC3", "#542788")
TEXT = "#1a1a1a"
GRID = "#c8c8c8"
# A presentation attribute, not a style: the Content-Security-Policy forbids style attributes.
FONT = "'DejaVu Sans', Arial, sans-serif"


class Svg(SafeString):
    """SVG markup built here with every text escaped, hence safe to insert as is."""

    title: str

    def __new__(cls, markup: str, title: str = "") -> Svg:
        svg = super().__new__(cls, markup)
        svg.title = title
        return svg

    @property
    def markup(self) -> str:
        return str.__str__(self)


def fmt(value: float | None, decimals: int | None = None) -> str:
    """The shared formatter; without ``decimals`` a whole number (a count) has none."""
    if decimals is None:
        whole = value is not None and math.isfinite(value) and float(value).is_integer()
        decimals = 0 if whole else 1
    return format_number(value, decimals)


LINE_H = 13  # a wrapped label's line height, px


def _wrap(label: str, limit: int = 34) -> list[str]:
    """A label on as many lines of ``limit`` characters as it needs: never clipped, so the
    chart shows the whole choice label (words are not cut)."""
    return textwrap.wrap(label, limit, break_long_words=False, break_on_hyphens=False) or [""]


def _frame(width: int, height: int, title: str, desc: str, body: list[str]) -> Svg:
    uid = f"c{abs(hash((title, desc, width, height))) % 10**8}"
    lines = _wrap(title, 80) if title else []
    shift = 18 * max(len(lines) - 1, 0)  # a long title takes lines; the plot moves down
    heading = "".join(
        f'<text x="0" y="{16 + 18 * i}" font-size="14" font-weight="bold" fill="{TEXT}">'
        f"{escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    markup = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="onco-chart" role="img" '
        f'viewBox="0 0 {width} {height + shift}" width="{width}" height="{height + shift}" '
        f'font-family="{FONT}" aria-labelledby="{uid}-t {uid}-d">'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        + heading
        + (f'<g transform="translate(0 {shift})">' if shift else "<g>")
        + "".join(body)
        + "</g></svg>"
    )
    return Svg(markup=markup, title=title)


def _label(x: float, y: float, label: str, *, limit: int = 34, size: int = 11, anchor="end"):
    """A row label, wrapped: one ``<text>`` with a ``<tspan>`` per line, ``y`` the first
    line's baseline."""
    lines = _wrap(label, limit)
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_H}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<text class="label" x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{TEXT}">{spans}</text>'
    )


def _row_layout(labels: Sequence[str], top: float, limit: int = 34) -> list[tuple[float, float]]:
    """``(y, height)`` of each row: a row is as tall as its wrapped label needs."""
    rows, y = [], top
    for label in labels:
        height = max(ROW_H, LINE_H * len(_wrap(label, limit)) + 10)
        rows.append((y, height))
        y += height
    return rows


def _rows_bottom(rows: list[tuple[float, float]], top: float) -> float:
    return rows[-1][0] + rows[-1][1] if rows else top


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: int = 11,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = TEXT,
    full: str | None = None,
) -> str:
    tip = f"<title>{escape(full)}</title>" if full and full != content else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{tip}{escape(content)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, label: str = "") -> str:
    tip = f"<title>{escape(label)}</title>" if label else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{fill}">{tip}</rect>'
    )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _axis(
    x0: float, width: float, y_top: float, y_bottom: float, max_value: float, unit: str
) -> list[str]:
    # A short unit (" %", " mm") goes on every tick; a long one only on the last.
    # Every tick has the decimals its step needs (18,75 is never cut to 18,7).
    short = len(unit.strip()) <= 3
    unit = f"{NBSP}{unit.strip()}" if unit.strip() else ""
    decimals = decimals_needed(max_value / 4)
    parts = []
    for i in range(5):
        value = max_value * i / 4
        x = x0 + width * i / 4
        parts.append(
            f'<line x1="{x:.1f}" y1="{y_top:.1f}" x2="{x:.1f}" y2="{y_bottom:.1f}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        last = i == 4
        number = fmt(value, decimals if i else 0)
        tick = f"{number}{unit}" if short or last else number
        anchor = "end" if last and not short else "middle"
        parts.append(
            _text(x + (6 if anchor == "end" else 0), y_bottom + 14, tick, size=10, anchor=anchor)
        )
    return parts


LABEL_W, WIDTH, ROW_H, TOP = 210, 640, 24, 34


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
    color: str = PALETTE[0],
) -> Svg:
    """Horizontal bars, one per label; None is drawn as "—" (no bar)."""
    known = [v for v in values if v is not None]
    top = max_value if max_value is not None else _nice_max(max(known, default=0))
    plot_w = WIDTH - LABEL_W - 60
    rows = _row_layout(labels, TOP)
    bottom = _rows_bottom(rows, TOP)
    height = bottom + 24
    body = _axis(LABEL_W, plot_w, TOP - 4, bottom, top, unit)
    for (y, row_h), label, value in zip(rows, labels, values, strict=True):
        body.append(_label(LABEL_W - 6, y + 15, label))
        if value is None:
            body.append(_text(LABEL_W + 4, y + 15, "—"))
            continue
        w = plot_w * (value / top if top else 0)
        bar_y = y + (row_h - ROW_H) / 2
        body.append(_rect(LABEL_W, bar_y + 4, w, ROW_H - 8, color, f"{label} : {fmt(value)}{unit}"))
        body.append(_text(LABEL_W + w + 4, bar_y + 15, f"{fmt(value)}{unit}", size=10))
    desc = "; ".join(f"{lab} : {fmt(v)}{unit}" for lab, v in zip(labels, values, strict=True))
    return _frame(WIDTH, height, title, desc, body)


def stacked_bar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    percent: bool = True,
    diverging: bool = False,
) -> Svg:
    """One horizontal bar per label, split by series (counts, shown as % if ``percent``).

    ``diverging`` centres the middle series on the axis (Likert scales): disagreement to
    the left, agreement to the right.
    """
    colors = DIVERGING if diverging and len(series) <= len(DIVERGING) else PALETTE
    if diverging and len(series) == 4:
        colors = (DIVERGING[0], DIVERGING[1], DIVERGING[3], DIVERGING[4])
    plot_w = WIDTH - LABEL_W - 20
    rows = _row_layout(labels, TOP)
    bottom = _rows_bottom(rows, TOP)
    legend_lines = [len(_wrap(name, 28)) for name, _v in series]
    legend_rows = [
        max(legend_lines[k : k + 3]) for k in range(0, len(series), 3)
    ]  # each legend row as tall as its longest wrapped name
    height = bottom + 16 + sum(5 + LINE_H * lines for lines in legend_rows)
    body: list[str] = []
    totals = [sum(s[1][i] for s in series) for i in range(len(labels))]
    raw_max = max(totals, default=0)
    scale_max = 100.0 if percent else _nice_max(raw_max)
    centre_x = LABEL_W + plot_w / 2
    for i, label in enumerate(labels):
        y, row_h = rows[i]
        body.append(_label(LABEL_W - 6, y + 15, label))
        y += (row_h - ROW_H) / 2
        total = totals[i]
        if not total:
            body.append(_text(LABEL_W + 4, y + 15, "—"))
            continue
        shares = [s[1][i] * (100.0 / total if percent else 1.0) for s in series]
        if diverging:
            mid = len(series) / 2
            left_share = sum(shares[: int(mid)]) + (shares[int(mid)] / 2 if len(series) % 2 else 0)
            x = centre_x - plot_w / 2 * left_share / scale_max
            width_unit = plot_w / 2 / scale_max
        else:
            x = LABEL_W
            width_unit = plot_w / scale_max
        for j, (name, _values) in enumerate(series):
            w = shares[j] * width_unit
            count = series[j][1][i]
            tip = f"{label} — {name} : {fmt(count)}" + (f" ({fmt(shares[j])} %)" if percent else "")
            body.append(_rect(x, y + 4, w, ROW_H - 8, colors[j % len(colors)], tip))
            if w > 26:
                txt = f"{fmt(shares[j], 0)}" + ("%" if percent else "")
                fill = (
                    "#ffffff"
                    if colors[j % len(colors)]
                    in ("#0072B2", "#542788", "#B35806", "#000000", "#D55E00")
                    else TEXT
                )
                body.append(_text(x + w / 2, y + 15, txt, size=9, anchor="middle", fill=fill))
            x += w
    if diverging:
        body.append(
            f'<line x1="{centre_x:.1f}" y1="{TOP - 2}" x2="{centre_x:.1f}" '
            f'y2="{bottom:.1f}" stroke="{TEXT}" stroke-width="0.8"/>'
        )
    legend_y = bottom + 10
    for j, (name, _values) in enumerate(series):
        lx = LABEL_W + (j % 3) * (plot_w / 3)
        ly = legend_y + sum(5 + LINE_H * lines for lines in legend_rows[: j // 3])
        body.append(_rect(lx, ly, 12, 12, colors[j % len(colors)]))
        body.append(_label(lx + 16, ly + 10, name, limit=28, size=10, anchor="start"))
    desc = " | ".join(
        f"{label} : " + ", ".join(f"{name} {fmt(vals[i])}" for name, vals in series)
        for i, label in enumerate(labels)
    )
    return _frame(WIDTH, height, title, desc, body)


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True)
class BoxStats:
    n: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    whisker_low: float
    whisker_high: float
    outliers: tuple[float, ...]


def box_stats(values: Sequence[float]) -> BoxStats | None:
    """Tukey box: quartiles, whiskers at the last points within 1.5 IQR, outliers beyond."""
    data = sorted(float(v) for v in values if v is not None)
    if not data:
        return None
    q1, med, q3 = (_quantile(data, q) for q in (0.25, 0.5, 0.75))
    iqr = q3 - q1
    inside = [v for v in data if q1 - 1.5 * iqr <= v <= q3 + 1.5 * iqr]
    return BoxStats(
        n=len(data),
        minimum=data[0],
        q1=q1,
        median=med,
        q3=q3,
        maximum=data[-1],
        whisker_low=inside[0],
        whisker_high=inside[-1],
        outliers=tuple(v for v in data if v < inside[0] or v > inside[-1]),
    )


def box_plot(
    groups: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
) -> Svg:
    """Horizontal Tukey box plots, one per group."""
    stats = [(label, box_stats(values)) for label, values in groups]
    top = (
        max_value
        if max_value is not None
        else _nice_max(max((s.maximum for _label, s in stats if s), default=0))
    )
    plot_w = WIDTH - LABEL_W - 40
    rows = _row_layout([label for label, _s in stats], TOP)
    bottom = _rows_bottom(rows, TOP)
    height = bottom + 24
    body = _axis(LABEL_W, plot_w, TOP - 4, bottom, top, unit)

    def sx(v: float) -> float:
        return LABEL_W + plot_w * (min(v, top) / top if top else 0)

    descs = []
    for i, (label, s) in enumerate(stats):
        y, row_h = rows[i]
        body.append(_label(LABEL_W - 6, y + 15, label))
        y += (row_h - ROW_H) / 2
        cy = y + ROW_H / 2
        color = PALETTE[i % len(PALETTE)]
        if s is None:
            body.append(_text(LABEL_W + 4, y + 15, "—"))
            descs.append(f"{label} : —")
            continue
        tip = (
            f"{label} : n={s.n}, médiane {fmt(s.median, 2)}, Q1 {fmt(s.q1, 2)}, "
            f"Q3 {fmt(s.q3, 2)}, min {fmt(s.minimum, 2)}, max {fmt(s.maximum, 2)}"
        )
        descs.append(tip)
        body.append(
            f'<line x1="{sx(s.whisker_low):.1f}" y1="{cy:.1f}" x2="{sx(s.whisker_high):.1f}" '
            f'y2="{cy:.1f}" stroke="{TEXT}" stroke-width="1"/>'
        )
        body.append(_rect(sx(s.q1), y + 5, sx(s.q3) - sx(s.q1), ROW_H - 10, color, tip))
        body.append(
            f'<line x1="{sx(s.median):.1f}" y1="{y + 4:.1f}" x2="{sx(s.median):.1f}" '
            f'y2="{y + ROW_H - 4:.1f}" stroke="{TEXT}" stroke-width="2"/>'
        )
        for v in s.outliers:
            body.append(
                f'<circle cx="{sx(v):.1f}" cy="{cy:.1f}" r="2.5" fill="none" stroke="{TEXT}"/>'
            )
    return _frame(WIDTH, height, title, "; ".join(descs), body)


def _mix(c1: str, c2: str, t: float) -> str:
    a = [int(c1[k : k + 2], 16) for k in (1, 3, 5)]
    b = [int(c2[k : k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def heat_color(value: float, vmin: float, vmax: float, *, reverse: bool = False) -> str:
    """Sequential colour from light yellow (low) to dark blue (high)."""
    t = 0.0 if vmax == vmin else (value - vmin) / (vmax - vmin)
    t = min(1.0, max(0.0, t))
    if reverse:
        t = 1 - t
    return _mix("#ffffcc", "#41b6c4", t * 2) if t < 0.5 else _mix("#41b6c4", "#253494", t * 2 - 1)


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    vmin: float | None = None,
    vmax: float | None = None,
    decimals: int = 2,
    reverse: bool = False,
) -> Svg:
    """A grid of coloured cells with their value written in; None is an empty grey cell."""
    known = [v for row in values for v in row if v is not None]
    lo = vmin if vmin is not None else min(known, default=0)
    hi = vmax if vmax is not None else max(known, default=1)
    cols = max(len(column_labels), 1)
    cell_w = min(90.0, (WIDTH - LABEL_W - 10) / cols)
    header_lines = max((len(_wrap(col, 18)) for col in column_labels), default=1)
    header_h = 56 + 8 * (header_lines - 1)
    rows = _row_layout(row_labels, TOP + header_h)
    height = _rows_bottom(rows, TOP + header_h) + 10
    body: list[str] = []
    for j, col in enumerate(column_labels):
        x = LABEL_W + j * cell_w + cell_w / 2
        y = TOP + header_h - 6 - LINE_H * (len(_wrap(col, 18)) - 1) * 0.8
        body.append(
            f'<g transform="rotate(-35 {x:.1f} {y:.1f})">'
            + _label(x, y, col, limit=18, size=10, anchor="start")
            + "</g>"
        )
    descs = []
    for i, row in enumerate(row_labels):
        y, row_h = rows[i]
        body.append(_label(LABEL_W - 6, y + 15, row))
        y += (row_h - ROW_H) / 2
        for j, col in enumerate(column_labels):
            value = values[i][j]
            x = LABEL_W + j * cell_w
            if value is None:
                body.append(
                    _rect(x + 1, y + 1, cell_w - 2, ROW_H - 2, "#eeeeee", f"{row} × {col} : —")
                )
                body.append(_text(x + cell_w / 2, y + 15, "—", size=10, anchor="middle"))
                continue
            color = heat_color(value, lo, hi, reverse=reverse)
            t = 0.0 if hi == lo else (value - lo) / (hi - lo)
            dark = (1 - t if reverse else t) > 0.55
            label = fmt(value, decimals)
            body.append(
                _rect(x + 1, y + 1, cell_w - 2, ROW_H - 2, color, f"{row} × {col} : {label}")
            )
            body.append(
                _text(
                    x + cell_w / 2,
                    y + 15,
                    label,
                    size=10,
                    anchor="middle",
                    fill="#ffffff" if dark else TEXT,
                )
            )
        descs.append(
            f"{row} : "
            + ", ".join(
                f"{col} {fmt(values[i][j], decimals)}" for j, col in enumerate(column_labels)
            )
        )
    return _frame(WIDTH, height, title, "; ".join(descs), body)


@dataclass(frozen=True)
class Series:
    """One curve of a :func:`line_chart`; ``dash`` is an SVG dash array ("6 3"), None solid."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: str = PALETTE[0]
    dash: str | None = None
    width: float = 1.6


def _vertical_axis(x0: float, y_top: float, height: float, max_value: float, unit: str) -> list:
    parts = []
    decimals = decimals_needed(max_value / 4)
    for i in range(5):
        value = max_value * i / 4
        y = y_top + height - height * i / 4
        parts.append(
            f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x0 + LINE_PLOT_W:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="0.6"/>'
        )
        tick = fmt(value, decimals if i else 0) + (f"{NBSP}{unit}" if unit else "")
        parts.append(_text(x0 - 4, y + 4, tick, size=10, anchor="end"))
    return parts


LINE_LEFT, LINE_PLOT_W, LINE_PLOT_H, LEGEND_ROW = 52, 540, 240, 16


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_unit: str = "",
    y_unit: str = "",
    x_max: float | None = None,
    y_max: float | None = None,
) -> Svg:
    """Curves on common axes (e.g. cumulative DVHs), with a legend below the plot."""
    xs = [v for s in series for v in s.x]
    ys = [v for s in series for v in s.y]
    x_top = x_max if x_max is not None else _nice_max(max(xs, default=0))
    y_top = y_max if y_max is not None else _nice_max(max(ys, default=0))
    top = TOP + 6
    columns = 3
    legend_rows = math.ceil(len(series) / columns)
    height = int(top + LINE_PLOT_H + 42 + LEGEND_ROW * legend_rows + 6)
    width = LINE_LEFT + LINE_PLOT_W + 28
    body = _vertical_axis(LINE_LEFT, top, LINE_PLOT_H, y_top, y_unit)
    body += _axis(LINE_LEFT, LINE_PLOT_W, top, top + LINE_PLOT_H, x_top, x_unit)
    body.append(
        _text(LINE_LEFT + LINE_PLOT_W / 2, top + LINE_PLOT_H + 30, x_label, anchor="middle")
    )
    body.append(
        f'<text x="12" y="{top + LINE_PLOT_H / 2:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{TEXT}" transform="rotate(-90 12 {top + LINE_PLOT_H / 2:.1f})">'
        f"{escape(y_label)}</text>"
    )

    def point(x: float, y: float) -> str:
        px = LINE_LEFT + LINE_PLOT_W * (min(max(x, 0.0), x_top) / x_top if x_top else 0)
        py = top + LINE_PLOT_H - LINE_PLOT_H * (min(max(y, 0.0), y_top) / y_top if y_top else 0)
        return f"{px:.1f},{py:.1f}"

    descs = []
    for index, s in enumerate(series):
        dash = f' stroke-dasharray="{escape(s.dash)}"' if s.dash else ""
        if s.x:
            points = " ".join(point(x, y) for x, y in zip(s.x, s.y, strict=True))
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{escape(s.color)}" '
                f'stroke-width="{s.width}"{dash}><title>{escape(s.label)}</title></polyline>'
            )
        lx = LINE_LEFT + (index % columns) * (LINE_PLOT_W / columns)
        ly = top + LINE_PLOT_H + 42 + LEGEND_ROW * (index // columns)
        body.append(
            f'<line x1="{lx:.1f}" y1="{ly - 4:.1f}" x2="{lx + 22:.1f}" y2="{ly - 4:.1f}" '
            f'stroke="{escape(s.color)}" stroke-width="{s.width + 0.6}"{dash}/>'
        )
        body.append(_label(lx + 26, ly, s.label, limit=26, size=10, anchor="start"))
        descs.append(s.label)
    return _frame(width, height, title, "; ".join(descs), body)
