"""Plans side by side, year by year (`planner compare` on plan runs): the parts bought, the IT
capacity and battery the sites hold, the spend in present value and the unserved share, each
year, from the run tables (docs/results.md), as rows shaped like the headline comparison
(planner.results.queries.compare_runs): metric, unit, a value per run, each later run's
difference to the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from planner.results.folders import Run

YearValues = dict[str, float]  # year label -> value


def _table(run: Run, name: str) -> pd.DataFrame | None:
    return run.table(name) if run.kind == "plan" and run.has_table(name) else None


def _by_year(frame: pd.DataFrame | None, column: str) -> YearValues | None:
    """Sums of `column` by year; None when the table or the column is missing."""
    if frame is None or column not in frame.columns or "year" not in frame.columns:
        return None
    sums = frame.groupby(frame["year"].astype(str))[column].sum()
    return {str(k): float(v) for k, v in sums.items()}


def parts_bought(run: Run) -> dict[str, YearValues] | None:
    """Per part: units bought each year (purchases); None without the table."""
    purchases = _table(run, "purchases")
    if purchases is None or not {"part", "units_count"} <= set(purchases.columns):
        return None
    return {str(p): _by_year(rows, "units_count") or {} for p, rows in purchases.groupby("part")}


def unserved_share_by_year(run: Run) -> YearValues | None:
    """Tokens not served / demanded each year, token workloads only (summary `workload_units`)."""
    unserved = _table(run, "unserved")
    if unserved is None or not {"workload", "demand_tokens", "unserved_tokens"} <= set(unserved):
        return None
    units = run.summary.get("workload_units") or {}
    tokens = unserved[[units.get(str(w), "tokens") != "video_s" for w in unserved["workload"]]]
    demand = _by_year(tokens, "demand_tokens") or {}
    short = _by_year(tokens, "unserved_tokens") or {}
    return {y: short.get(y, 0.0) / d for y, d in demand.items() if d > 0}


def _row(
    label: str, unit: str, runs: Sequence[Run], values: Sequence[float | None], money: bool
) -> dict[str, Any]:
    first = runs[0]
    row: dict[str, Any] = {"metric": label, "unit": unit}
    for run, value in zip(runs, values, strict=True):
        row[run.run_id] = value
    base = values[0]
    for run, value in zip(runs[1:], values[1:], strict=True):
        same = not money or run.summary.get("currency") == first.summary.get("currency")
        difference = value - base if value is not None and base is not None and same else None
        row[f"{run.run_id} - {first.run_id}"] = difference
    return row


def _yearly_rows(
    runs: Sequence[Run],
    label: str,
    unit: str,
    read: Callable[[Run], YearValues | None],
    money: bool,
) -> list[dict[str, Any]]:
    """One row per year any plan has: `label in YEAR`; a run with the table but nothing that
    year shows 0, a run without the table (a site, an older plan) nothing."""
    per_run = [read(r) for r in runs]
    years = sorted({y for values in per_run if values for y in values})
    return [
        _row(
            f"{label} in {year}",
            unit,
            runs,
            [None if values is None else values.get(year, 0.0) for values in per_run],
            money,
        )
        for year in years
    ]


def plan_comparison_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """Parts bought by part and year, IT capacity and battery by year, spend by year (present
    value) and the unserved share by year, for every plan among `runs`."""
    if not any(r.kind == "plan" for r in runs):
        return []
    currencies = {str(r.summary.get("currency", "")) for r in runs if r.kind == "plan"}
    cur = " | ".join(sorted(currencies))
    bought = [parts_bought(r) for r in runs]
    rows = []
    for part in sorted({p for parts in bought if parts for p in parts}):

        def of(run: Run, part: str = part) -> YearValues | None:
            parts = parts_bought(run)
            return None if parts is None else parts.get(part, {})

        rows += _yearly_rows(runs, f"{part} bought", "parts", of, False)

    def caps(column: str) -> Callable[[Run], YearValues | None]:
        return lambda r: _by_year(_table(r, "site_capacities"), column)

    rows += _yearly_rows(runs, "IT capacity", "MW", caps("it_capacity_mw"), False)
    rows += _yearly_rows(runs, "battery energy", "MWh", caps("battery_mwh"), False)
    rows += _yearly_rows(runs, "battery power", "MW", caps("battery_mw"), False)
    spend = lambda r: _by_year(_table(r, "yearly"), "discounted_spend")  # noqa: E731
    rows += _yearly_rows(runs, "spend (present value)", cur, spend, True)
    rows += _yearly_rows(runs, "unserved share", "fraction", unserved_share_by_year, False)
    return rows
