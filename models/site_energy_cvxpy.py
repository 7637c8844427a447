"""Site energy model in cvxpy: one function per constraint family, vectorised over time.

Equation numbers refer to docs/model.md. Each `add_*` function takes variables and parameter
arrays (never the whole inputs object) and returns its constraints, so the multi-year capacity plan
can reuse it per site and year with its own variables. No Python loops over hours: days and billing
periods aggregate through sparse matrices or fancy indexing, storage links through `prev_step`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from models.common import SolveStats, SolveStatus, solved_value
from models.site_energy import (
    BatteryLimits,
    SiteEnergyCosts,
    SiteEnergyInputs,
    SiteEnergySolution,
)
from models.solvers import cvxpy_solve_kwargs, map_cvxpy_status, solver_for

Constraints = list[cp.Constraint]


@dataclass(frozen=True)
class SiteEnergyVariables:
    """Decision variables of one site and one year (eq. numbers in docs/model.md, section 3)."""

    solar_mw: cp.Variable
    battery_mwh: cp.Variable
    battery_mw: cp.Variable
    grid_import_mw: cp.Variable  # (T,)
    grid_export_mw: cp.Variable  # (T,)
    solar_used_mw: cp.Variable  # (T,)
    charge_mw: cp.Variable  # (T,)
    discharge_mw: cp.Variable  # (T,)
    soc_mwh: cp.Variable  # (T,)
    served_it_mw: cp.Variable  # (T,)
    unserved_it_mw: cp.Variable  # (T,)
    reserve_shortfall_mwh: cp.Variable  # (T,)
    peak_import_mw: cp.Variable  # (P,)


def make_variables(n_steps: int, n_periods: int) -> SiteEnergyVariables:
    """All variables, non-negative (eq. 0)."""

    def hourly(name: str) -> cp.Variable:
        return cp.Variable(n_steps, nonneg=True, name=name)

    return SiteEnergyVariables(
        solar_mw=cp.Variable(nonneg=True, name="solar_mw"),
        battery_mwh=cp.Variable(nonneg=True, name="battery_mwh"),
        battery_mw=cp.Variable(nonneg=True, name="battery_mw"),
        grid_import_mw=hourly("grid_import_mw"),
        grid_export_mw=hourly("grid_export_mw"),
        solar_used_mw=hourly("solar_used_mw"),
        charge_mw=hourly("charge_mw"),
        discharge_mw=hourly("discharge_mw"),
        soc_mwh=hourly("soc_mwh"),
        served_it_mw=hourly("served_it_mw"),
        unserved_it_mw=hourly("unserved_it_mw"),
        reserve_shortfall_mwh=hourly("reserve_shortfall_mwh"),
        peak_import_mw=cp.Variable(n_periods, nonneg=True, name="peak_import_mw"),
    )


def group_matrix(group: np.ndarray, weight_h: np.ndarray) -> sp.csr_matrix:
    """Sparse (G, T) matrix with weight_h[t] in row group[t]: row sums are weighted group totals."""
    n = group.shape[0]
    return sp.csr_matrix((weight_h, (group, np.arange(n))), shape=(int(group.max()) + 1, n))


# --- constraint families -------------------------------------------------------------------------


def add_power_balance(
    supply_mw: list[cp.Expression], demand_mw: list[cp.Expression]
) -> Constraints:
    """(1) Sum of supplies = sum of demands in every step t, MW. The dual is the marginal cost."""
    return [cp.sum(supply_mw) == cp.sum(demand_mw)]


def add_grid_limits(
    import_mw: cp.Expression, export_mw: cp.Expression, import_cap_mw: float, export_cap_mw: float
) -> Constraints:
    """(2) 0 <= import_t <= import cap, (3) 0 <= export_t <= export cap, MW."""
    constraints = [] if math.isinf(import_cap_mw) else [import_mw <= import_cap_mw]
    return [*constraints, export_mw <= export_cap_mw]


def add_demand_charge(
    import_mw: cp.Expression, peak_mw: cp.Expression, billing_period: np.ndarray
) -> Constraints:
    """(4) peak_p >= import_t for every t in billing period p, MW."""
    return [peak_mw[billing_period] >= import_mw]


def add_solar(
    solar_mw: cp.Expression,
    solar_used_mw: cp.Expression,
    capacity_factor: np.ndarray,
    max_mw: float,
) -> Constraints:
    """(5) solar used_t <= capacity factor_t x MW built (the rest is curtailed); (6) MW <= max."""
    constraints = [solar_used_mw <= solar_mw * capacity_factor]
    return constraints if math.isinf(max_mw) else [*constraints, solar_mw <= max_mw]


def add_battery_balance(
    soc_mwh: cp.Expression,
    charge_mw: cp.Expression,
    discharge_mw: cp.Expression,
    prev_step: np.ndarray,
    charge_efficiency: float,
    discharge_efficiency: float,
) -> Constraints:
    """(7) SOC_t = SOC_prev(t) + eta_c c_t - d_t / eta_d, MWh over one-hour steps."""
    return [
        soc_mwh
        == soc_mwh[prev_step] + charge_efficiency * charge_mw - discharge_mw / discharge_efficiency
    ]


def add_battery_bounds(
    battery_mwh: cp.Expression,
    battery_mw: cp.Expression,
    charge_mw: cp.Expression,
    discharge_mw: cp.Expression,
    soc_mwh: cp.Expression,
    limits: BatteryLimits,
) -> Constraints:
    """(8) c_t, d_t <= MW; (9) SOC limits as fractions of MWh; (10) duration; (11) MWh cap."""
    constraints = [
        charge_mw <= battery_mw,
        discharge_mw <= battery_mw,
        soc_mwh <= limits.soc_max_fraction * battery_mwh,
        battery_mwh >= limits.min_duration_h * battery_mw,
    ]
    if limits.soc_min_fraction > 0:
        constraints.append(soc_mwh >= limits.soc_min_fraction * battery_mwh)
    if not math.isinf(limits.max_duration_h):
        constraints.append(battery_mwh <= limits.max_duration_h * battery_mw)
    if not math.isinf(limits.max_mwh):
        constraints.append(battery_mwh <= limits.max_mwh)
    return constraints


def add_backup_reserve(
    soc_mwh: cp.Variable,
    shortfall_mwh: cp.Variable,
    backup_hours: float,
    critical_load_mw: np.ndarray,
) -> Constraints:
    """(12) SOC_t + shortfall_t >= backup hours x critical load_t, MWh."""
    return [soc_mwh + shortfall_mwh >= backup_hours * critical_load_mw]


def add_cycle_limit(
    discharge_mw: cp.Variable,
    battery_mwh: cp.Variable,
    weight_h: np.ndarray,
    annual_cycles: float,
) -> Constraints:
    """(13) sum_t w_t d_t <= equivalent full cycles per year x MWh."""
    if math.isinf(annual_cycles):
        return []
    return [weight_h @ discharge_mw <= annual_cycles * battery_mwh]


def add_deferrable_load(
    served_it_mw: cp.Variable,
    unserved_it_mw: cp.Variable,
    it_load_mw: np.ndarray,
    deferrable_fraction: float,
    it_capacity_mw: float,
    day: np.ndarray,
    weight_h: np.ndarray,
) -> Constraints:
    """(14) served_t + unserved_t >= (1 - f) L_t; (15) daily weighted totals equal demand;
    (16) served_t <= IT capacity, MW."""
    daily = group_matrix(day, weight_h)
    handled = served_it_mw + unserved_it_mw
    return [
        handled >= (1.0 - deferrable_fraction) * it_load_mw,
        daily @ handled == daily @ it_load_mw,
        served_it_mw <= it_capacity_mw,
    ]


# --- cost terms (eq. 17) -------------------------------------------------------------------------


def cost_terms(v: SiteEnergyVariables, x: SiteEnergyInputs) -> dict[str, cp.Expression]:
    """Each annual cost of eq. (17) as an expression, keyed by the SiteEnergyCosts field name."""
    w = x.weight_h
    return {
        "solar_capex": x.solar_annual_cost_per_mw * v.solar_mw,
        "battery_capex": x.battery_annual_cost_per_mwh * v.battery_mwh
        + x.battery_annual_cost_per_mw * v.battery_mw,
        "energy": (w * x.price_per_mwh) @ v.grid_import_mw,
        "demand_charges": (x.demand_charge_per_mw_month * x.billing_period_months)
        @ v.peak_import_mw,
        "carbon": (w * x.emission_t_per_mwh * x.carbon_price_per_t) @ v.grid_import_mw,
        "export_revenue": (w * x.export_price_per_mwh) @ v.grid_export_mw,
        "unserved_penalty": x.unserved_penalty_per_mwh * (w @ v.unserved_it_mw),
        "reserve_penalty": x.reserve_shortfall_penalty_per_mwh * (w @ v.reserve_shortfall_mwh),
    }


def annual_cost(terms: dict[str, cp.Expression]) -> cp.Expression:
    """(17) capex + energy + demand + carbon - export revenue + penalties, per year."""
    return (
        cp.sum([value for name, value in terms.items() if name != "export_revenue"])
        - terms["export_revenue"]
    )


# --- assembly ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteEnergyProblem:
    """A built problem with handles on what the solution reads back."""

    problem: cp.Problem
    variables: SiteEnergyVariables
    costs: dict[str, cp.Expression]
    power_balance: cp.Constraint


def build(x: SiteEnergyInputs) -> SiteEnergyProblem:
    """The site energy LP of docs/model.md, constraint families (1)-(16), objective (17)."""
    v = make_variables(x.n_steps, x.billing_period_months.shape[0])
    power_balance = add_power_balance(
        supply_mw=[v.grid_import_mw, v.solar_used_mw, v.discharge_mw],
        demand_mw=[cp.multiply(x.pue, v.served_it_mw), v.charge_mw, v.grid_export_mw],
    )
    constraints = [
        *power_balance,
        *add_grid_limits(v.grid_import_mw, v.grid_export_mw, x.grid_import_cap_mw,
                         x.grid_export_cap_mw),
        *add_demand_charge(v.grid_import_mw, v.peak_import_mw, x.billing_period),
        *add_solar(v.solar_mw, v.solar_used_mw, x.solar_capacity_factor, x.solar_max_mw),
        *add_battery_balance(v.soc_mwh, v.charge_mw, v.discharge_mw, x.prev_step,
                             x.charge_efficiency_fraction, x.discharge_efficiency_fraction),
        *add_battery_bounds(v.battery_mwh, v.battery_mw, v.charge_mw, v.discharge_mw, v.soc_mwh,
                            x.battery_limits),
        *add_backup_reserve(v.soc_mwh, v.reserve_shortfall_mwh, x.backup_hours,
                            x.critical_load_mw),
        *add_cycle_limit(v.discharge_mw, v.battery_mwh, x.weight_h, x.annual_cycle_limit),
        *add_deferrable_load(v.served_it_mw, v.unserved_it_mw, x.it_load_mw,
                             x.deferrable_fraction, x.it_capacity_mw, x.day, x.weight_h),
    ]  # fmt: skip
    costs = cost_terms(v, x)
    problem = cp.Problem(cp.Minimize(annual_cost(costs)), constraints)
    return SiteEnergyProblem(problem, v, costs, power_balance[0])


def solve_cvxpy(
    x: SiteEnergyInputs, solver: str = "highs", options: dict[str, Any] | None = None
) -> SiteEnergySolution:
    """Build, solve with any cvxpy-installed solver named case-insensitively, read back arrays."""
    start = time.perf_counter()
    built = build(x)
    data_start = time.perf_counter()
    kwargs = cvxpy_solve_kwargs(solver_for(solver, "cvxpy"), options or {}, integer=False)
    try:
        # canonicalisation counts as building: cvxpy reports the solver's own seconds separately
        built.problem.solve(**kwargs)
    except cp.error.SolverError:
        return SiteEnergySolution(
            status=SolveStatus.error,
            objective=math.nan,
            stats=SolveStats(build_s=data_start - start, solve_s=time.perf_counter() - data_start),
            backend="cvxpy",
            solver=solver,
        )
    total = time.perf_counter() - start
    solver_s = built.problem.solver_stats.solve_time
    solve_s = solver_s if solver_s is not None else time.perf_counter() - data_start
    stats = SolveStats(
        build_s=total - solve_s, solve_s=solve_s, iterations=built.problem.solver_stats.num_iters
    )
    status = map_cvxpy_status(built.problem.status)
    if status is not SolveStatus.optimal:
        return SiteEnergySolution(
            status=status, objective=math.nan, stats=stats, backend="cvxpy", solver=solver
        )
    return read_solution(built, x, stats, solver)


def read_solution(
    built: SiteEnergyProblem, x: SiteEnergyInputs, stats: SolveStats, solver: str
) -> SiteEnergySolution:
    """Copy variable values into a SiteEnergySolution (eq. 5 gives curtailment)."""
    v = built.variables

    def values(var: cp.Variable) -> np.ndarray:
        return np.asarray(var.value, dtype=float).reshape(var.shape)

    solar_mw = solved_value(v.solar_mw)
    solar_used = values(v.solar_used_mw)
    dual = built.power_balance.dual_value
    marginal = (
        -np.asarray(dual, dtype=float) / x.weight_h
        if dual is not None
        else np.full(x.n_steps, np.nan)
    )
    return SiteEnergySolution(
        status=SolveStatus.optimal,
        objective=solved_value(built.problem),
        stats=stats,
        backend="cvxpy",
        solver=solver,
        solar_mw=solar_mw,
        battery_mwh=solved_value(v.battery_mwh),
        battery_mw=solved_value(v.battery_mw),
        grid_import_mw=values(v.grid_import_mw),
        grid_export_mw=values(v.grid_export_mw),
        solar_used_mw=solar_used,
        solar_curtailed_mw=np.maximum(solar_mw * x.solar_capacity_factor - solar_used, 0.0),
        charge_mw=values(v.charge_mw),
        discharge_mw=values(v.discharge_mw),
        soc_mwh=values(v.soc_mwh),
        served_it_mw=values(v.served_it_mw),
        unserved_it_mw=values(v.unserved_it_mw),
        reserve_shortfall_mwh=values(v.reserve_shortfall_mwh),
        peak_import_mw=values(v.peak_import_mw),
        marginal_cost_per_mwh=marginal,
        costs=SiteEnergyCosts(**{k: solved_value(e) for k, e in built.costs.items()}),
    )
