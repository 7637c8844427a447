"""Charts as inline SVG strings: bars (stacked or grouped), lines and scatter; no JavaScript.

Each function returns one `<figure class="chart" data-chart="ID">` holding an `<svg>`; every
text that reaches the markup (titles, labels, series and category names) is HTML-escaped, and
every mark carries a `<title>` so a reader can hover it for the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

import pandas as pd

WIDTH, HEIGHT = 820, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 78, 200, 16, 74
LEGEND_CHARS = 30
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
        lo, hi, v = self.low, self.high, value
        if self.log:
            lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(value, self.low))
        span = hi - lo or 1.0
        return self.pixel_low + (v - lo) / span * (self.pixel_high - self.pixel_low)


def _log_ticks(low: float, high: float) -> list[float]:
    return [10.0**k for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def _plot_box() -> tuple[float, float, float, float]:
    return MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM


def _y_axis(scale: Scale, ticks: Sequence[float], label: str) -> list[str]:
    left, right, _, _ = _plot_box()
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_number(tick)}</text>'
        )
    mid = (MARGIN_TOP + HEIGHT - MARGIN_BOTTOM) / 2
    parts.append(
        f'<text x="14" y="{mid:.1f}" transform="rotate(-90 14 {mid:.1f})" '
        f'text-anchor="middle" class="axis-label">{escape(label)}</text>'
    )
    return parts


def _x_label(label: str) -> str:
    left, right, _, _ = _plot_box()
    return (
        f'<text x="{(left + right) / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f'class="axis-label">{escape(label)}</text>'
    )


def _legend(names: Sequence[str], kinds: Sequence[str] | None = None) -> list[str]:
    x = WIDTH - MARGIN_RIGHT + 14
    parts = []
    for i, name in enumerate(names):
        y = MARGIN_TOP + 8 + i * 18
        kind = kinds[i] if kinds else "box"
        if kind == "line":
            parts.append(
                f'<line x1="{x}" x2="{x + 12}" y1="{y}" y2="{y}" stroke="{colour(i)}" '
                'stroke-width="2.5"/>'
            )
        else:
            parts.append(f'<rect x="{x}" y="{y - 6}" width="12" height="12" fill="{colour(i)}"/>')
        text = str(name)
        shown = text if len(text) <= LEGEND_CHARS else text[: LEGEND_CHARS - 1] + "\u2026"
        parts.append(
            f'<text x="{x + 18}" y="{y + 4}">{escape(shown)}<title>{escape(text)}</title></text>'
        )
    return parts


def _figure(
    chart_id: str, title: str, body: Sequence[str], note: str = "", *, height: int = HEIGHT
) -> str:
    caption = escape(title) + (f' <span class="note">{escape(note)}</span>' if note else "")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + "</svg>"
    )
    return (
        f'<figure class="chart" id="chart-{escape(chart_id)}" data-chart="{escape(chart_id)}">'
        f"<figcaption>{caption}</figcaption>{svg}</figure>"
    )


def _empty(chart_id: str, title: str) -> str:
    body = [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data</text>']
    return _figure(chart_id, title, body)


def _clean(values: Sequence[float | None]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        out.append(float(v) if v is not None and math.isfinite(float(v)) else None)
    return out


def _x_tick_labels(
    positions: Sequence[float], labels: Sequence[str], every: int | None = None
) -> list[str]:
    """Category labels under the axis: every k-th so they do not overlap, slanted if long."""
    left, right, _, bottom = _plot_box()
    n = len(labels)
    longest = max((len(t) for t in labels), default=1)
    slot = (right - left) / max(n, 1)
    if every is None:
        slanted = longest * 6.2 > slot
        every = max(1, math.ceil((22 if slanted else longest * 6.2 + 10) / slot))
    slanted = longest * 6.2 > slot * every
    parts = []
    for i in range(0, n, every):
        x, y = positions[i], bottom + 14
        if slanted:
            parts.append(
                f'<text x="{x:.1f}" y="{y}" text-anchor="end" '
                f'transform="rotate(-30 {x:.1f} {y})">{escape(labels[i])}</text>'
            )
        else:
            parts.append(
                f'<text x="{x:.1f}" y="{y}" text-anchor="middle">{escape(labels[i])}</text>'
            )
    return parts


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
    data = {str(k): _clean(v) for k, v in series.items()}
    extra = {str(k): _clean(v) for k, v in (lines or {}).items()}
    if not cats or not data:
        return _empty(chart_id, title)
    n = len(cats)
    tops, bottoms = [0.0] * n, [0.0] * n
    if mode == "stack":
        for values in data.values():
            for i, v in enumerate(values):
                if v is not None:
                    if v >= 0:
                        tops[i] += v
                    else:
                        bottoms[i] += v
    else:
        for values in data.values():
            for i, v in enumerate(values):
                if v is not None:
                    tops[i], bottoms[i] = max(tops[i], v), min(bottoms[i], v)
    for values in extra.values():
        for i, v in enumerate(values):
            if v is not None:
                tops[i], bottoms[i] = max(tops[i], v), min(bottoms[i], v)
    ticks = nice_ticks(min(0.0, *bottoms), max(0.0, *tops))
    left, right, top, bottom = _plot_box()
    y = Scale(ticks[0], ticks[-1], bottom, top)
    slot = (right - left) / n
    body = _y_axis(y, ticks, y_label)
    names = list(data)
    group_width = slot * (0.9 if n > 40 else 0.75)
    up, down = [0.0] * n, [0.0] * n
    for s, name in enumerate(names):
        for i, v in enumerate(data[name]):
            if v is None or v == 0:
                continue
            if mode == "stack":
                base = up[i] if v >= 0 else down[i]
                end = base + v
                if v >= 0:
                    up[i] = end
                else:
                    down[i] = end
                x0, width = left + i * slot + (slot - group_width) / 2, group_width
            else:
                base, end = 0.0, v
                width = group_width / len(names)
                x0 = left + i * slot + (slot - group_width) / 2 + s * width
            y0, y1 = sorted((y(base), y(end)))
            height = max(y1 - y0, 0.3)
            body.append(
                f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{width:.2f}" height="{height:.2f}" '
                f'fill="{colour(s)}" class="bar"><title>{escape(cats[i])}, {escape(name)}: '
                f"{fmt_number(v)}</title></rect>"
            )
    for k, name in enumerate(extra):
        points = [
            (left + (i + 0.5) * slot, y(v)) for i, v in enumerate(extra[name]) if v is not None
        ]
        path = " ".join(f"{px:.2f},{py:.2f}" for px, py in points)
        body.append(
            f'<polyline points="{path}" fill="none" stroke="{colour(len(names) + k)}" '
            f'stroke-width="2"><title>{escape(name)}</title></polyline>'
        )
    body.append(f'<line x1="{left}" x2="{right}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="zero"/>')
    body += _x_tick_labels([left + (i + 0.5) * slot for i in range(n)], cats, x_every)
    if x_label:
        body.append(_x_label(x_label))
    body += _legend([*names, *extra], ["box"] * len(names) + ["line"] * len(extra))
    return _figure(chart_id, title, body, note)


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
    data = {str(k): _clean(v) for k, v in series.items()}
    finite = [v for values in data.values() for v in values if v is not None]
    if not labels or not finite:
        return _empty(chart_id, title)
    ticks = nice_ticks(min(0.0, min(finite)), max(finite))
    left, right, top, bottom = _plot_box()
    y = Scale(ticks[0], ticks[-1], bottom, top)
    n = len(labels)
    step = (right - left) / max(n - 1, 1)
    body = _y_axis(y, ticks, y_label)
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
    body += _x_tick_labels([left + i * step for i in range(n)], labels, x_every)
    if x_label:
        body.append(_x_label(x_label))
    body += _legend(list(data), ["line"] * len(data))
    return _figure(chart_id, title, body, note)


@dataclass(frozen=True)
class Point:
    """One scatter point: position, a label for its tooltip, and the group that colours it."""

    x: float
    y: float
    label: str
    group: str


def scatter_chart(
    points: Sequence[Point],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    y_label: str,
    log_x: bool = False,
    log_y: bool = False,
    note: str = "",
) -> str:
    """Points coloured by group; log axes drop points that are not positive."""
    kept = [
        p
        for p in points
        if math.isfinite(p.x)
        and math.isfinite(p.y)
        and (p.x > 0 or not log_x)
        and (p.y > 0 or not log_y)
    ]
    if not kept:
        return _empty(chart_id, title)
    left, right, top, bottom = _plot_box()
    xs, ys = [p.x for p in kept], [p.y for p in kept]
    x_ticks = _log_ticks(min(xs), max(xs)) if log_x else nice_ticks(min(0.0, *xs), max(xs))
    y_ticks = _log_ticks(min(ys), max(ys)) if log_y else nice_ticks(min(0.0, *ys), max(ys))
    x = Scale(x_ticks[0], x_ticks[-1], left, right, log_x)
    y = Scale(y_ticks[0], y_ticks[-1], bottom, top, log_y)
    body = _y_axis(y, y_ticks, y_label)
    for tick in x_ticks:
        px = x(tick)
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    groups = list(dict.fromkeys(p.group for p in kept))
    for p in kept:
        g = groups.index(p.group)
        body.append(
            f'<circle cx="{x(p.x):.2f}" cy="{y(p.y):.2f}" r="5" fill="{colour(g)}" '
            f'fill-opacity="0.8" class="point"><title>{escape(p.label)} ({escape(p.group)}): '
            f"{fmt_number(p.x)}, {fmt_number(p.y)}</title></circle>"
        )
    body.append(_x_label(x_label))
    body += _legend(groups)
    return _figure(chart_id, title, body, note)


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
        return _empty(chart_id, title)
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
        return _empty(chart_id, title)
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


@dataclass(frozen=True)
class TornadoBar:
    """One tornado row: a parameter's label and the metric at its low and its high setting."""

    label: str
    metric_at_low: float
    metric_at_high: float
    low_label: str
    high_label: str


