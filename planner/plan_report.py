"""Plan tables for run folders: one DataFrame per table, units in column names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.plan import PlanResult, binding_constraints, installed_rows, parts_rows, site_rows
from planner.results import write_run


def operation_table(result: PlanResult) -> pd.DataFrame:
    """Per site, period and representative step: IT power, grid import, solar, battery."""
    sol, ax, x = result.solution, result.resolved.axes, result.resolved.inputs
    n_s, n_y, n_t = sol.it_power_mw.shape
    s, y, t = np.meshgrid(np.arange(n_s), np.arange(n_y), np.arange(n_t), indexing="ij")
    return pd.DataFrame(
        {
            "site": np.array(ax.sites)[s.ravel()],
            "year": np.array(ax.periods)[y.ravel()],
            "step": t.ravel(),
            "hour_of_day": ax.hour_of_day[t.ravel()],
            "weight_h": x.weight_h[t.ravel()],
            "it_power_mw": sol.it_power_mw.ravel(),
            "grid_import_mw": sol.grid_import_mw.ravel(),
            "solar_used_mw": sol.solar_used_mw.ravel(),
            "charge_mw": sol.charge_mw.ravel(),
            "discharge_mw": sol.discharge_mw.ravel(),
            "soc_mwh": sol.soc_mwh.ravel(),
            "price_per_mwh": x.price_per_mwh[s.ravel(), y.ravel(), t.ravel()],
        }
    )


def plan_tables(result: PlanResult) -> dict[str, pd.DataFrame]:
    """parts_bought, parts_installed, sites, binding and operation tables of a solved plan."""
    cols = {"part": str, "site": str, "year": str, "count": float}
    bought = pd.DataFrame(parts_rows(result), columns=list(cols)).astype(cols)
    installed = pd.DataFrame(installed_rows(result), columns=list(cols)).astype(cols)
    binding = pd.DataFrame(binding_constraints(result, limit=1_000))
    if binding.empty:
        binding = pd.DataFrame({"constraint": [], "shadow_price": [], "text": []})
    return {
        "parts_bought": bought,
        "parts_installed": installed,
        "sites": pd.DataFrame(site_rows(result)),
        "binding": binding,
        "operation": operation_table(result),
    }


def write_plan_run(out: Path | None, result: PlanResult, summary: dict[str, Any]) -> Path:
    """Write the plan as one run folder (atomically, via planner.results.write_run)."""
    scenario = result.resolved.scenario
    return write_run(
        out,
        kind="plan",
        name=scenario.name,
        summary=summary,
        tables=plan_tables(result),
        resolved_inputs={
            "scenario": scenario.raw.model_dump(mode="json"),
            "notes": list(result.resolved.notes),
            "rules": list(result.resolved.regimes),
        },
        inputs_used=[scenario.path],
    )
