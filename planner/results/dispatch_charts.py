"""Dispatch charts of a run: a representative week of a site, each plan site's hours."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import pandas as pd

from planner.results.charts import (
    bar_chart,
    line_chart,
)
from planner.results.folders import Run

# --------------------------------------------------------------------------- site charts


def representative_week(dispatch: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Seven days of dispatch around the day of peak facility load, with a caption note.

    With seven days or fewer (e.g. representative days) every day is kept.
    """
    days = list(dict.fromkeys(dispatch["day"].tolist()))
    weighted = not (dispatch["weight_h"] == 1.0).all()
    kind = "representative days (weighted)" if weighted else "days"
    if len(days) <= 7:
        return dispatch, f"all {len(days)} {kind}"
    facility = dispatch["served_it_mw"] * dispatch["pue"]
    peak_day = dispatch.loc[facility.idxmax(), "day"]
    i = days.index(peak_day)
    start = min(max(i - 3, 0), len(days) - 7)
    chosen = days[start : start + 7]
    week = dispatch[dispatch["day"].isin(chosen)]
    return week, f"7 {kind} around the day of peak facility load"


def _hour_label(text: Any) -> str:
    value = str(text)
    return value[5:16].replace("T", " ") if len(value) >= 16 else value


DISPATCH_COLUMNS = (
    "day",
    "hour_start",
    "weight_h",
    "served_it_mw",
    "pue",
    "grid_import_mw",
    "grid_export_mw",
    "solar_used_mw",
    "charge_mw",
    "discharge_mw",
    "soc_mwh",
)


def missing_columns_note(run: Run, table: str, frame: pd.DataFrame, needed: Sequence[str]) -> str:
    """A visible note (instead of a chart) when a table lacks the columns a chart needs."""
    missing = [c for c in needed if c not in frame.columns]
    if not missing:
        return ""
    return (
        f'<p class="warning">{escape(run.run_id)}: table {escape(table)} lacks '
        f"{escape(', '.join(missing))}; its chart is left out (see docs/results.md).</p>"
    )


def site_dispatch_charts(run: Run, prefix: str) -> list[str]:
    """A week of hourly supply and demand (stacked bars, charging below zero) and its SOC."""
    if not run.has_table("dispatch"):
        return []
    dispatch = run.table("dispatch")
    note = missing_columns_note(run, "dispatch", dispatch, DISPATCH_COLUMNS)
    if note:
        return [note]
    return dispatch_charts(run, dispatch, prefix, where="")


PLAN_DISPATCH_COLUMNS = (
    "site",
    "year",
    "day",
    "hour_of_day",
    "weight_h",
    "grid_import_mw",
    "solar_used_mw",
    "charge_mw",
    "discharge_mw",
    "soc_mwh",
)


def plan_dispatch_charts(run: Run, prefix: str) -> list[str]:
    """The site dispatch charts for a plan: its last year, at the site cycling its battery most
    (else drawing most from the grid). Facility load is what the supplies meet: grid + solar +
    discharge - charge."""
    if not run.has_table("dispatch"):
        return []
    plan = run.table("dispatch")
    note = missing_columns_note(run, "dispatch", plan, PLAN_DISPATCH_COLUMNS)
    if note:
        return [note]
    year = sorted(plan["year"].unique())[-1]
    last = plan[plan["year"] == year]
    by_site = last.groupby("site")
    busiest = by_site["discharge_mw"].sum()
    site = (busiest if busiest.max() > 0 else by_site["grid_import_mw"].sum()).idxmax()
    one = last[last["site"] == site]
    facility = one["grid_import_mw"] + one["solar_used_mw"] + one["discharge_mw"] - one["charge_mw"]
    frame = pd.DataFrame(
        {
            "day": one["day"].to_numpy(),
            "hour_start": [
                f"day {d} {h:02d}:00" for d, h in zip(one["day"], one["hour_of_day"], strict=True)
            ],
            "weight_h": one["weight_h"].to_numpy(),
            "served_it_mw": facility.to_numpy(),
            "pue": 1.0,
            "grid_import_mw": one["grid_import_mw"].to_numpy(),
            "grid_export_mw": 0.0,
            "solar_used_mw": one["solar_used_mw"].to_numpy(),
            "charge_mw": one["charge_mw"].to_numpy(),
            "discharge_mw": one["discharge_mw"].to_numpy(),
            "soc_mwh": one["soc_mwh"].to_numpy(),
        }
    )
    return dispatch_charts(run, frame, f"{prefix}-plan", where=f" at {site} in {year}")


def dispatch_charts(run: Run, dispatch: pd.DataFrame, prefix: str, *, where: str) -> list[str]:
    """Supply stacked against facility load over a representative week, and the battery SOC."""
    week, note = representative_week(dispatch)
    hours = [_hour_label(h) for h in week["hour_start"]]
    supply = {
        "grid import": week["grid_import_mw"].tolist(),
        "solar": week["solar_used_mw"].tolist(),
        "battery discharge": week["discharge_mw"].tolist(),
        "battery charge": (-week["charge_mw"]).tolist(),
        "grid export": (-week["grid_export_mw"]).tolist(),
    }
    facility = (week["served_it_mw"] * week["pue"]).tolist()
    return [
        bar_chart(
            hours,
            supply,
            chart_id=f"{prefix}-dispatch",
            title=f"{run.name}: hourly dispatch{where}",
            y_label="MW",
            x_label="hour",
            lines={"facility load": facility},
            note=f"({note}; charging and export below zero)",
            x_every=24,
        ),
        line_chart(
            hours,
            {"state of charge": week["soc_mwh"].tolist()},
            chart_id=f"{prefix}-soc",
            title=f"{run.name}: battery state of charge{where}",
            y_label="MWh",
            x_label="hour",
            note=f"({note})",
            x_every=24,
        ),
    ]