def tornado_chart(
    bars: Sequence[TornadoBar],
    *,
    baseline: float,
    chart_id: str,
    title: str,
    x_label: str,
    note: str = "",
) -> str:
    """Horizontal bars, one per parameter (largest swing first), from the baseline (the median
    of the metric) to the metric at the parameter's low setting and to its high setting, in two
    colours; a vertical line marks the baseline."""
    kept = [b for b in bars if math.isfinite(b.metric_at_low) and math.isfinite(b.metric_at_high)]
    if not kept or not math.isfinite(baseline):
        return _empty(chart_id, title)
    left, right = 230.0, WIDTH - 150.0
    row_h = 26.0
    top = MARGIN_TOP + 8
    height = top + row_h * len(kept) + 56
    values = [baseline, *(b.metric_at_low for b in kept), *(b.metric_at_high for b in kept)]
    pad = 0.3 * (max(values) - min(values)) or abs(baseline) * 0.1 or 1.0  # room for end labels
    ticks = nice_ticks(min(values) - pad, max(values) + pad)
    x = Scale(ticks[0], ticks[-1], left, right)
    bottom = top + row_h * len(kept)
    body = []
    for tick in ticks:
        px = x(tick)
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{px:.1f}" y="{bottom + 14}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    for i, bar in enumerate(kept):
        y0 = top + i * row_h + 4
        label = bar.label if len(bar.label) <= 34 else "\u2026" + bar.label[-33:]  # keep the leaf
        body.append(
            f'<text x="{left - 8}" y="{y0 + 13}" text-anchor="end">{escape(label)}'
            f"<title>{escape(bar.label)}</title></text>"
        )
        settings = [(0, bar.metric_at_low, bar.low_label), (1, bar.metric_at_high, bar.high_label)]
        # the longer half first, so a shorter one on the same side stays visible over it
        for k, value, setting in sorted(settings, key=lambda e: -abs(e[1] - baseline)):
            x0, x1 = sorted((x(baseline), x(value)))
            body.append(
                f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{max(x1 - x0, 0.5):.2f}" '
                f'height="{row_h - 8:.2f}" fill="{colour(k)}" fill-opacity="0.85" class="bar">'
                f"<title>{escape(bar.label)} = {escape(setting)}: {fmt_number(value)}"
                "</title></rect>"
            )
        body += _tornado_end_labels(bar, baseline, x, y0 + 13)
    px = x(baseline)
    body.append(
        f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top - 4}" y2="{bottom}" class="zero">'
        f"<title>median: {fmt_number(baseline)}</title></line>"
    )
    body.append(
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
    )
    legend_y = bottom + 48
    for k, name in enumerate(("low setting", "high setting")):
        lx = left + k * 130
        body.append(
            f'<rect x="{lx}" y="{legend_y - 9}" width="12" height="12" fill="{colour(k)}"/>'
            f'<text x="{lx + 18}" y="{legend_y + 1}">{name}</text>'
        )
    return _figure(chart_id, title, body, note, height=int(height))


