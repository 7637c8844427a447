"""Plan tables for run folders: one DataFrame per table, units in column names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.capacity import CapacityInputs, CapacitySolution, paid_per_part, resale_fraction
from planner.plan.result import PlanResult
from planner.plan.summary import (
    binding_constraints,
    energy_bill_per_year,
    served_mtok_by_period,
    served_video_minutes_by_period,
    site_rows,
    video_cost_share_fraction,
)
from planner.plan.summary_servers import cpu_power_mw, cpu_rows
from planner.results.folders import write_run


def _grid(*sizes: int) -> list[np.ndarray]:
    """Flat index arrays over a product of axes (row order: first axis slowest)."""
    return [a.ravel() for a in np.meshgrid(*(np.arange(n) for n in sizes), indexing="ij")]


def dispatch_table(result: PlanResult) -> pd.DataFrame:
    """Per site, period and representative step: IT power, grid import, solar, battery."""
    sol, ax, x = result.solution, result.resolved.axes, result.resolved.inputs
    n_s, n_y, n_t = sol.it_power_mw.shape
    s, y, t = _grid(n_s, n_y, n_t)
    return pd.DataFrame(
        {
            "site": np.array(ax.sites)[s],
            "year": np.array(ax.periods)[y],
            "step": t,
            "day": x.day[t],
            "hour_of_day": ax.hour_of_day[t],
            "weight_h": x.weight_h[t],
            "it_power_mw": sol.it_power_mw.ravel(),
            "cpu_power_mw": cpu_power_mw(result).ravel(),  # of which CPUs (hosts, CPU servers)
            "grid_import_mw": sol.grid_import_mw.ravel(),
            "solar_used_mw": sol.solar_used_mw.ravel(),
            "charge_mw": sol.charge_mw.ravel(),
            "discharge_mw": sol.discharge_mw.ravel(),
            "soc_mwh": sol.soc_mwh.ravel(),
            "price_per_mwh": x.price_per_mwh[s, y, t],
        }
    )


def fleet_table(result: PlanResult) -> pd.DataFrame:
    """Parts in service by year, site and part, with their IT draw at full load: accelerators
    (their host power less their host CPUs) then CPUs (`kind` cpu: host CPUs at their TDP, CPU
    servers whole), so the column sums to the fleet's full-load draw."""
    res, sol = result.resolved, result.solution
    ax, x = res.axes, res.inputs
    p, s, y = _grid(*sol.parts_installed.shape)
    units = sol.parts_installed.ravel()
    keep = units > 1e-6
    host_cpu_w = res.servers.host_cpu_w_per_part if res.servers is not None else 0.0
    full_load_w = (x.active_w + x.server_overhead_w - host_cpu_w)[p]
    kinds = np.array(ax.part_kinds or ("",) * len(ax.parts))
    parts = pd.DataFrame(
        {
            "year": np.array(ax.periods)[y],
            "site": np.array(ax.sites)[s],
            "part": np.array(ax.parts)[p],
            "kind": kinds[p],
            "units_count": units,
            "it_power_mw": units * full_load_w * 1e-6,
        }
    )[keep]
    return pd.concat([parts, cpu_fleet(result)], ignore_index=True)


def cpu_fleet(result: PlanResult) -> pd.DataFrame:
    """CPUs in service (host CPUs and CPU servers' CPUs) with their full-load draw."""
    rows = cpu_rows(result, installed=True)
    if not rows:
        return pd.DataFrame(columns=["year", "site", "part", "kind", "units_count", "it_power_mw"])
    bills, x = result.resolved.servers, result.resolved.inputs
    assert bills is not None
    catalogue_w = dict(zip(bills.cpu_parts, bills.cpu_tdp_w, strict=True))
    server_w = dict(
        zip(bills.cpu_servers, x.cpu.active_w if x.cpu is not None else (), strict=False)
    )
    per_cpu = dict(zip(bills.cpu_servers, bills.cpus_per_cpu_server.sum(axis=0), strict=False))
    frame = pd.DataFrame(rows).rename(columns={"count": "units_count"})
    watts = [
        server_w[r["server"]] / per_cpu[r["server"]] if r["server"] in server_w
        else catalogue_w[r["part"]]
        for r in rows
    ]  # fmt: skip
    frame["it_power_mw"] = frame["units_count"] * np.array(watts) * 1e-6
    return frame[["year", "site", "part", "kind", "units_count", "it_power_mw"]]


def purchases_table(result: PlanResult) -> pd.DataFrame:
    """Parts bought by year, site and part, and what they cost (uplifts for fees included)."""
    sol, ax, x = result.solution, result.resolved.axes, result.resolved.inputs
    p, s, y = _grid(*sol.parts_bought.shape)
    units = sol.parts_bought.ravel()
    keep = units > 1e-6
    uplift = x.price_uplift_fraction[p, y]
    return pd.DataFrame(
        {
            "year": np.array(ax.periods)[y],
            "site": np.array(ax.sites)[s],
            "part": np.array(ax.parts)[p],
            "units_count": units,
            "capex": units * x.price_per_part[p, y] * (1 + uplift),
            "export_status": np.where(uplift > 0, "allowed with fees", "allowed"),
        }
    )[keep].reset_index(drop=True)


