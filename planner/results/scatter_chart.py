"""The scatter chart: points coloured by group, every point named on the chart.

Labels are placed greedily, the most crowded point first: each tries positions around its dot
(right, left, above, below, then the diagonals), then the same further out with a leader line
back to the dot, and takes the first whose box (planner.results.chart_text.label_box) stays
inside the plot and clear of every dot and of the labels already placed. Where nothing is
clear it takes the position that overlaps least, so a label may touch another only when the
plot leaves no room.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from planner.results.chart_text import Box, label_box
from planner.results.charts import (
    HEIGHT,
    Scale,
    colour,
    empty_chart,
    figure,
    fmt_number,
    legend,
    log_ticks,
    nice_ticks,
    plot_box,
    x_axis_label,
    y_axis,
)

DOT_R = 5.0
# (dx, dy, anchor) per unit of distance: right, left, above, below, then the four diagonals
_DIRECTIONS = (
    (1.0, 0.35, "start"), (-1.0, 0.35, "end"), (0.0, -1.0, "middle"), (0.0, 1.6, "middle"),
    (0.8, -0.8, "start"), (-0.8, -0.8, "end"), (0.8, 1.3, "start"), (-0.8, 1.3, "end"),
)  # fmt: skip
_DISTANCES_PX = (8.0, 18.0, 30.0, 44.0)


@dataclass(frozen=True)
class Point:
    """One scatter point: position, the label shown beside it, and the group that colours it."""

    x: float
    y: float
    label: str
    group: str


@dataclass(frozen=True)
class PlacedLabel:
    """Where a point's label goes: its baseline anchor, text-anchor and drawn box."""

    x: float
    y: float
    anchor: str
    box: Box
    leader: bool  # drawn away from its dot, with a line back to it


def _overlap_area(box: Box, others: Sequence[Box]) -> float:
    area = 0.0
    for o in others:
        w = min(box.right, o.right) - max(box.left, o.left)
        h = min(box.bottom, o.bottom) - max(box.top, o.top)
        area += max(w, 0.0) * max(h, 0.0)
    return area


def _candidates(text: str, cx: float, cy: float) -> list[PlacedLabel]:
    out = []
    for k, distance in enumerate(_DISTANCES_PX):
        for dx, dy, anchor in _DIRECTIONS:
            x, y = cx + dx * distance, cy + dy * distance
            out.append(PlacedLabel(x, y, anchor, label_box(text, x, y, anchor), k > 0))
    return out


def _distance(box: Box, x: float, y: float) -> float:
    """Distance from a point to the nearest edge of a box (0 inside it)."""
    dx = max(box.left - x, 0.0, x - box.right)
    dy = max(box.top - y, 0.0, y - box.bottom)
    return math.hypot(dx, dy)


def _nearest_is_own(box: Box, i: int, centres: Sequence[tuple[float, float]]) -> bool:
    """True when no other dot is as close to the label as its own, so it reads as its dot's."""
    own = _distance(box, *centres[i])
    return all(_distance(box, *c) > own + 2.0 for j, c in enumerate(centres) if j != i)


def leader_end(box: Box, cx: float, cy: float) -> tuple[float, float]:
    """Where a leader line from a dot meets its label's box: the box's nearest point."""
    return min(max(cx, box.left), box.right), min(max(cy, box.top), box.bottom)


def _segment_distance(
    px: float, py: float, a: tuple[float, float], b: tuple[float, float]
) -> float:
    (ax, ay), (bx, by) = a, b
    length2 = (bx - ax) ** 2 + (by - ay) ** 2
    t = (
        0.0
        if length2 == 0
        else max(0.0, min(1.0, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length2))
    )
    return math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))


def _reads_as_own(option: PlacedLabel, i: int, centres: Sequence[tuple[float, float]]) -> bool:
    """A label beside its dot must have no other dot as close; one with a leader line needs the
    line to pass clear of every other dot."""
    if not option.leader:
        return _nearest_is_own(option.box, i, centres)
    start = centres[i]
    end = leader_end(option.box, *start)
    others = (c for j, c in enumerate(centres) if j != i)
    return all(_segment_distance(*c, start, end) > DOT_R + 2.0 for c in others)


