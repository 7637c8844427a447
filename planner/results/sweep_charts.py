"""Charts of a sweep: a tornado (each parameter's swing of a metric) and a histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from planner.results.charts import (
    MARGIN_TOP,
    WIDTH,
    Scale,
    clean,
    colour,
    empty_chart,
    figure,
    fmt_number,
    nice_ticks,
    plot_box,
    x_axis_label,
    y_axis,
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
        return empty_chart(chart_id, title)
    left, right = 230.0, WIDTH - 150.0
    row_h = 26.0
    top = MARGIN_TOP + 8
    height = top + row_h * len(kept) + 56
    values = [baseline, *(b.metric_at_low for b in kept), *(b.metric_at_high for b in kept)]
    pad = 0.3 * (max(values) - min(values)) or abs(baseline) * 0.1 or 1.0  # room for end labels
    ticks = nice_ticks(min(values) - pad, max(values) + pad)
    x = Scale(ticks[0], ticks[-1], left, right)
    bottom = top + row_h * len(kept)
    body = _vertical_grid(ticks, x, top, bottom)
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
    body += _tornado_footer(left, right, bottom, x_label)
    return figure(chart_id, title, body, note, height=int(height))


def _vertical_grid(ticks: Sequence[float], x: Scale, top: float, bottom: float) -> list[str]:
    """A grid line and value per tick of a horizontal value axis."""
    body = []
    for tick in ticks:
        px = x(tick)
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{px:.1f}" y="{bottom + 14}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    return body


def _tornado_footer(left: float, right: float, bottom: float, x_label: str) -> list[str]:
    """The axis label under the rows and the two settings' swatches."""
    body = [
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
    ]
    legend_y = bottom + 48
    for k, name in enumerate(("low setting", "high setting")):
        lx = left + k * 130
        body.append(
            f'<rect x="{lx}" y="{legend_y - 9}" width="12" height="12" fill="{colour(k)}"/>'
            f'<text x="{lx + 18}" y="{legend_y + 1}">{name}</text>'
        )
    return body


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
    finite = [v for v in clean(values) if v is not None]
    if not finite:
        return empty_chart(chart_id, title)
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
    left, right, top, bottom = plot_box()
    y_ticks = nice_ticks(0.0, float(max(counts)))
    y = Scale(y_ticks[0], y_ticks[-1], bottom, top)
    body = y_axis(y, y_ticks, "cases")
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
    body.append(x_axis_label(x_label))
    return figure(chart_id, title, body, note)
