"""Summaries of a finished sweep: a tornado of parameter effects and distributions of results.

Pure functions over the sweep table (`sweep.parquet`, one row per case, see docs/sweeps.md):
they read only cases whose `status` is "ok" and never solve anything.

Tornado (which parameter moves a metric most), by the kind of parameter:

- grid (values given with `--vary`): the metric's mean over the ok cases at the parameter's lowest
  value and at its highest value, each averaging over every other parameter (its marginal effect);
- sampled (Monte Carlo, declared under `distributions`): a least-squares fit of the metric on
  every sampled parameter at once, y = a + sum_i b_i x_i over the ok cases; the parameter moves
  from its 10th to its 90th percentile (`low_value`, `high_value`) with the others at their
  means: metric_at_low = mean(y) + b_i (p10_i - mean(x_i)), likewise at p90. Fitting all
  parameters together keeps one parameter's effect from being credited to another that happens
  to be correlated with it in a finite sample (which conditional means over deciles do);
- categorical (strings, e.g. `regime`): the metric's mean per category; low and high are the
  categories with the lowest and the highest mean.

`swing` is |metric_at_high - metric_at_low|; rows are sorted by swing, largest first.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.errors import InputError
from planner.results.folders import SWEEP_MANIFEST, SWEEP_TABLE
from planner.sweeps.sweep import HEADLINE_RESULTS, Sweep, read_sweep

SAMPLE_INDEX = "sample"
DEFAULT_METRIC = "cost_per_million_served_tokens"
DISTRIBUTION_METRICS: tuple[str, ...] = (
    "cost_per_million_served_tokens",
    "it_mw",
    "unserved_tokens",
    "battery_mwh",
)
HEADLINE_METRICS: tuple[str, ...] = HEADLINE_RESULTS
METRIC_UNITS: Mapping[str, str] = {
    "net_present_cost": "currency (present value)",
    "cost_per_million_served_tokens": "currency per million tokens",
    "unserved_tokens": "tokens over the plan",
    "unserved_share_fraction": "fraction of demand",
    "served_mtok": "million tokens",
    "it_mw": "MW (final period, all sites)",
    "solar_mw": "MW (final period, all sites)",
    "battery_mwh": "MWh (final period, all sites)",
    "battery_mw": "MW (final period, all sites)",
    "parts_installed": "accelerators (final period)",
}
DECILE_FRACTION = 0.1
PERCENTILES: tuple[int, ...] = (5, 25, 50, 75, 95)

ParameterKind = Literal["grid", "sampled", "categorical"]


def sampled_parameters(sweep: Sweep) -> list[str]:
    """Parameters drawn from distributions (Monte Carlo), as opposed to grid values."""
    declared = sweep.meta.get("distributions") or {}
    return [p for p in sweep.parameters if p in declared]


def tornado_parameters(sweep: Sweep) -> list[str]:
    """The parameters a tornado ranks: all but `sample` (the Monte Carlo draw's index)."""
    return [p for p in sweep.parameters if p != SAMPLE_INDEX]


# --------------------------------------------------------------------------- reading


def load_sweep(folder: Path) -> Sweep:
    """Read a sweep folder (`sweep.read_sweep`) with the checks a summary needs, each a
    one-paragraph error naming the folder and the fix."""
    folder = Path(folder)
    fix = "give the folder `planner sweep` wrote (it holds sweep.json and sweep.parquet)."
    if not folder.is_dir():
        raise InputError.one(folder, "", "is not a folder.", fix)
    missing = [name for name in (SWEEP_MANIFEST, SWEEP_TABLE) if not (folder / name).is_file()]
    if missing:
        raise InputError.one(
            folder, missing[0], "is missing: this is not a (finished) sweep folder.", fix
        )
    try:
        sweep = read_sweep(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError.one(
            folder, SWEEP_MANIFEST, f"cannot be read ({exc}).", "run `planner sweep` again."
        ) from None
    absent = [c for c in ("case", "status", *sweep.parameters) if c not in sweep.table.columns]
    if absent:
        raise InputError.one(
            folder / SWEEP_TABLE,
            absent[0],
            "a column of the documented sweep table is missing.",
            "run `planner sweep` again.",
        )
    return sweep


def ok_cases(table: pd.DataFrame) -> pd.DataFrame:
    """The cases that finished with a result (status "ok")."""
    return table[table["status"] == "ok"]


def require_ok_cases(sweep: Sweep) -> pd.DataFrame:
    """The ok cases, or an error naming the folder when there is none."""
    ok = ok_cases(sweep.table)
    if ok.empty:
        failed = sweep.table[sweep.table["status"] == "failed"]
        first = ""
        if not failed.empty and "error" in failed.columns:
            first = f" First error: {failed['error'].dropna().astype(str).head(1).str.cat()}"
        raise InputError.one(
            sweep.folder,
            SWEEP_TABLE,
            f"no case finished ok ({len(sweep.table)} cases, {len(failed)} failed).{first}",
            "fix the cause shown and run `planner sweep` again (finished cases are kept).",
        )
    return ok


def check_metric(sweep: Sweep, metric: str) -> None:
    """A metric must be a numeric column of the sweep table."""
    numeric = [
        c for c in HEADLINE_METRICS if c in sweep.table.columns and c not in sweep.parameters
    ]
    if metric not in numeric:
        raise InputError.option(
            "metric",
            f"'{metric}' is not a headline result of this sweep.",
            f"choose one of: {', '.join(numeric)}.",
        )


# --------------------------------------------------------------------------- tornado


def parameter_kind(column: pd.Series, *, sampled: bool) -> ParameterKind:
    """Categorical for strings (regime ids), sampled for Monte Carlo draws, else grid."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return "categorical"
    return "sampled" if sampled else "grid"


def _mean(values: pd.Series) -> float:
    finite = values.dropna()
    return float(finite.mean()) if len(finite) else math.nan


def _grid_effect(x: pd.Series, y: pd.Series) -> dict[str, Any]:
    """Mean metric at the parameter's lowest and highest value (other parameters averaged)."""
    low, high = float(x.min()), float(x.max())
    at_low, at_high = y[x == low], y[x == high]
    return {
        "low_value": low,
        "high_value": high,
        "metric_at_low": _mean(at_low),
        "metric_at_high": _mean(at_high),
        "cases_at_low": int(at_low.notna().sum()),
        "cases_at_high": int(at_high.notna().sum()),
    }


def _regression_effects(x: pd.DataFrame, y: pd.Series) -> dict[str, dict[str, Any]]:
    """Per sampled parameter: the fitted metric at its 10th and 90th percentile, the others at
    their means, from one least-squares fit y = a + X b over the cases with every value.

    With no more cases than coefficients the fit is not determined and every effect is NaN."""
    keep = x.notna().all(axis=1) & y.notna()
    xs, ys = x[keep].to_numpy(dtype=float), y[keep].to_numpy(dtype=float)
    n, k = xs.shape
    mean_x = xs.mean(axis=0) if n else np.full(k, math.nan)
    if n > k + 1:
        design = np.column_stack([np.ones(n), xs - mean_x])
        coef = np.linalg.lstsq(design, ys, rcond=None)[0][1:]
    else:
        coef = np.full(k, math.nan)
    out = {}
    for i, name in enumerate(x.columns):
        column = xs[:, i]
        low = float(np.percentile(column, 100 * DECILE_FRACTION)) if n else math.nan
        high = float(np.percentile(column, 100 * (1 - DECILE_FRACTION))) if n else math.nan
        centre = float(ys.mean()) if n else math.nan
        out[name] = {
            "low_value": low,
            "high_value": high,
            "metric_at_low": centre + coef[i] * (low - mean_x[i]),
            "metric_at_high": centre + coef[i] * (high - mean_x[i]),
            "cases_at_low": int(n),
            "cases_at_high": int(n),
        }
    return out


def _category_effect(x: pd.Series, y: pd.Series) -> dict[str, Any]:
    """Mean metric per category; low and high are the categories with the extreme means."""
    means = y.groupby(x.astype(str), sort=True).mean().dropna()
    counts = y.groupby(x.astype(str), sort=True).count()
    if means.empty:
        return {
            "low_value": None,
            "high_value": None,
            "metric_at_low": math.nan,
            "metric_at_high": math.nan,
            "cases_at_low": 0,
            "cases_at_high": 0,
        }
    # ties: the first category (in sorted order) is low, the last is high
    low = str(means[means == means.min()].index[0])
    high = str(means[means == means.max()].index[-1])
    return {
        "low_value": low,
        "high_value": high,
        "metric_at_low": float(means[low]),
        "metric_at_high": float(means[high]),
        "cases_at_low": int(counts[low]),
        "cases_at_high": int(counts[high]),
    }


def tornado(
    table: pd.DataFrame,
    parameters: Sequence[str],
    metric: str = DEFAULT_METRIC,
    *,
    sampled: Collection[str] = (),
) -> list[dict[str, Any]]:
    """One row per parameter: its low and high value, the metric's mean there, and the swing.

    Grid parameters compare the ok cases at their lowest and highest value; parameters named in
    `sampled` give the fitted metric at their 10th and 90th percentile (one linear fit on all of
    them); string parameters compare the categories with the lowest and highest mean. Rows are
    sorted by swing (|high - low|), largest first; a parameter whose swing cannot be computed
    (one value, or no metric) comes last with NaN.
    """
    ok = ok_cases(table)
    y = pd.to_numeric(ok[metric], errors="coerce").astype(float)
    fitted = [
        n for n in parameters if n in sampled and parameter_kind(ok[n], sampled=True) == "sampled"
    ]
    effects = _regression_effects(ok[fitted].astype(float), y) if fitted else {}
    rows = []
    for name in parameters:
        x = ok[name]
        kind = parameter_kind(x, sampled=name in sampled)
        keep = x.notna()
        match kind:
            case "categorical":
                effect = _category_effect(x[keep], y[keep])
            case "sampled":
                effect = effects[name]
            case _:
                effect = _grid_effect(x[keep].astype(float), y[keep])
        swing = abs(effect["metric_at_high"] - effect["metric_at_low"])
        rows.append(
            {
                "parameter": name,
                "kind": kind,
                **effect,
                "swing": swing if math.isfinite(swing) else math.nan,
                "metric": metric,
            }
        )
    order = sorted(
        range(len(rows)),
        key=lambda i: (not math.isfinite(rows[i]["swing"]), -np.nan_to_num(rows[i]["swing"])),
    )
    return [rows[i] for i in order]


# --------------------------------------------------------------------------- distributions


def distributions(
    table: pd.DataFrame, metrics: Sequence[str] = DISTRIBUTION_METRICS
) -> list[dict[str, Any]]:
    """Per metric over the ok cases: count, mean, 5/25/50/75/95th percentiles, min and max.

    Percentiles interpolate linearly between cases (numpy's default). `count` is the ok cases
    with a value; `failed` is the sweep's failed cases (the same on every row). A metric with
    no value gives NaN statistics.
    """
    ok = ok_cases(table)
    failed = int((table["status"] == "failed").sum())
    rows = []
    for metric in metrics:
        if metric not in table.columns:
            continue
        values = pd.to_numeric(ok[metric], errors="coerce").dropna().to_numpy(dtype=float)
        row: dict[str, Any] = {"metric": metric, "count": int(values.size), "failed": failed}
        if values.size:
            row["mean"] = float(values.mean())
            for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES), strict=True):
                row[f"p{q}"] = float(v)
            row["min"], row["max"] = float(values.min()), float(values.max())
        else:
            row |= {k: math.nan for k in ("mean", *(f"p{q}" for q in PERCENTILES), "min", "max")}
        rows.append(row)
    return rows


