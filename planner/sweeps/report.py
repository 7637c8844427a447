"""The sweep's HTML page: its cases, the tornado of what moves the chosen metric, and the
distribution of every headline result (docs/sweeps.md)."""

from __future__ import annotations

import datetime as dt
import math
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from planner.errors import InputError
from planner.results.charts import fmt_number
from planner.results.report import _CSS, html_table, write_html
from planner.results.sweep_charts import TornadoBar, histogram_chart, tornado_chart
from planner.sweeps.summary import (
    DEFAULT_METRIC,
    case_rows,
    distributions,
    ok_cases,
    sampled_parameters,
    tornado,
    tornado_parameters,
)
from planner.sweeps.sweep import Sweep

# --------------------------------------------------------------------------- sweeps

SWEEP_CASE_ROWS = 1_000
SWEEP_HISTOGRAMS: tuple[tuple[str, str], ...] = (
    ("cost_per_million_served_tokens", "cost per million served tokens"),
    ("it_mw", "IT capacity, final period (MW)"),
    ("unserved_tokens", "unserved tokens over the plan"),
)


def _setting_label(value: Any, kind: str, side: str) -> str:
    """How a tornado bar names a parameter's setting: the value, or the percentile it is."""
    if value is None:
        return "-"
    if kind == "sampled":
        return f"{'p10' if side == 'low' else 'p90'} {fmt_number(float(value))}"
    return fmt_number(float(value)) if isinstance(value, int | float) else str(value)


def sweep_tornado_html(sweep: Sweep, metric: str = DEFAULT_METRIC) -> str:
    """The tornado chart (bars from the median to the metric at each parameter's low and high
    setting, largest swing first) and its table."""
    sampled = sampled_parameters(sweep)
    rows = tornado(sweep.table, tornado_parameters(sweep), metric, sampled=sampled)
    values = pd.to_numeric(ok_cases(sweep.table)[metric], errors="coerce").dropna()
    median = float(values.median()) if len(values) else math.nan
    currency = _sweep_currency(sweep)
    unit = f"{currency} per million tokens" if metric == DEFAULT_METRIC else metric
    bars = [
        TornadoBar(
            label=str(r["parameter"]),
            metric_at_low=r["metric_at_low"],
            metric_at_high=r["metric_at_high"],
            low_label=_setting_label(r["low_value"], r["kind"], "low"),
            high_label=_setting_label(r["high_value"], r["kind"], "high"),
        )
        for r in rows
    ]
    chart = tornado_chart(
        bars,
        baseline=median,
        chart_id="sweep-tornado",
        title=f"tornado: what moves {metric} most",
        x_label=f"{metric} ({unit}); line at the median of ok cases, {fmt_number(median)}",
        note="(grid: mean at lowest and highest value; sampled: linear fit on all sampled "
        "parameters, each at its p10 and p90; categories: lowest and highest mean)",
    )
    return chart + html_table(rows)


def _sweep_currency(sweep: Sweep) -> str:
    if "currency" not in sweep.table.columns:
        return ""
    found = ok_cases(sweep.table)["currency"].dropna().astype(str).unique()
    return ", ".join(found)


def sweep_section(sweep: Sweep, metric: str = DEFAULT_METRIC) -> str:
    """A sweep: its identity, the tornado, histograms of cost per million tokens, IT MW and
    unserved tokens, the distributions table, and every case with its parameters and results."""
    table = sweep.table
    n_ok = int((table["status"] == "ok").sum())
    n_failed = int((table["status"] == "failed").sum())
    ok = ok_cases(table)
    sampled = sampled_parameters(sweep)
    parts = [
        f'<section class="sweep" id="sweep"><h2>sweep of {escape(str(sweep.meta.get("scenario")))}'
        "</h2>",
        f'<p class="meta">folder {escape(str(sweep.folder))}; {len(table)} cases, {n_ok} ok, '
        f"{n_failed} failed; parameters: {escape(', '.join(sweep.parameters) or '-')}"
        f"{'; sampled: ' + escape(', '.join(sampled)) if sampled else ''}</p>",
        sweep_tornado_html(sweep, metric),
        "<h3>distributions over the ok cases</h3>",
    ]
    for column, label in SWEEP_HISTOGRAMS:
        if column in ok.columns:
            parts.append(
                histogram_chart(
                    pd.to_numeric(ok[column], errors="coerce").tolist(),
                    chart_id=f"sweep-hist-{column}",
                    title=f"distribution of {label}",
                    x_label=label,
                    note=f"({n_ok} ok cases)",
                )
            )
    parts.append(html_table(distributions(table)))
    rows = case_rows(sweep, limit=SWEEP_CASE_ROWS)
    more = len(table) - len(rows)
    parts.append("<h3>cases</h3>" + html_table(rows))
    if more > 0:
        parts.append(f"<p>{more} more cases are in sweep.parquet.</p>")
    parts.append("</section>")
    return "".join(parts)


def build_sweep_report(
    sweep: Sweep, metric: str = DEFAULT_METRIC, *, generated: dt.datetime | None = None
) -> str:
    """A self-contained page holding one sweep's section."""
    when = (generated or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    title = f"sweep report: {sweep.meta.get('scenario')}"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="meta">power-compute-planner, generated {escape(when)}</p>',
            sweep_section(sweep, metric),
            "</body></html>",
        ]
    )


def write_sweep_report(sweep: Sweep, out: Path, metric: str = DEFAULT_METRIC) -> Path:
    """Write a sweep's report to `out` atomically."""
    out = Path(out)
    if not out.resolve().parent.is_dir():
        raise InputError.option(
            "report", f"folder '{out.resolve().parent}' does not exist.", "create it first."
        )
    return write_html(build_sweep_report(sweep, metric), out)
