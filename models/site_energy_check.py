"""Independent numpy checker for any site energy solution, whichever backend produced it.

It recomputes every equation of docs/model.md from the solution's arrays and the inputs alone
(no modelling library) and returns the violations in words; an empty list means the solution is
feasible to `tol` and its reported costs and objective are what its arrays imply.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from models.common import SolveStatus
from models.site_energy import SiteEnergyCosts, SiteEnergyInputs, SiteEnergySolution


def recompute_costs(x: SiteEnergyInputs, s: SiteEnergySolution) -> SiteEnergyCosts:
    """(17) Each annual cost term from the solution's sizes and hourly arrays."""
    w = x.weight_h
    return SiteEnergyCosts(
        solar_capex=x.solar_annual_cost_per_mw * s.solar_mw,
        battery_capex=x.battery_annual_cost_per_mwh * s.battery_mwh
        + x.battery_annual_cost_per_mw * s.battery_mw,
        energy=float(np.sum(w * x.price_per_mwh * s.grid_import_mw)),
        demand_charges=float(
            x.demand_charge_per_mw_month * np.sum(x.billing_period_months * s.peak_import_mw)
        ),
        carbon=float(np.sum(w * x.emission_t_per_mwh * x.carbon_price_per_t * s.grid_import_mw)),
        export_revenue=float(np.sum(w * x.export_price_per_mwh * s.grid_export_mw)),
        unserved_penalty=float(x.unserved_penalty_per_mwh * np.sum(w * s.unserved_it_mw)),
        reserve_penalty=float(
            x.reserve_shortfall_penalty_per_mwh * np.sum(w * s.reserve_shortfall_mwh)
        ),
    )


def total_cost(costs: SiteEnergyCosts) -> float:
    """(17) The objective: every term added, export revenue subtracted."""
    terms = asdict(costs)
    return sum(v for k, v in terms.items() if k != "export_revenue") - terms["export_revenue"]


def check_solution(x: SiteEnergyInputs, s: SiteEnergySolution, tol: float = 1e-6) -> list[str]:
    """Every violated equation, with where and by how much; `tol` is relative to each scale."""
    if s.status is not SolveStatus.optimal:
        return [f"solution status is {s.status}: there are no values to check"]
    problems: list[str] = []

    def require(name: str, slack: np.ndarray | float, scale: float = 1.0) -> None:
        """`slack` must be >= 0 everywhere (to tolerance); report the worst step if not."""
        slack = np.atleast_1d(np.asarray(slack, dtype=float))
        limit = -tol * max(1.0, scale)
        if slack.size and (np.isnan(slack).any() or slack.min() < limit):
            worst = int(np.nanargmin(slack)) if not np.isnan(slack).all() else 0
            problems.append(f"{name}: violated by {-slack[worst]:.6g} at index {worst}")

    def equal(name: str, left: np.ndarray | float, right: np.ndarray | float) -> None:
        gap = np.atleast_1d(np.asarray(left, dtype=float) - np.asarray(right, dtype=float))
        scale = max(1.0, float(np.max(np.abs(right), initial=0.0)))
        require(name, -np.abs(gap), scale)

    scale_mw = float(max(1.0, np.max(x.it_load_mw * x.pue, initial=0.0)))
    # (0) non-negativity of every decision
    for name in (
        "grid_import_mw", "grid_export_mw", "solar_used_mw", "charge_mw", "discharge_mw",
        "soc_mwh", "served_it_mw", "unserved_it_mw", "reserve_shortfall_mwh", "peak_import_mw",
    ):  # fmt: skip
        require(f"(0) {name} >= 0", getattr(s, name), scale_mw)
    for name in ("solar_mw", "battery_mwh", "battery_mw"):
        require(f"(0) {name} >= 0", getattr(s, name), scale_mw)
    # (1) power balance
    supply = s.grid_import_mw + s.solar_used_mw + s.discharge_mw
    demand = x.pue * s.served_it_mw + s.charge_mw + s.grid_export_mw
    equal("(1) power balance", supply, demand)
    # (2)-(4) grid
    require("(2) import cap", x.grid_import_cap_mw - s.grid_import_mw, scale_mw)
    require("(3) export cap", x.grid_export_cap_mw - s.grid_export_mw, scale_mw)
    require("(4) peak >= import", s.peak_import_mw[x.billing_period] - s.grid_import_mw, scale_mw)
    # (5)-(6) solar
    require("(5) solar output", s.solar_mw * x.solar_capacity_factor - s.solar_used_mw, scale_mw)
    require("(6) solar max", x.solar_max_mw - s.solar_mw, scale_mw)
    # (7) state of charge recursion over prev_step
    soc_next = (
        s.soc_mwh[x.prev_step]
        + x.charge_efficiency_fraction * s.charge_mw
        - s.discharge_mw / x.discharge_efficiency_fraction
    )
    equal("(7) battery balance", s.soc_mwh, soc_next)
    # (8)-(11) battery bounds
    scale_mwh = max(1.0, s.battery_mwh)
    require("(8) charge <= MW", s.battery_mw - s.charge_mw, scale_mwh)
    require("(8) discharge <= MW", s.battery_mw - s.discharge_mw, scale_mwh)
    require("(9) SOC <= max", x.soc_max_fraction * s.battery_mwh - s.soc_mwh, scale_mwh)
    require("(9) SOC >= min", s.soc_mwh - x.soc_min_fraction * s.battery_mwh, scale_mwh)
    require("(10) min duration", s.battery_mwh - x.min_duration_h * s.battery_mw, scale_mwh)
    if not math.isinf(x.max_duration_h):
        require("(10) max duration", x.max_duration_h * s.battery_mw - s.battery_mwh, scale_mwh)
    require("(11) battery max MWh", x.battery_max_mwh - s.battery_mwh, scale_mwh)
    # (12) backup reserve
    need = x.backup_hours * x.critical_load_mw
    require("(12) backup reserve", s.soc_mwh + s.reserve_shortfall_mwh - need, scale_mwh)
    # (13) cycle limit
    if not math.isinf(x.annual_cycle_limit):
        discharged = float(np.sum(x.weight_h * s.discharge_mw))
        require("(13) cycle limit", x.annual_cycle_limit * s.battery_mwh - discharged,
                max(1.0, discharged))  # fmt: skip
    # (14)-(16) deferrable load
    handled = s.served_it_mw + s.unserved_it_mw
    require("(14) non-deferrable load", handled - (1 - x.deferrable_fraction) * x.it_load_mw,
            scale_mw)  # fmt: skip
    n_days = int(x.day.max()) + 1
    equal(
        "(15) daily energy",
        np.bincount(x.day, weights=x.weight_h * handled, minlength=n_days),
        np.bincount(x.day, weights=x.weight_h * x.it_load_mw, minlength=n_days),
    )
    require("(16) IT capacity", x.it_capacity_mw - s.served_it_mw, scale_mw)
    # (17) costs and objective
    costs = recompute_costs(x, s)
    if s.costs is not None:
        for name, value in asdict(costs).items():
            equal(f"(17) cost {name}", getattr(s.costs, name), value)
    equal("(17) objective", s.objective, total_cost(costs))
    return problems