def site_capacities_table(result: PlanResult) -> pd.DataFrame:
    """Sizes per site and period, and the grid connection available."""
    rows = pd.DataFrame(site_rows(result)).rename(
        columns={"it_mw": "it_capacity_mw", "grid_peak_mw": "grid_peak_import_mw"}
    )
    x = result.resolved.inputs
    rows["grid_import_cap_mw"] = x.grid_import_cap_mw.ravel()  # (S, Y) in site-major order
    return rows


def costs_table(result: PlanResult) -> pd.DataFrame:
    """Net present cost by item over the plan (discounted); resale and the chosen power subsidy
    are credits (negative)."""
    costs = result.solution.costs
    if costs is None:
        return pd.DataFrame({"item": [], "discounted_cost": []})
    items = [f for f in vars(costs) if f != "capex_by_year"]
    credits = ("resale_credit", "power_subsidy_credit", "cpu_resale_credit")
    values = [-getattr(costs, f) if f in credits else getattr(costs, f) for f in items]
    return pd.DataFrame({"item": items, "discounted_cost": np.asarray(values, dtype=float)})


def discounted_spend_by_year(x: CapacityInputs, sol: CapacitySolution) -> dict[str, np.ndarray]:
    """(Y,) present value of what the plan spends, by period; the periods sum to the net present
    cost (objective less the unserved penalty, eq. 17):

    - capex: delta_y K_y (parts with fees, data centre, solar, battery, paid at the start of y);
    - opex: delta_y Delta_y (energy after any power subsidy + demand charges + carbon + the
      battery's calendar ageing), one year's bill times the period's years;
    - resale credit (negative): the horizon-end value of the parts bought in y,
      delta_H resale[p, y] paid[p, y] n[p, y], counted in the period that bought them.
    """
    n_y = len(x.discount_fraction)
    capex = sol.costs.capex_by_year if sol.costs is not None else np.zeros(n_y)
    energy = energy_bill_per_year(x, sol).sum(axis=0)
    demand = np.einsum(
        "sy,b,syb->y", x.demand_charge_per_mw_month, x.billing_period_months, sol.peak_import_mw
    )
    carbon = np.einsum(
        "t,st,y,syt->y", x.weight_h, x.emission_t_per_mwh, x.carbon_price_per_t, sol.grid_import_mw
    )
    calendar = np.zeros(n_y)
    if x.battery_calendar_cost_per_mwh_year is not None:  # the battery in service ages
        in_service_mwh = np.cumsum(sol.battery_built_mwh, axis=1)
        calendar = np.sum(x.battery_calendar_cost_per_mwh_year * in_service_mwh, axis=0)
    bought = sol.parts_bought.sum(axis=1)  # (P, Y)
    resale = x.horizon_end_discount_fraction * (resale_fraction(x) * paid_per_part(x) * bought)
    out = {
        "discounted_capex": x.discount_fraction * capex,
        "discounted_opex": x.discount_fraction
        * x.duration_years
        * (energy + demand + carbon + calendar),
        "discounted_resale_credit": -resale.sum(axis=0) + 0.0,  # no -0.0
    }
    out["discounted_spend"] = sum(out.values(), np.zeros(n_y))
    return out


def yearly_table(result: PlanResult) -> pd.DataFrame:
    """Per period: tokens (and video minutes) served, the cash cost per million tokens, and the
    present value of what the period spends (its `discounted_spend` sums to the net present cost).

    Cash cost = capex paid in the period + grid energy bought in it after any power subsidy
    (undiscounted); a period that buys a fleet carries its whole capex, so this is a cash view,
    not a levelised one.
    With video workloads, tokens carry the token share of the cost (plan.video_cost_share_fraction).
    """
    sol, ax, x = result.solution, result.resolved.axes, result.resolved.inputs
    served_mtok = served_mtok_by_period(x, sol)
    energy = energy_bill_per_year(x, sol).sum(axis=0) * x.duration_years
    capex = sol.costs.capex_by_year if sol.costs is not None else np.zeros(len(ax.periods))
    cash = capex + energy
    with np.errstate(divide="ignore", invalid="ignore"):
        token_cash = cash * (1.0 - video_cost_share_fraction(x, sol))
        per_mtok = np.where(served_mtok > 0, token_cash / served_mtok, np.nan)
    return pd.DataFrame(
        {
            "year": list(ax.periods),
            "tokens_served": served_mtok * 1e6,
            "video_minutes_served": served_video_minutes_by_period(x, sol),
            "capex": capex,
            "energy_cost": energy,
            "cost": cash,
            "cost_per_million_tokens": per_mtok,
            **discounted_spend_by_year(x, sol),
        }
    )


