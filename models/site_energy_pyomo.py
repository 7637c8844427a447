"""Site energy model in Pyomo: the same constraint families as site_energy_cvxpy.py, by name.

Equation numbers refer to docs/model.md. Each `add_*` function takes a block, its time set, the
variables and parameter arrays, and adds one indexed component to the block, so the multi-year
capacity plan can reuse it on a block per site and year. Solving with HiGHS goes through Pyomo's
standard-form compiler straight into highspy (the fastest path we measured, with duals; see
docs/model.md, "Solving"); models/solvers.py says which solvers Pyomo reaches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.common import SolveStats, SolveStatus
from models.pyomo_highs import solve_pyomo_model
from models.site_energy import (
    BatteryLimits,
    SiteEnergyCosts,
    SiteEnergyInputs,
    SiteEnergySolution,
)
from models.solvers import solver_for

Terms = Sequence[Any]  # indexed Var or Expression components over the time set


def make_variables(b: pyo.Block, n_steps: int, n_periods: int) -> None:
    """Time and billing-period sets and all variables, non-negative (eq. 0)."""
    b.T = pyo.RangeSet(0, n_steps - 1)
    b.P = pyo.RangeSet(0, n_periods - 1)
    nonneg = pyo.NonNegativeReals
    for name in ("solar_mw", "battery_mwh", "battery_mw"):
        b.add_component(name, pyo.Var(domain=nonneg))
    for name in (
        "grid_import_mw", "grid_export_mw", "solar_used_mw", "charge_mw", "discharge_mw",
        "soc_mwh", "served_it_mw", "unserved_it_mw", "reserve_shortfall_mwh",
    ):  # fmt: skip
        b.add_component(name, pyo.Var(b.T, domain=nonneg))
    b.peak_import_mw = pyo.Var(b.P, domain=nonneg)


# --- constraint families -------------------------------------------------------------------------


def add_power_balance(b: pyo.Block, time_set: pyo.Set, supply: Terms, demand: Terms) -> None:
    """(1) Sum of supplies = sum of demands in every step t, MW. The dual is the marginal cost."""

    def rule(_: pyo.Block, t: int) -> Any:
        return sum(term[t] for term in supply) == sum(term[t] for term in demand)

    b.power_balance = pyo.Constraint(time_set, rule=rule)


def add_grid_limits(
    b: pyo.Block, import_mw: pyo.Var, export_mw: pyo.Var, import_cap_mw: float,
    export_cap_mw: float,
) -> None:  # fmt: skip
    """(2) 0 <= import_t <= import cap, (3) 0 <= export_t <= export cap, MW (as variable bounds)."""
    for var in import_mw.values():
        var.setub(None if math.isinf(import_cap_mw) else import_cap_mw)
    for var in export_mw.values():
        var.setub(export_cap_mw)


def add_demand_charge(
    b: pyo.Block, time_set: pyo.Set, import_mw: pyo.Var, peak_mw: pyo.Var,
    billing_period: np.ndarray,
) -> None:  # fmt: skip
    """(4) peak_p >= import_t for every t in billing period p, MW."""
    period = billing_period.tolist()
    b.demand_peak = pyo.Constraint(time_set, rule=lambda _, t: peak_mw[period[t]] >= import_mw[t])


def add_solar(
    b: pyo.Block, time_set: pyo.Set, solar_mw: pyo.Var, solar_used_mw: pyo.Var,
    capacity_factor: np.ndarray, max_mw: float,
) -> None:  # fmt: skip
    """(5) solar used_t <= capacity factor_t x MW built (the rest is curtailed); (6) MW <= max."""
    cf = capacity_factor.tolist()
    b.solar_output = pyo.Constraint(
        time_set, rule=lambda _, t: solar_used_mw[t] <= cf[t] * solar_mw
    )
    solar_mw.setub(None if math.isinf(max_mw) else max_mw)


def add_battery_balance(
    b: pyo.Block, time_set: pyo.Set, soc_mwh: pyo.Var, charge_mw: pyo.Var,
    discharge_mw: pyo.Var, prev_step: np.ndarray, charge_efficiency: float,
    discharge_efficiency: float,
) -> None:  # fmt: skip
    """(7) SOC_t = SOC_prev(t) + eta_c c_t - d_t / eta_d, MWh over one-hour steps."""
    prev = prev_step.tolist()
    inv_eta_d = 1.0 / discharge_efficiency

    def rule(_: pyo.Block, t: int) -> Any:
        return (
            soc_mwh[t]
            == soc_mwh[prev[t]] + charge_efficiency * charge_mw[t] - inv_eta_d * discharge_mw[t]
        )

    b.battery_balance = pyo.Constraint(time_set, rule=rule)


def add_battery_bounds(
    b: pyo.Block, time_set: pyo.Set, battery_mwh: pyo.Var, battery_mw: pyo.Var,
    charge_mw: pyo.Var, discharge_mw: pyo.Var, soc_mwh: pyo.Var, limits: BatteryLimits,
) -> None:  # fmt: skip
    """(8) c_t, d_t <= MW; (9) SOC limits as fractions of MWh; (10) duration; (11) MWh cap."""
    soc_min, soc_max = limits.soc_min_fraction, limits.soc_max_fraction
    b.charge_limit = pyo.Constraint(time_set, rule=lambda _, t: charge_mw[t] <= battery_mw)
    b.discharge_limit = pyo.Constraint(time_set, rule=lambda _, t: discharge_mw[t] <= battery_mw)
    b.soc_max = pyo.Constraint(time_set, rule=lambda _, t: soc_mwh[t] <= soc_max * battery_mwh)
    if soc_min > 0:
        b.soc_min = pyo.Constraint(time_set, rule=lambda _, t: soc_mwh[t] >= soc_min * battery_mwh)
    b.min_duration = pyo.Constraint(expr=battery_mwh >= limits.min_duration_h * battery_mw)
    if not math.isinf(limits.max_duration_h):
        b.max_duration = pyo.Constraint(expr=battery_mwh <= limits.max_duration_h * battery_mw)
    battery_mwh.setub(None if math.isinf(limits.max_mwh) else limits.max_mwh)


def add_backup_reserve(
    b: pyo.Block, time_set: pyo.Set, soc_mwh: pyo.Var, shortfall_mwh: pyo.Var,
    backup_hours: float, critical_load_mw: np.ndarray,
) -> None:  # fmt: skip
    """(12) SOC_t + shortfall_t >= backup hours x critical load_t, MWh."""
    need = (backup_hours * critical_load_mw).tolist()
    b.backup_reserve = pyo.Constraint(
        time_set, rule=lambda _, t: soc_mwh[t] + shortfall_mwh[t] >= need[t]
    )


def add_cycle_limit(
    b: pyo.Block, time_set: pyo.Set, discharge_mw: pyo.Var, battery_mwh: pyo.Var,
    weight_h: np.ndarray, annual_cycles: float,
) -> None:  # fmt: skip
    """(13) sum_t w_t d_t <= equivalent full cycles per year x MWh."""
    if math.isinf(annual_cycles):
        return
    w = weight_h.tolist()
    b.cycle_limit = pyo.Constraint(
        expr=pyo.quicksum(w[t] * discharge_mw[t] for t in time_set) <= annual_cycles * battery_mwh
    )


def add_deferrable_load(  # noqa: PLR0917 - the cvxpy signature plus the block and its time set
    b: pyo.Block, time_set: pyo.Set, served_it_mw: pyo.Var, unserved_it_mw: pyo.Var,
    it_load_mw: np.ndarray, deferrable_fraction: float, it_capacity_mw: float,
    day: np.ndarray, weight_h: np.ndarray,
) -> None:  # fmt: skip
    """(14) served_t + unserved_t >= (1 - f) L_t; (15) daily weighted totals equal demand;
    (16) served_t <= IT capacity, MW."""
    fixed = ((1.0 - deferrable_fraction) * it_load_mw).tolist()
    w = weight_h.tolist()
    days = np.unique(day)
    steps_of_day = {int(d): np.flatnonzero(day == d).tolist() for d in days}
    demand_of_day = {int(d): float(weight_h[day == d] @ it_load_mw[day == d]) for d in days}
    b.D = pyo.Set(initialize=sorted(steps_of_day))
    b.fixed_load = pyo.Constraint(
        time_set, rule=lambda _, t: served_it_mw[t] + unserved_it_mw[t] >= fixed[t]
    )

    def daily_rule(_: pyo.Block, d: int) -> Any:
        steps = steps_of_day[d]
        handled = pyo.quicksum(w[t] * (served_it_mw[t] + unserved_it_mw[t]) for t in steps)
        return handled == demand_of_day[d]

    b.daily_energy = pyo.Constraint(b.D, rule=daily_rule)
    for var in served_it_mw.values():
        var.setub(it_capacity_mw)


# --- cost terms (eq. 17) -------------------------------------------------------------------------


def weighted_sum(time_set: pyo.Set, coefficient: np.ndarray, var: pyo.Var) -> Any:
    """sum_t coefficient_t var_t as one linear expression."""
    c = coefficient.tolist()
    return pyo.quicksum(c[t] * var[t] for t in time_set)


def cost_terms(b: pyo.Block, x: SiteEnergyInputs) -> dict[str, Any]:
    """Each annual cost of eq. (17), keyed by the SiteEnergyCosts field name."""
    w, periods = x.weight_h, range(x.billing_period_months.shape[0])
    months = x.billing_period_months.tolist()
    return {
        "solar_capex": x.solar_annual_cost_per_mw * b.solar_mw,
        "battery_capex": x.battery_annual_cost_per_mwh * b.battery_mwh
        + x.battery_annual_cost_per_mw * b.battery_mw,
        "energy": weighted_sum(b.T, w * x.price_per_mwh, b.grid_import_mw),
        "demand_charges": pyo.quicksum(
            x.demand_charge_per_mw_month * months[p] * b.peak_import_mw[p] for p in periods
        ),
        "carbon": weighted_sum(
            b.T, w * x.emission_t_per_mwh * x.carbon_price_per_t, b.grid_import_mw
        ),
        "export_revenue": weighted_sum(b.T, w * x.export_price_per_mwh, b.grid_export_mw),
        "unserved_penalty": weighted_sum(b.T, x.unserved_penalty_per_mwh * w, b.unserved_it_mw),
        "reserve_penalty": weighted_sum(
            b.T, x.reserve_shortfall_penalty_per_mwh * w, b.reserve_shortfall_mwh
        ),
    }


def annual_cost(terms: dict[str, Any]) -> Any:
    """(17) capex + energy + demand + carbon - export revenue + penalties, per year."""
    return (
        sum(value for name, value in terms.items() if name != "export_revenue")
        - terms["export_revenue"]
    )


# --- assembly ------------------------------------------------------------------------------------


def build(x: SiteEnergyInputs) -> pyo.ConcreteModel:
    """The site energy LP of docs/model.md, constraint families (1)-(16), objective (17)."""
    m = pyo.ConcreteModel(name="site_energy")
    make_variables(m, x.n_steps, x.billing_period_months.shape[0])
    pue = x.pue.tolist()
    m.it_facility_mw = pyo.Expression(m.T, rule=lambda _, t: pue[t] * m.served_it_mw[t])
    add_power_balance(
        m,
        m.T,
        supply=[m.grid_import_mw, m.solar_used_mw, m.discharge_mw],
        demand=[m.it_facility_mw, m.charge_mw, m.grid_export_mw],
    )
    add_grid_limits(
        m, m.grid_import_mw, m.grid_export_mw, x.grid_import_cap_mw, x.grid_export_cap_mw
    )
    add_demand_charge(m, m.T, m.grid_import_mw, m.peak_import_mw, x.billing_period)
    add_solar(m, m.T, m.solar_mw, m.solar_used_mw, x.solar_capacity_factor, x.solar_max_mw)
    add_battery_balance(
        m,
        m.T,
        m.soc_mwh,
        m.charge_mw,
        m.discharge_mw,
        x.prev_step,
        x.charge_efficiency_fraction,
        x.discharge_efficiency_fraction,
    )
    add_battery_bounds(
        m,
        m.T,
        m.battery_mwh,
        m.battery_mw,
        m.charge_mw,
        m.discharge_mw,
        m.soc_mwh,
        x.battery_limits,
    )
    add_backup_reserve(
        m, m.T, m.soc_mwh, m.reserve_shortfall_mwh, x.backup_hours, x.critical_load_mw
    )
    add_cycle_limit(m, m.T, m.discharge_mw, m.battery_mwh, x.weight_h, x.annual_cycle_limit)
    add_deferrable_load(
        m,
        m.T,
        m.served_it_mw,
        m.unserved_it_mw,
        x.it_load_mw,
        x.deferrable_fraction,
        x.it_capacity_mw,
        x.day,
        x.weight_h,
    )
    costs = cost_terms(m, x)
    m.cost = pyo.Expression(list(costs), initialize=costs)
    m.annual_cost = pyo.Objective(expr=annual_cost({k: m.cost[k] for k in m.cost}))
    return m


# --- solving -------------------------------------------------------------------------------------


def solve_pyomo(
    x: SiteEnergyInputs, solver: str = "highs", options: dict[str, Any] | None = None
) -> SiteEnergySolution:
    """Build, solve with HiGHS through highspy (models/solvers.py), read back arrays."""
    chosen = solver_for(solver, "pyomo")
    start = time.perf_counter()
    m = build(x)
    build_s = time.perf_counter() - start
    raw = solve_pyomo_model(m, chosen, options or {})
    stats = SolveStats(
        build_s=build_s + raw.translate_s, solve_s=raw.solve_s, iterations=raw.iterations
    )
    if raw.status is not SolveStatus.optimal:
        return SiteEnergySolution(
            status=raw.status, objective=math.nan, stats=stats, backend="pyomo", solver=solver
        )
    return read_solution(m, x, stats, solver)


def read_solution(
    m: pyo.ConcreteModel, x: SiteEnergyInputs, stats: SolveStats, solver: str
) -> SiteEnergySolution:
    """Copy variable values and power-balance duals into a SiteEnergySolution."""

    def values(var: pyo.Var) -> np.ndarray:
        return np.array([v.value or 0.0 for v in var.values()], dtype=float)

    solar_mw = pyo.value(m.solar_mw)
    solar_used = values(m.solar_used_mw)
    duals = np.array([m.dual.get(m.power_balance[t], math.nan) for t in m.T], dtype=float)
    return SiteEnergySolution(
        status=SolveStatus.optimal,
        objective=float(pyo.value(m.annual_cost)),
        stats=stats,
        backend="pyomo",
        solver=solver,
        solar_mw=solar_mw,
        battery_mwh=pyo.value(m.battery_mwh),
        battery_mw=pyo.value(m.battery_mw),
        grid_import_mw=values(m.grid_import_mw),
        grid_export_mw=values(m.grid_export_mw),
        solar_used_mw=solar_used,
        solar_curtailed_mw=np.maximum(solar_mw * x.solar_capacity_factor - solar_used, 0.0),
        charge_mw=values(m.charge_mw),
        discharge_mw=values(m.discharge_mw),
        soc_mwh=values(m.soc_mwh),
        served_it_mw=values(m.served_it_mw),
        unserved_it_mw=values(m.unserved_it_mw),
        reserve_shortfall_mwh=values(m.reserve_shortfall_mwh),
        peak_import_mw=values(m.peak_import_mw),
        marginal_cost_per_mwh=duals / x.weight_h,
        costs=SiteEnergyCosts(**{k: float(pyo.value(m.cost[k])) for k in m.cost}),
    )
