"""Charts as inline SVG strings: bars (stacked or grouped), lines, tornado and histogram; no
JavaScript (the scatter is in scatter_chart.py, ranked horizontal bars in ranked_bars.py).

Each function returns one `<figure class="chart" data-chart="ID">` holding an `<svg>`; every
text that reaches the markup (titles, labels, series and category names) is HTML-escaped, and
every mark carries a `<title>` so a reader can hover it for the exact value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

import pandas as pd

from planner.results.chart_text import FONT_PX, LINE_PX, text_lines, text_width_px, wrap_text

WIDTH, HEIGHT = 820, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 78, 200, 16, 74
AXIS_FONT_PX = 12.0  # .axis-label in the report's CSS
MAX_TICK_LINES = 3  # an upright category label wraps to at most this many lines
MAX_SLANTED_PX = 150.0  # a slanted one wraps beyond this width
SLANT_DEG = 30
COS_SLANT, SIN_SLANT = math.cos(math.radians(SLANT_DEG)), math.sin(math.radians(SLANT_DEG))
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def colour(index: int) -> str:
    """The index-th colour of the palette, cycling."""
    return PALETTE[index % len(PALETTE)]


def fmt_number(value: float) -> str:
    """A short label for an axis tick or a tooltip: 1.2k, 3.4M, 0.012."""
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] with about `count` steps of 1, 2 or 5 x 10^k."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 12) for k in range(first, last + 1)]
    return ticks


@dataclass(frozen=True)
class Scale:
    """Maps data values to pixels, linear or base-10 logarithmic."""

    low: float
    high: float
    pixel_low: float
    pixel_high: float
    log: bool = False

    def __call__(self, value: float) -> float:
        """The pixel position of a data value."""
        lo, hi, v = self.low, self.high, value
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(value, self.low))
        span = hi - lo or 1.0
        return self.pixel_low + (v - lo) / span * (self.pixel_high - self.pixel_low)


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten covering [low, high] (both positive)."""
    return [10.0**k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def plot_box() -> tuple[float, float, float, float]:
    """The plot area: left, right, top, bottom in SVG pixels (the margins hold axes, legend)."""
    return MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM


def y_axis(scale: Scale, ticks: Sequence[float], label: str) -> list[str]:
    """Grid lines and tick values, and the axis label turned upright (wrapped to the height)."""
    left, right, _, _ = plot_box()
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_number(tick)}</text>'
        )
    mid = (MARGIN_TOP + HEIGHT - MARGIN_BOTTOM) / 2
    lines = wrap_text(label, 2 * mid - 8, AXIS_FONT_PX)  # centred on mid, inside the svg
    x = 14 if len(lines) == 1 else 12  # the ascent (~10 px) stays inside the svg
    parts.append(
        text_lines(
            lines, x, mid, "middle", transform=f"rotate(-90 {x} {mid:.1f})", class_="axis-label"
        )
    )
    return parts


def x_axis_label(label: str, height: float = HEIGHT) -> str:
    """The axis label centred under the plot, 8 px above the bottom of a chart `height` tall."""
    left, right, _, _ = plot_box()
    return (
        f'<text x="{(left + right) / 2:.1f}" y="{height - 8}" text-anchor="middle" '
        f'class="axis-label">{escape(label)}</text>'
    )


def legend(names: Sequence[str], kinds: Sequence[str] | None = None) -> tuple[list[str], float]:
    """A swatch and name per series in the right margin (long names wrap), and the y where it
    ends."""
    x = WIDTH - MARGIN_RIGHT + 14
    parts, y = [], MARGIN_TOP + 8.0
    for i, name in enumerate(names):
        kind = kinds[i] if kinds else "box"
        if kind == "line":
            parts.append(
                f'<line x1="{x}" x2="{x + 12}" y1="{y}" y2="{y}" stroke="{colour(i)}" '
                'stroke-width="2.5"/>'
            )
        else:
            parts.append(f'<rect x="{x}" y="{y - 6}" width="12" height="12" fill="{colour(i)}"/>')
        lines = wrap_text(str(name), WIDTH - (x + 18) - 4)
        parts.append(text_lines(lines, x + 18, y + 4))
        y += 18 + LINE_PX * (len(lines) - 1)
    return parts, y


