"""`planner demand show SCENARIO`: projected tokens per day and peak tokens per second."""

from __future__ import annotations

from typing import Any

import typer

from cli.options import FormatOpt, ScenarioArg
from cli.render import OutputFormat, emit
from planner.demand.projection import DeferrableBatch, DemandProjection, total_hourly_tokens_per_s
from planner.plan.scenario import find_scenario, load_scenario

app = typer.Typer(help="Token demand projected by a scenario.", no_args_is_help=True)


def demand_rows(demand: DemandProjection) -> list[dict[str, Any]]:
    """One row per workload and period: tokens/day, input/output split, mean and peak tokens/s
    (0 for a video workload, whose demand is `video_s_per_day`); with several workloads, a
    `total` row per period whose peak is the coincident peak hour."""
    rows = []
    for w, name in enumerate(demand.workload_names):
        batch = isinstance(demand.latency[w], DeferrableBatch)
        for y, label in enumerate(demand.period_labels):
            rows.append(
                {
                    "workload": name,
                    "period": label,
                    "latency": "batch" if batch else "interactive",
                    "unit": demand.units[w],
                    "tokens_per_day": float(demand.tokens_per_day[w, y]),
                    "input_tokens_per_day": float(demand.input_tokens_per_day[w, y]),
                    "output_tokens_per_day": float(demand.output_tokens_per_day[w, y]),
                    "mean_tokens_per_s": float(demand.mean_tokens_per_s[w, y]),
                    "peak_tokens_per_s": float(demand.peak_tokens_per_s[w, y]),
                    "video_s_per_day": float(demand.per_day[w, y]) if demand.is_video[w] else 0.0,
                    "shape": demand.shape_sources[w] if demand.shape_sources else "flat",
                }
            )
    if len(demand.workload_names) > 1:
        for y, label in enumerate(demand.period_labels):
            hourly = total_hourly_tokens_per_s(demand, y)
            rows.append(
                {
                    "workload": "total",
                    "period": label,
                    "latency": "all",
                    "unit": "all",
                    "tokens_per_day": float(demand.tokens_per_day[:, y].sum()),
                    "input_tokens_per_day": float(demand.input_tokens_per_day[:, y].sum()),
                    "output_tokens_per_day": float(demand.output_tokens_per_day[:, y].sum()),
                    "mean_tokens_per_s": float(demand.mean_tokens_per_s[:, y].sum()),
                    "peak_tokens_per_s": float(hourly.max()),  # coincident peak hour
                    "video_s_per_day": float(demand.per_day[demand.is_video, y].sum()),
                    "shape": "coincident peak of the busier day (weekday or weekend)",
                }
            )
    return rows


@app.command("show")
def show(
    scenario: ScenarioArg,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Tokens per day per workload and period, and the peak-hour tokens per second."""
    loaded = load_scenario(find_scenario(scenario))
    emit(demand_rows(loaded.demand), fmt, title=f"demand of {loaded.name}")