def case_rows(sweep: Sweep, limit: int | None = None) -> list[dict[str, Any]]:
    """Cases with their parameters and headline results (first `limit` rows), for tables."""
    columns = [
        "case",
        "status",
        *sweep.parameters,
        *(c for c in HEADLINE_METRICS if c in sweep.table.columns and c not in sweep.parameters),
        "error",
    ]
    present = [c for c in dict.fromkeys(columns) if c in sweep.table.columns]
    frame = sweep.table[present] if limit is None else sweep.table[present].head(limit)
    return [
        {k: (None if _is_missing(v) else v) for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def summary_json(sweep: Sweep, metric: str = DEFAULT_METRIC) -> dict[str, Any]:
    """The stable JSON of `planner sweep summary` (docs/cli.md)."""
    table = sweep.table
    return {
        "sweep": str(sweep.folder),
        "scenario": sweep.meta.get("scenario"),
        "parameters": list(sweep.parameters),
        "sampled": sampled_parameters(sweep),
        "cases": len(table),
        "ok": int((table["status"] == "ok").sum()),
        "failed": int((table["status"] == "failed").sum()),
        "metric": metric,
        "tornado": tornado(
            table, tornado_parameters(sweep), metric, sampled=sampled_parameters(sweep)
        ),
        "distributions": distributions(table),
    }