def parts_table(result: PlanResult) -> pd.DataFrame:
    """Each candidate part on the workload with the most demand: tokens per joule at full load
    and a full-utilisation cost per million tokens (first-period price with fees, straight-line
    over its lifetime, plus energy at the mean grid price x mean PUE of the sites)."""
    ax, x = result.resolved.axes, result.resolved.inputs
    w = int(np.argmax(x.demand_tokens_per_s.sum(axis=(1, 2))))
    tps = x.tokens_per_s_per_part[w]
    watts = x.active_w + x.server_overhead_w
    seconds = x.lifetime_years * 8_760 * 3_600
    capex_per_s = x.price_per_part[:, 0] * (1 + x.price_uplift_fraction[:, 0]) / seconds
    energy_per_s = watts * 1e-6 / 3_600 * float(x.price_per_mwh.mean()) * float(x.pue.mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mtok = np.where(tps > 0, (capex_per_s + energy_per_s) / tps * 1e6, np.nan)
        per_joule = np.where(watts > 0, tps / watts, np.nan)
    allowed = x.allowed[:, :, 0].any(axis=1)
    status = np.where(
        ~allowed, "not allowed", np.where(x.price_uplift_fraction[:, 0] > 0, "fees", "allowed")
    )
    return pd.DataFrame(
        {
            "part": list(ax.parts),
            "workload": ax.workloads[w],
            "tokens_per_joule": per_joule,
            "cost_per_million_tokens": per_mtok,
            "export_status": status,
            "domestic": x.domestic.astype(bool),
        }
    )


def shadow_prices_table(result: PlanResult) -> pd.DataFrame:
    """Binding limits of the LP with what one more unit would save (present value)."""
    rows = pd.DataFrame(binding_constraints(result, limit=1_000))
    if rows.empty:
        return pd.DataFrame(
            {
                "constraint": pd.Series(dtype=str),
                "shadow_price": pd.Series(dtype=float),
                "binding": pd.Series(dtype=bool),
                "text": pd.Series(dtype=str),
            }
        )
    rows = rows.rename(columns={"period": "year"})
    rows["unit"] = result.resolved.currency + " per unit of the limit"
    rows["binding"] = True
    return rows


def unserved_table(result: PlanResult) -> pd.DataFrame:
    """Tokens demanded and not served, per period and workload, over each period."""
    sol, ax, x = result.solution, result.resolved.axes, result.resolved.inputs
    hours = x.weight_h * 3_600
    demand = np.einsum("wyt,t->wy", x.demand_tokens_per_s, hours) * x.duration_years
    unserved = np.einsum("wyt,t->wy", sol.unserved_tokens_per_s, hours) * x.duration_years
    w, y = _grid(*demand.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(demand > 0, unserved / demand, 0.0).ravel()
    return pd.DataFrame(
        {
            "year": np.array(ax.periods)[y],
            "workload": np.array(ax.workloads)[w],
            "demand_tokens": demand.ravel(),
            "unserved_tokens": unserved.ravel(),
            "unserved_fraction": share,
        }
    )


def plan_tables(result: PlanResult) -> dict[str, pd.DataFrame]:
    """The plan's tables, as documented in docs/results.md."""
    return {
        "fleet": fleet_table(result),
        "purchases": purchases_table(result),
        "site_capacities": site_capacities_table(result),
        "dispatch": dispatch_table(result),
        "costs": costs_table(result),
        "yearly": yearly_table(result),
        "parts": parts_table(result),
        "shadow_prices": shadow_prices_table(result),
        "unserved": unserved_table(result),
    }


def assumption_rows(scenario_data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every sourced figure of a scenario, as the report's assumptions table shows them: field
    path, value as written, source title and URL (from the file's `sources:` table), confidence
    and note."""
    table = scenario_data.get("sources") or {}
    rows: list[dict[str, Any]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            if "value" in node and ("source" in node or "confidence" in node):
                key = node.get("source")
                cited = table.get(key, {}) if isinstance(key, str) else {}
                url = cited.get("url") or (key if str(key).startswith("http") else None)
                rows.append(
                    {
                        "field": path,
                        "value": node.get("value"),
                        "source": cited.get("title") or key,
                        "url": url,
                        "confidence": node.get("confidence"),
                        "note": node.get("note"),
                    }
                )
                return
            for name, child in node.items():
                if name != "sources":
                    walk(child, f"{path}.{name}" if path else str(name))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")

    walk(scenario_data, "")
    return rows


def write_plan_run(
    out: Path | None, result: PlanResult, summary: dict[str, Any], *, durable: bool = True
) -> Path:
    """Write the plan as one run folder (atomically, via planner.results.folders.write_run;
    `durable` False: not flushed to disk, a scratch copy to pack)."""
    scenario = result.resolved.scenario
    return write_run(
        out,
        kind="plan",
        name=scenario.name,
        summary=summary,
        tables=plan_tables(result),
        resolved_inputs={
            "scenario": scenario.raw.model_dump(mode="json"),
            "assumptions": assumption_rows(scenario.raw.model_dump(mode="json")),
            "notes": list(result.resolved.notes),
            "rules": list(result.resolved.regimes),
        },
        inputs_used=[scenario.path, *result.resolved.profile_files],
        solver_log=result.solver_log,
        durable=durable,
    )