def place_labels(
    texts: Sequence[str], centres: Sequence[tuple[float, float]], plot: Box
) -> list[PlacedLabel]:
    """A label position for every point (same order), clear of dots and other labels where the
    plot leaves room, always inside `plot` when the label fits in it."""
    dots = [Box(x - DOT_R, y - DOT_R, x + DOT_R, y + DOT_R) for x, y in centres]

    def crowding(i: int) -> int:
        x, y = centres[i]
        return sum(1 for a, b in centres if abs(a - x) < 60 and abs(b - y) < 30)

    placed: dict[int, PlacedLabel] = {}
    for i in sorted(range(len(texts)), key=lambda i: (-crowding(i), i)):
        options = _candidates(texts[i], *centres[i])
        taken = [p.box for p in placed.values()] + [d for j, d in enumerate(dots) if j != i]
        inside = [o for o in options if o.box.inside(plot)] or options
        clear = [o for o in inside if not any(o.box.overlaps(t, pad=1.0) for t in taken)]
        own = [o for o in clear if _reads_as_own(o, i, centres)]
        best = own or clear
        placed[i] = best[0] if best else min(inside, key=lambda o: _overlap_area(o.box, taken))
    return [placed[i] for i in range(len(texts))]


def _kept(points: Sequence[Point], log_x: bool, log_y: bool) -> list[Point]:
    return [
        p
        for p in points
        if math.isfinite(p.x)
        and math.isfinite(p.y)
        and (p.x > 0 or not log_x)
        and (p.y > 0 or not log_y)
    ]


def _scales(kept: Sequence[Point], log_x: bool, log_y: bool) -> tuple[Scale, list, Scale, list]:
    left, right, top, bottom = plot_box()
    xs, ys = [p.x for p in kept], [p.y for p in kept]
    x_ticks = log_ticks(min(xs), max(xs)) if log_x else nice_ticks(min(0.0, *xs), max(xs))
    y_ticks = log_ticks(min(ys), max(ys)) if log_y else nice_ticks(min(0.0, *ys), max(ys))
    x = Scale(x_ticks[0], x_ticks[-1], left, right, log_x)
    y = Scale(y_ticks[0], y_ticks[-1], bottom, top, log_y)
    return x, x_ticks, y, y_ticks


def _marks(kept: Sequence[Point], x: Scale, y: Scale) -> list[str]:
    """Leader lines, then dots, then each point's label, placed clear of the others."""
    left, right, top, bottom = plot_box()
    groups = list(dict.fromkeys(p.group for p in kept))
    centres = [(x(p.x), y(p.y)) for p in kept]
    labels = place_labels([p.label for p in kept], centres, Box(left, top, right, bottom))
    leaders, dots, texts = [], [], []
    for i, (p, (cx, cy), placed) in enumerate(zip(kept, centres, labels, strict=True)):
        fill = colour(groups.index(p.group))
        dots.append(
            f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{DOT_R:g}" fill="{fill}" '
            f'fill-opacity="0.8" class="point" data-point="{i}"><title>{escape(p.label)} '
            f"({escape(p.group)}): {fmt_number(p.x)}, {fmt_number(p.y)}</title></circle>"
        )
        if placed.leader:
            lx, ly = leader_end(placed.box, cx, cy)
            leaders.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{lx:.1f}" y2="{ly:.1f}" '
                'stroke="#999" stroke-width="0.8" class="leader"/>'
            )
        texts.append(
            f'<text x="{placed.x:.1f}" y="{placed.y:.1f}" text-anchor="{placed.anchor}" '
            f'class="point-label" data-point="{i}">{escape(p.label)}</text>'
        )
    return leaders + dots + texts


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
    """Points coloured by group, each named beside its dot; log axes drop points that are not
    positive."""
    kept = _kept(points, log_x, log_y)
    if not kept:
        return empty_chart(chart_id, title)
    _, _, top, bottom = plot_box()
    x, x_ticks, y, y_ticks = _scales(kept, log_x, log_y)
    body = y_axis(y, y_ticks, y_label)
    for tick in x_ticks:
        px = x(tick)
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" class="grid"/>'
            f'<text x="{px:.1f}" y="{bottom + 16}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    body += _marks(kept, x, y)
    body.append(x_axis_label(x_label))
    entries, legend_bottom = legend(list(dict.fromkeys(p.group for p in kept)))
    return figure(chart_id, title, body + entries, note, height=max(HEIGHT, legend_bottom + 8))