def figure(
    chart_id: str, title: str, body: Sequence[str], note: str = "", *, height: float = HEIGHT
) -> str:
    """The chart as `<figure>`: a caption (title and note) over an SVG `height` pixels tall."""
    caption = escape(title) + (f' <span class="note">{escape(note)}</span>' if note else "")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + "</svg>"
    )
    return (
        f'<figure class="chart" id="chart-{escape(chart_id)}" data-chart="{escape(chart_id)}">'
        f"<figcaption>{caption}</figcaption>{svg}</figure>"
    )


def empty_chart(chart_id: str, title: str) -> str:
    """A chart that says 'no data'."""
    body = [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text>']
    return figure(chart_id, title, body)


def clean(values: Sequence[float | None]) -> list[float | None]:
    """Floats, with None for missing and non-finite values."""
    out: list[float | None] = []
    for v in values:
        out.append(float(v) if v is not None and math.isfinite(float(v)) else None)
    return out


def _fits_upright(labels: Sequence[str], width_px: float) -> bool:
    """True when every label wraps into at most three lines of `width_px` without cutting a
    word (words break at spaces and after '-', '_', '/')."""
    for label in labels:
        pieces = re.findall(r"[^\s\-_/]*[\-_/]?", label)
        if any(text_width_px(p) > width_px for p in pieces):
            return False
        if len(wrap_text(label, width_px)) > MAX_TICK_LINES:
            return False
    return True


def _slanted_tick(label: str, x: float, y: float) -> tuple[str, float]:
    """One label turned 30 degrees, ending under its category, wrapped so it stays right of the
    chart's left edge; and how far below y it reaches."""
    room = min(MAX_SLANTED_PX, (x - 8) / COS_SLANT)
    lines = wrap_text(label, max(room, 24.0))
    widest = max(text_width_px(line) for line in lines)
    drop = widest * SIN_SLANT + (len(lines) - 1) * LINE_PX * COS_SLANT + 0.3 * FONT_PX
    text = text_lines(lines, x, y, "end", transform=f"rotate(-{SLANT_DEG} {x:.1f} {y})")
    return text, drop


def x_tick_labels(
    positions: Sequence[float], labels: Sequence[str], every: int | None = None
) -> tuple[list[str], float]:
    """Category labels under the axis, and the height the chart needs to show them whole.

    Labels stand upright (wrapped to their slot, at most three lines) when they fit; else they
    are slanted 30 degrees and wrapped so none runs off the left edge. `every` labels every
    k-th category (default: every one upright, or as many as fit slanted)."""
    left, right, _, bottom = plot_box()
    n = len(labels)
    slot = (right - left) / max(n, 1)
    upright = _fits_upright(labels, slot * (every or 1) - 6)
    if every is None:
        every = 1 if upright else max(1, math.ceil(22 / slot))
    parts, y, drop = [], bottom + 14, 0.0
    for i in range(0, n, every):
        if upright:
            lines = wrap_text(labels[i], slot * every - 6)
            parts.append(text_lines(lines, positions[i], y, "middle"))
            drop = max(drop, (len(lines) - 1) * LINE_PX + 0.3 * FONT_PX)
        else:
            text, reach = _slanted_tick(labels[i], positions[i], y)
            parts.append(text)
            drop = max(drop, reach)
    return parts, max(float(HEIGHT), y + drop + 30)


def _bar_extents(
    data: Mapping[str, Sequence[float | None]],
    extra: Mapping[str, Sequence[float | None]],
    n: int,
    mode: str,
) -> tuple[list[float], list[float]]:
    """Each category's top and bottom: stacked sums (negatives downwards) or group extremes,
    and any line drawn over the bars."""
    tops, bottoms = [0.0] * n, [0.0] * n
    for values in data.values():
        for i, v in enumerate(values):
            if v is None:
                continue
            if mode == "stack" and v >= 0:
                tops[i] += v
            elif mode == "stack":
                bottoms[i] += v
            else:
                tops[i], bottoms[i] = max(tops[i], v), min(bottoms[i], v)
    for values in extra.values():
        for i, v in enumerate(values):
            if v is not None:
                tops[i], bottoms[i] = max(tops[i], v), min(bottoms[i], v)
    return tops, bottoms


def _bar_rects(
    cats: Sequence[str], data: Mapping[str, Sequence[float | None]], y: Scale, mode: str
) -> list[str]:
    """One rect per non-zero value: stacked from the running total of its side of zero, or side
    by side within the category's slot."""
    left, right, _, _ = plot_box()
    n, names = len(cats), list(data)
    slot = (right - left) / n
    group_width = slot * (0.9 if n > 40 else 0.75)
    up, down = [0.0] * n, [0.0] * n
    body = []
    for s, name in enumerate(names):
        for i, v in enumerate(data[name]):
            if v is None or v == 0:
                continue
            x0 = left + i * slot + (slot - group_width) / 2
            if mode == "stack":
                totals = up if v >= 0 else down
                base, end, width = totals[i], totals[i] + v, group_width
                totals[i] = end
            else:
                base, end, width = 0.0, v, group_width / len(names)
                x0 += s * width
            y0, y1 = sorted((y(base), y(end)))
            body.append(
                f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{width:.2f}" '
                f'height="{max(y1 - y0, 0.3):.2f}" fill="{colour(s)}" class="bar"><title>'
                f"{escape(cats[i])}, {escape(name)}: {fmt_number(v)}</title></rect>"
            )
    return body


def _overlay_lines(
    extra: Mapping[str, Sequence[float | None]], y: Scale, n: int, first_colour: int
) -> list[str]:
    """Series drawn as lines through the middle of each category's slot."""
    left, right, _, _ = plot_box()
    slot = (right - left) / n
    body = []
    for k, (name, values) in enumerate(extra.items()):
        points = [(left + (i + 0.5) * slot, y(v)) for i, v in enumerate(values) if v is not None]
        path = " ".join(f"{px:.2f},{py:.2f}" for px, py in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{colour(first_colour + k)}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )
    return body


def finish_chart(
    body: list[str],
    ticks: tuple[Sequence[float], Sequence[str], int | None],
    legend_items: tuple[Sequence[str], Sequence[str]],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    note: str,
) -> str:
    """Add the category labels, axis label and legend, sized so none of them is cut."""
    labels, height = x_tick_labels(*ticks)
    entries, legend_bottom = legend(*legend_items)
    height = max(height, legend_bottom + 8)
    body = [*body, *labels, *entries]
    if x_label:
        body.append(x_axis_label(x_label, height))
    return figure(chart_id, title, body, note, height=height)


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    chart_id: str,
    title: str,
    y_label: str,
    x_label: str = "",
    mode: Literal["stack", "group"] = "stack",
    lines: Mapping[str, Sequence[float | None]] | None = None,
    note: str = "",
    x_every: int | None = None,
) -> str:
    """Bars per category, one colour per series, stacked (negatives stack downwards) or grouped.

    `lines` draws extra series as lines over the same categories (e.g. demand over supply);
    `x_every` labels every n-th category (default: as many as fit).
    """
    cats = [str(c) for c in categories]
    data = {str(k): clean(v) for k, v in series.items()}
    extra = {str(k): clean(v) for k, v in (lines or {}).items()}
    if not cats or not data:
        return empty_chart(chart_id, title)
    n = len(cats)
    tops, bottoms = _bar_extents(data, extra, n, mode)
    ticks = nice_ticks(min(0.0, *bottoms), max(0.0, *tops))
    left, right, top, bottom = plot_box()
    y = Scale(ticks[0], ticks[-1], bottom, top)
    body = y_axis(y, ticks, y_label) + _bar_rects(cats, data, y, mode)
    body += _overlay_lines(extra, y, n, len(data))
    body.append(f'<line x1="{left}" x2="{right}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="zero"/>')
    slot = (right - left) / n
    return finish_chart(
        body,
        ([left + (i + 0.5) * slot for i in range(n)], cats, x_every),
        ([*data, *extra], ["box"] * len(data) + ["line"] * len(extra)),
        chart_id=chart_id,
        title=title,
        x_label=x_label,
        note=note,
    )


