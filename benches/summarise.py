"""Merge `planner bench --record` files into one results file; print a Markdown table and chart.

    .venv/bin/python benches/summarise.py benches/results/site-2026-11-23.json part-*.json

The first argument is the merged file written (atomically); the rest are record files read. The
table and the ASCII chart (total seconds against size, log-log) go to stdout for
docs/benchmarks.md. Size is time steps x sites for the site model and the LP's column count (the
MPS file HiGHS alone solved) for the capacity plan (`planner bench --model plan`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from planner.atomic import atomic_write_text

COLUMNS = (
    "backend", "method", "size", "hours", "sites", "build_s", "solve_s", "total_s",
    "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective",
)  # fmt: skip
PLAN_COLUMNS = (
    "backend", "method", "size", "parts", "years", "sites", "hours", "cols", "build_s", "solve_s",
    "total_s", "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective",
)  # fmt: skip
MARKS = {
    ("cvxpy", "joint"): "c",
    ("pyomo", "joint"): "p",
    ("cvxpy", "apart"): "C",
    ("pyomo", "apart"): "P",
    ("cvxpy", "lp"): "c",
    ("pyomo", "lp"): "p",
    ("cvxpy", "milp"): "C",
    ("pyomo", "milp"): "P",
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


def is_plan(rows: list[dict[str, Any]]) -> bool:
    return any(row.get("model") == "plan" for row in rows)


def table(rows: list[dict[str, Any]]) -> str:
    """Site rows by sites, hours, backend; plan rows in the order measured (the grid's order)."""
    columns = PLAN_COLUMNS if is_plan(rows) else COLUMNS
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    if not is_plan(rows):
        rows = sorted(rows, key=lambda r: (r["sites"], r["hours"] or 0, r["backend"], r["method"]))
    for row in rows:
        lines.append("| " + " | ".join(cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def size_of(row: dict[str, Any]) -> int | None:
    """Time steps x sites (site model) or the LP's columns (plan)."""
    if row.get("model") == "plan":
        return row.get("cols")
    return row["hours"] * row["sites"] if row.get("hours") else None


def chart(rows: list[dict[str, Any]], width: int = 64, height: int = 18) -> str:
    """Log-log scatter of total seconds against time steps x sites; h marks HiGHS alone."""
    points = []
    for row in rows:
        size = size_of(row)
        if not row.get("total_s") or not size:
            continue
        points.append((size, row["total_s"], MARKS[(row["backend"], row["method"])]))
        if row["method"] in ("joint", "lp", "milp") and row.get("highs_alone_s"):
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
    plan = is_plan(rows)
    unit = "LP columns" if plan else "time steps x sites"
    lines.append(" " * 13 + f"{10**x0:.0f}" + " " * (width - 14) + f"{10**x1:.0f}  {unit}")
    legend = "c/p cvxpy/Pyomo LP, C/P MILP" if plan else "c/p cvxpy/Pyomo one LP, C/P sites apart"
    lines.append(" " * 13 + legend + ", h HiGHS alone, * overlap")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    out, paths = Path(argv[0]), [Path(p) for p in argv[1:]]
    record = merge(paths)
    atomic_write_text(out, json.dumps(record, indent=2) + "\n")
    sys.stdout.write(table(record["rows"]) + "\n\n```\n" + chart(record["rows"]) + "\n```\n")


if __name__ == "__main__":
    main(sys.argv[1:])
