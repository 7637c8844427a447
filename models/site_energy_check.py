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


class _Violations:
    """The violations found so far; `tol` is relative to each check's scale."""

    def __init__(self, tol: float):
        self.tol = tol
        self.problems: list[str] = []

    def require(self, name: str, slack: np.ndarray | float, scale: float = 1.0) -> None:
        """`slack` must be >= 0 everywhere (to tolerance); report the worst step if not."""
        slack = np.atleast_1d(np.asarray(slack, dtype=float))
        limit = -self.tol * max(1.0, scale)
        if slack.size and (np.isnan(slack).any() or slack.min() < limit):
            worst = int(np.nanargmin(slack)) if not np.isnan(slack).all() else 0
            self.problems.append(f"{name}: violated by {-slack[worst]:.6g} at index {worst}")

    def equal(self, name: str, left: np.ndarray | float, right: np.ndarray | float) -> None:
        """`left` == `right` everywhere, to tolerance relative to the size of `right`."""
        gap = np.atleast_1d(np.asarray(left, dtype=float) - np.asarray(right, dtype=float))
        scale = max(1.0, float(np.max(np.abs(right), initial=0.0)))
        self.require(name, -np.abs(gap), scale)


def check_solution(x: SiteEnergyInputs, s: SiteEnergySolution, tol: float = 1e-6) -> list[str]:
    """Every violated equation, with where and by how much; `tol` is relative to each scale."""
    if s.status is not SolveStatus.optimal:
        return [f"solution status is {s.status}: there are no values to check"]
    v = _Violations(tol)
    scale_mw = float(max(1.0, np.max(x.it_load_mw * x.pue, initial=0.0)))
    _check_signs(v, s, scale_mw)
    _check_power_balance_grid_and_solar(v, x, s, scale_mw)
    _check_battery(v, x, s)
    _check_load(v, x, s, scale_mw)
    _check_costs(v, x, s)
    return v.problems


def _check_signs(v: _Violations, s: SiteEnergySolution, scale_mw: float) -> None:
    """(0) Every decision is non-negative."""
    for name in (
        "grid_import_mw", "grid_export_mw", "solar_used_mw", "charge_mw", "discharge_mw",
        "soc_mwh", "served_it_mw", "unserved_it_mw", "reserve_shortfall_mwh", "peak_import_mw",
    ):  # fmt: skip
        v.require(f"(0) {name} >= 0", getattr(s, name), scale_mw)
    for name in ("solar_mw", "battery_mwh", "battery_mw"):
        v.require(f"(0) {name} >= 0", getattr(s, name), scale_mw)


def _check_power_balance_grid_and_solar(
    v: _Violations, x: SiteEnergyInputs, s: SiteEnergySolution, scale_mw: float
) -> None:
    """(1) Supply meets facility load, charging and export in every step; (2)-(4) the grid's
    caps and billing peaks; (5)-(6) solar output within its capacity factor and maximum, MW."""
    supply = s.grid_import_mw + s.solar_used_mw + s.discharge_mw
    demand = x.pue * s.served_it_mw + s.charge_mw + s.grid_export_mw
    v.equal("(1) power balance", supply, demand)
    v.require("(2) import cap", x.grid_import_cap_mw - s.grid_import_mw, scale_mw)
    v.require("(3) export cap", x.grid_export_cap_mw - s.grid_export_mw, scale_mw)
    v.require("(4) peak >= import", s.peak_import_mw[x.billing_period] - s.grid_import_mw, scale_mw)
    v.require("(5) solar output", s.solar_mw * x.solar_capacity_factor - s.solar_used_mw, scale_mw)
    v.require("(6) solar max", x.solar_max_mw - s.solar_mw, scale_mw)


def _check_battery(v: _Violations, x: SiteEnergyInputs, s: SiteEnergySolution) -> None:
    """(7) State of charge (MWh) over prev_step; (8)-(11) power, SOC window, duration (h) and
    size bounds; (12) backup reserve; (13) equivalent full cycles per year."""
    soc_next = (
        s.soc_mwh[x.prev_step]
        + x.charge_efficiency_fraction * s.charge_mw
        - s.discharge_mw / x.discharge_efficiency_fraction
    )
    v.equal("(7) battery balance", s.soc_mwh, soc_next)
    scale_mwh = max(1.0, s.battery_mwh)
    v.require("(8) charge <= MW", s.battery_mw - s.charge_mw, scale_mwh)
    v.require("(8) discharge <= MW", s.battery_mw - s.discharge_mw, scale_mwh)
    v.require("(9) SOC <= max", x.soc_max_fraction * s.battery_mwh - s.soc_mwh, scale_mwh)
    v.require("(9) SOC >= min", s.soc_mwh - x.soc_min_fraction * s.battery_mwh, scale_mwh)
    v.require("(10) min duration", s.battery_mwh - x.min_duration_h * s.battery_mw, scale_mwh)
    if not math.isinf(x.max_duration_h):
        v.require("(10) max duration", x.max_duration_h * s.battery_mw - s.battery_mwh, scale_mwh)
    v.require("(11) battery max MWh", x.battery_max_mwh - s.battery_mwh, scale_mwh)
    need = x.backup_hours * x.critical_load_mw
    v.require("(12) backup reserve", s.soc_mwh + s.reserve_shortfall_mwh - need, scale_mwh)
    if not math.isinf(x.annual_cycle_limit):
        discharged = float(np.sum(x.weight_h * s.discharge_mw))
        slack = x.annual_cycle_limit * s.battery_mwh - discharged
        v.require("(13) cycle limit", slack, max(1.0, discharged))


def _check_load(
    v: _Violations, x: SiteEnergyInputs, s: SiteEnergySolution, scale_mw: float
) -> None:
    """(14) The non-deferrable share is handled each hour; (15) each day's IT energy (MWh) is
    served or unserved in full; (16) served IT load within the installed IT MW."""
    handled = s.served_it_mw + s.unserved_it_mw
    must_handle = (1 - x.deferrable_fraction) * x.it_load_mw
    v.require("(14) non-deferrable load", handled - must_handle, scale_mw)
    n_days = int(x.day.max()) + 1
    v.equal(
        "(15) daily energy",
        np.bincount(x.day, weights=x.weight_h * handled, minlength=n_days),
        np.bincount(x.day, weights=x.weight_h * x.it_load_mw, minlength=n_days),
    )
    v.require("(16) IT capacity", x.it_capacity_mw - s.served_it_mw, scale_mw)


def _check_costs(v: _Violations, x: SiteEnergyInputs, s: SiteEnergySolution) -> None:
    """(17) Each reported annual cost term and the objective match the solution's arrays."""
    costs = recompute_costs(x, s)
    if s.costs is not None:
        for name, value in asdict(costs).items():
            v.equal(f"(17) cost {name}", getattr(s.costs, name), value)
    v.equal("(17) objective", s.objective, total_cost(costs))
