"""Merge `planner bench --record` files into one results file; print a Markdown table and chart.

    .venv/bin/python benches/summarise.py benches/results/site-2026-11-23.json part-*.json

The first argument is the merged file written (atomically); the rest are record files read. The
table and the ASCII chart (total seconds against time steps x sites, log-log) go to stdout for
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

COLUMNS = (
    "backend", "method", "size", "hours", "sites", "build_s", "solve_s", "total_s",
    "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective",
)  # fmt: skip
MARKS = {
    ("cvxpy", "joint"): "c",
    ("pyomo", "joint"): "p",
    ("cvxpy", "apart"): "C",
    ("pyomo", "apart"): "P",
}


def merge(paths: list[Path]) -> dict[str, Any]:
    """One record: the first file's machine, every file's command and rows."""
    records = [json.loads(p.read_text()) for p in paths]
    return {
        "measured_at": [r["measured_at"] for r in records],
        "commands": [r["command"] for r in records],
        "machine": records[0]["machine"],
        "load_average_1min_at_start": [r["machine"]["load_average_1min_at_start"] for r in records],
        "solver_options": records[0]["solver_options"],
        "rows": [row for r in records for row in r["rows"]],
    }


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1e5:
            return f"{value:.6e}"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in sorted(rows, key=lambda r: (r["sites"], r["hours"] or 0, r["backend"], r["method"])):
        lines.append("| " + " | ".join(cell(row.get(c)) for c in COLUMNS) + " |")
    return "\n".join(lines)


def chart(rows: list[dict[str, Any]], width: int = 64, height: int = 18) -> str:
    """Log-log scatter of total seconds against time steps x sites; h marks HiGHS alone."""
    points = []
    for row in rows:
        if not row.get("total_s") or not row.get("hours"):
            continue
        size = row["hours"] * row["sites"]
        points.append((size, row["total_s"], MARKS[(row["backend"], row["method"])]))
        if row["method"] == "joint" and row.get("highs_alone_s"):
            points.append((size, row["highs_alone_s"], "h"))
    if not points:
        return "(no rows)"
    xs = [math.log10(p[0]) for p in points]
    ys = [math.log10(p[1]) for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    grid = [[" "] * width for _ in range(height)]
    for x, y, (_, _, mark) in zip(xs, ys, points, strict=True):
        col = round((x - x0) / ((x1 - x0) or 1) * (width - 1))
        row = height - 1 - round((y - y0) / ((y1 - y0) or 1) * (height - 1))
        grid[row][col] = mark if grid[row][col] in (" ", mark) else "*"
    lines = []
    for i, line in enumerate(grid):
        label = 10 ** (y1 - i / (height - 1) * (y1 - y0)) if height > 1 else 10**y1
        lines.append(f"{label:9.3g} s |" + "".join(line))
    lines.append(" " * 12 + "+" + "-" * width)
    lines.append(
        " " * 13 + f"{10**x0:.0f}" + " " * (width - 14) + f"{10**x1:.0f}  time steps x sites"
    )
    lines.append(" " * 13 + "c/p cvxpy/Pyomo one LP, C/P sites apart, h HiGHS alone, * overlap")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    out, paths = Path(argv[0]), [Path(p) for p in argv[1:]]
    record = merge(paths)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, out)
    sys.stdout.write(table(record["rows"]) + "\n\n```\n" + chart(record["rows"]) + "\n```\n")


if __name__ == "__main__":
    main(sys.argv[1:])