def _line_marks(data: Mapping[str, Sequence[float | None]], y: Scale, step: float) -> list[str]:
    """A polyline per unbroken run of values (None breaks a line), a dot for a lone value."""
    left = plot_box()[0]
    body = []
    for s, (name, values) in enumerate(data.items()):
        segments: list[list[str]] = [[]]
        for i, v in enumerate(values):
            if v is None:
                segments.append([])
                continue
            segments[-1].append(f"{left + i * step:.2f},{y(v):.2f}")
        for segment in segments:
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour(s)}"/>')
            elif segment:
                body.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour(s)}" '
                    f'stroke-width="2" class="line"><title>{escape(name)}</title></polyline>'
                )
    return body


def line_chart(
    x: Sequence[str | float],
    series: Mapping[str, Sequence[float | None]],
    *,
    chart_id: str,
    title: str,
    y_label: str,
    x_label: str = "",
    note: str = "",
    x_every: int | None = None,
) -> str:
    """One line per series over evenly spaced x positions (labels from `x`); None breaks a line."""
    labels = [str(v) for v in x]
    data = {str(k): clean(v) for k, v in series.items()}
    finite = [v for values in data.values() for v in values if v is not None]
    if not labels or not finite:
        return empty_chart(chart_id, title)
    ticks = nice_ticks(min(0.0, min(finite)), max(finite))
    left, right, top, bottom = plot_box()
    y = Scale(ticks[0], ticks[-1], bottom, top)
    n = len(labels)
    step = (right - left) / max(n - 1, 1)
    body = y_axis(y, ticks, y_label) + _line_marks(data, y, step)
    return finish_chart(
        body,
        ([left + i * step for i in range(n)], labels, x_every),
        (list(data), ["line"] * len(data)),
        chart_id=chart_id,
        title=title,
        x_label=x_label,
        note=note,
    )