def _tornado_end_labels(bar: TornadoBar, baseline: float, x: Scale, y: float) -> list[str]:
    """Each setting's name at the end of its half: left of a bar below the baseline, right of
    one above; two halves on one side share a label at the outer end ("inner, outer")."""
    below = [
        (v, t)
        for v, t in ((bar.metric_at_low, bar.low_label), (bar.metric_at_high, bar.high_label))
        if v < baseline
    ]
    above = [
        (v, t)
        for v, t in ((bar.metric_at_low, bar.low_label), (bar.metric_at_high, bar.high_label))
        if v >= baseline
    ]
    parts = []
    if below:
        text = ", ".join(t for _, t in sorted(below, key=lambda e: -e[0]))
        edge = min(v for v, _ in below)
        parts.append(
            f'<text x="{x(edge) - 4:.1f}" y="{y}" text-anchor="end" class="end-label">'
            f"{escape(text)}</text>"
        )
    if above:
        text = ", ".join(t for _, t in sorted(above, key=lambda e: e[0]))
        edge = max(v for v, _ in above)
        parts.append(f'<text x="{x(edge) + 4:.1f}" y="{y}" class="end-label">{escape(text)}</text>')
    return parts


def histogram_chart(
    values: Sequence[float | None],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    bins: int | None = None,
    note: str = "",
) -> str:
    """Counts of values in equal-width bins (default about sqrt(n), between 5 and 30); all equal
    values make one bin."""
    finite = [v for v in _clean(values) if v is not None]
    if not finite:
        return _empty(chart_id, title)
    low, high = min(finite), max(finite)
    n_bins = bins or min(30, max(5, math.ceil(math.sqrt(len(finite)))))
    if high == low:
        n_bins, width = 1, 0.0
    else:
        width = (high - low) / n_bins
    counts = [0] * n_bins
    for v in finite:
        i = n_bins - 1 if width == 0 else min(int((v - low) / width), n_bins - 1)
        counts[i] += 1
    left, right, top, bottom = _plot_box()
    y_ticks = nice_ticks(0.0, float(max(counts)))
    y = Scale(y_ticks[0], y_ticks[-1], bottom, top)
    body = _y_axis(y, y_ticks, "cases")
    pad = abs(low) * 0.05 or 0.5
    edges = [low + k * width for k in range(n_bins + 1)] if width else [low - pad, low + pad]
    x = Scale(edges[0], edges[-1], left, right)
    for i, count in enumerate(counts):
        if count == 0:
            continue
        x0, x1 = x(edges[i]), x(edges[i + 1])
        body.append(
            f'<rect x="{x0 + 0.5:.2f}" y="{y(count):.2f}" width="{max(x1 - x0 - 1, 0.5):.2f}" '
            f'height="{y(0) - y(count):.2f}" fill="{colour(0)}" class="bar">'
            f"<title>{fmt_number(edges[i])} to {fmt_number(edges[i + 1])}: {count} cases"
            "</title></rect>"
        )
    shown = edges if len(edges) <= 11 else edges[:: math.ceil(len(edges) / 10)]
    for edge in shown:
        body.append(
            f'<text x="{x(edge):.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{fmt_number(edge)}</text>"
        )
    body.append(_x_label(x_label))
    return _figure(chart_id, title, body, note)
