"""Ranked horizontal bars: one row per item, its label to the left, its value at the bar's end.

For lists whose labels are long (binding limits named by constraint, site and year): the left
margin is as wide as the widest label needs (measured with planner.results.chart_text), up to
`MAX_LABEL_PX`; a label wider than that wraps onto more lines and its row grows, so no label is
cut or runs off the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from planner.results.chart_text import LINE_PX, text_lines, text_width_px, wrap_text
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
)

MAX_LABEL_PX = 300.0
VALUE_ROOM_PX = 60.0  # right of the longest bar, for its value


def _rows(labels: Sequence[str]) -> tuple[list[list[str]], float]:
    """Each label as lines, and the left margin that holds the widest line."""
    widest = max((text_width_px(t) for t in labels), default=0.0)
    room = min(widest, MAX_LABEL_PX)
    lines = [wrap_text(t, room) for t in labels]
    used = max((text_width_px(line) for rows in lines for line in rows), default=0.0)
    return lines, used + 16


def ranked_bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    chart_id: str,
    title: str,
    x_label: str,
    note: str = "",
) -> str:
    """A bar per item, in the order given, from zero to its value (negatives to the left)."""
    kept = [(str(t), v) for t, v in zip(labels, clean(values), strict=True) if v is not None]
    if not kept:
        return empty_chart(chart_id, title)
    lines, left = _rows([t for t, _ in kept])
    right = WIDTH - VALUE_ROOM_PX
    numbers = [v for _, v in kept]
    ticks = nice_ticks(min(0.0, *numbers) * 1.15, max(0.0, *numbers))  # room for values
    x = Scale(ticks[0], ticks[-1], left, right)
    heights = [max(22.0, LINE_PX * len(rows) + 9) for rows in lines]
    top = MARGIN_TOP + 4
    bottom = top + sum(heights)
    body = _value_axis(ticks, x, top, bottom)
    y = float(top)
    for (text, value), rows, h in zip(kept, lines, heights, strict=True):
        x0, x1 = sorted((x(0.0), x(value)))
        body.append(
            f'<rect x="{x0:.2f}" y="{y + 3:.2f}" width="{max(x1 - x0, 0.5):.2f}" '
            f'height="{h - 6:.2f}" fill="{colour(0)}" class="bar"><title>{escape(text)}: '
            f"{fmt_number(value)}</title></rect>"
        )
        first = y + h / 2 + 4 - (len(rows) - 1) * LINE_PX / 2
        body.append(text_lines(rows, left - 8, first, "end", class_="bar-label"))
        end, anchor = (x1 + 4, "start") if value >= 0 else (x0 - 4, "end")
        body.append(text_lines([fmt_number(value)], end, y + h / 2 + 4, anchor))
        y += h
    body.append(
        f'<text x="{(left + right) / 2:.1f}" y="{bottom + 34}" text-anchor="middle" '
        f'class="axis-label">{escape(x_label)}</text>'
    )
    return figure(chart_id, title, body, note, height=bottom + 44)


def _value_axis(ticks: Sequence[float], x: Scale, top: float, bottom: float) -> list[str]:
    """Grid lines and values along the bottom, and the zero line."""
    body = []
    for tick in ticks:
        px = x(tick)
        line_class = "zero" if tick == 0 else "grid"
        body.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" class="{line_class}"/>'
            f'<text x="{px:.1f}" y="{bottom + 14}" text-anchor="middle">{fmt_number(tick)}</text>'
        )
    return body