def bars_from_table(
    frame: pd.DataFrame,
    *,
    x: str,
    series: str,
    value: str,
    chart_id: str,
    title: str,
    y_label: str,
    mode: Literal["stack", "group"] = "stack",
    note: str = "",
) -> str:
    """Bars from a long table: `x` along the axis, one bar segment per `series`, sum of `value`."""
    if frame.empty:
        return empty_chart(chart_id, title)
    wide = frame.pivot_table(index=x, columns=series, values=value, aggfunc="sum", sort=True)
    return bar_chart(
        [str(c) for c in wide.index],
        {str(c): wide[c].tolist() for c in wide.columns},
        chart_id=chart_id,
        title=title,
        y_label=y_label,
        x_label=x,
        mode=mode,
        note=note,
    )


def lines_from_table(
    frame: pd.DataFrame,
    *,
    x: str,
    series: str,
    value: str,
    chart_id: str,
    title: str,
    y_label: str,
    note: str = "",
) -> str:
    """Lines from a long table: one line per distinct `series`, mean of `value` at each `x`."""
    if frame.empty:
        return empty_chart(chart_id, title)
    wide = frame.pivot_table(index=x, columns=series, values=value, aggfunc="mean", sort=True)
    return line_chart(
        [str(c) for c in wide.index],
        {str(c): [None if pd.isna(v) else float(v) for v in wide[c]] for c in wide.columns},
        chart_id=chart_id,
        title=title,
        y_label=y_label,
        x_label=x,
        note=note,
    )
