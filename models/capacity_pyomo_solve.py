"""Solve the Pyomo capacity model (models/capacity_pyomo.py) and read every decision back as arrays.

The twin of models/capacity_cvxpy_solve.py: same solution, same duals, same names.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyomo.environ as pyo

from models.capacity import (
    CapacityCosts,
    CapacityDuals,
    CapacityInputs,
    CapacitySolution,
    serve_scale,
    subsidy_choice,
)
from models.capacity_cpu_pyomo import cpu_arrays
from models.capacity_flex_pyomo import flex_arrays
from models.capacity_pyomo import build
from models.common import SolveStats, SolveStatus
from models.pyomo_highs import solve_pyomo_model
from models.solvers import solver_for

# --- solving -------------------------------------------------------------------------------------


def solve_pyomo(
    x: CapacityInputs, solver: str = "highs", options: dict[str, Any] | None = None
) -> CapacitySolution:
    """Build, solve with HiGHS through highspy (models/solvers.py), read back arrays."""
    chosen = solver_for(solver, "pyomo")
    start = time.perf_counter()
    m = build(x)
    build_s = time.perf_counter() - start
    integer = not x.relax
    raw = solve_pyomo_model(m, chosen, options or {}, integer=integer)
    stats = SolveStats(build_s, raw.solve_s, raw.iterations, raw.mip_gap)
    if raw.status is not SolveStatus.optimal:
        return CapacitySolution(raw.status, math.nan, stats, "pyomo", solver)
    return read_solution(m, x, stats, solver)


def values(component: Any, shape: tuple[int, ...]) -> np.ndarray:
    """An indexed Var or Expression as an array in index order (unused variables read as 0)."""
    return np.array(
        [pyo.value(c, exception=False) or 0.0 for c in component.values()], dtype=float
    ).reshape(shape)


def per_site_year(m: pyo.ConcreteModel, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One block component of every (s, y), stacked into an array of `shape`."""
    blocks = [getattr(m.site[s, y], name) for s in m.S for y in m.Y]
    flat = [pyo.value(c, exception=False) or 0.0 for block in blocks for c in block.values()]
    return np.array(flat, dtype=float).reshape(shape)


def read_solution(
    m: pyo.ConcreteModel, x: CapacityInputs, stats: SolveStats, solver: str
) -> CapacitySolution:
    """Copy values into a CapacitySolution with named axes; duals when the model is an LP."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    if not x.relax:  # whole numbers whole, as in the cvxpy backend (an LP has none to visit)
        for var in m.component_data_objects(pyo.Var):
            if (var.is_integer() or var.is_binary()) and var.value is not None:
                var.set_value(float(round(var.value)) + 0.0, skip_validation=True)
    psy, sy, syt = (n_p, n_s, n_y), (n_s, n_y), (n_s, n_y, n_t)
    capex = {k: np.array([pyo.value(m.capex[k, y]) for y in m.Y]) for k in m.K}
    costs = CapacityCosts(
        **{k: float(pyo.value(m.cost[k])) for k in m.cost},
        capex_by_year=sum(capex.values(), np.zeros(x.shape[3])),
    )
    return CapacitySolution(
        status=SolveStatus.optimal,
        objective=float(pyo.value(m.net_present_cost)),
        stats=stats,
        backend="pyomo",
        solver=solver,
        servers_bought=values(m.servers, psy),
        parts_bought=values(m.parts_bought, psy),
        parts_installed=values(m.parts_installed, psy),
        parts_busy=values(m.busy, (n_w, n_p, n_s, n_y, n_t)),
        unserved_tokens_per_s=values(m.unserved, (n_w, n_y, n_t)) / serve_scale(x)[:, None, None],
        dc_built_mw=values(m.dc_built_mw, sy),
        it_capacity_mw=values(m.it_capacity_mw, sy),
        solar_built_mw=values(m.solar_built_mw, sy),
        battery_built_mwh=values(m.battery_built_mwh, sy),
        battery_built_mw=values(m.battery_built_mw, sy),
        solar_mw=np.array([pyo.value(m.site[k].solar_mw) for k in m.site]).reshape(sy),
        battery_mwh=np.array([pyo.value(m.site[k].battery_mwh) for k in m.site]).reshape(sy),
        battery_mw=np.array([pyo.value(m.site[k].battery_mw) for k in m.site]).reshape(sy),
        it_power_mw=values(m.it_power_mw, syt),
        grid_import_mw=per_site_year(m, "grid_import_mw", syt),
        solar_used_mw=per_site_year(m, "solar_used_mw", syt),
        charge_mw=per_site_year(m, "charge_mw", syt),
        discharge_mw=per_site_year(m, "discharge_mw", syt),
        soc_mwh=per_site_year(m, "soc_mwh", syt),
        peak_import_mw=per_site_year(
            m, "peak_import_mw", (n_s, n_y, x.billing_period_months.shape[0])
        ),
        **subsidy_arrays(m, x),
        **cpu_arrays(m, x),
        **flex_arrays(m, x),
        parts_left_out={},  # filled in by models/presolve.py, which knows the whole axis
        costs=costs,
        duals=read_duals(m, x) if x.relax else None,
    )


def subsidy_arrays(m: pyo.ConcreteModel, x: CapacityInputs) -> dict[str, np.ndarray]:
    """(18) d, u and the realised subsidy f x d on the full (S, Y[, T]) axes, 0 without choice."""
    _n_w, _n_p, n_s, n_y, n_t = x.shape
    d, u = np.zeros((n_s, n_y)), np.zeros((n_s, n_y, n_t))
    for s, y in m.C:
        d[s, y] = pyo.value(m.domestic_only[s, y], exception=False) or 0.0
        for t in m.T:
            u[s, y, t] = pyo.value(m.subsidised_import_mw[s, y, t], exception=False) or 0.0
    return {
        "domestic_only": d,
        "subsidised_import_mw": u,
        "power_subsidy_fraction": subsidy_choice(x) * d,
    }


def read_duals(m: pyo.ConcreteModel, x: CapacityInputs) -> CapacityDuals:
    """Magnitudes of the binding families' duals, per unit of each limit (present value).

    The grid cap is a bound on each step's import (the site energy family), so its value is the
    sum over steps of the import columns' reduced costs at their upper bound."""
    _n_w, n_p, n_s, n_y, _n_t = x.shape

    def dual_of(con: pyo.Constraint, shape: tuple[int, ...]) -> np.ndarray:
        out = np.zeros(shape)
        for index, row in con.items():
            out[index] = abs(m.dual.get(row, 0.0))
        return out

    grid = np.zeros((n_s, n_y))
    for s, y in m.site:
        if math.isfinite(x.grid_import_cap_mw[s, y]):
            imports = m.site[s, y].grid_import_mw.values()
            grid[s, y] = sum(max(-m.rc.get(v, 0.0), 0.0) for v in imports)  # at the cap
    return CapacityDuals(
        grid_import_cap_per_mw=grid,
        dc_max_per_mw=dual_of(m.dc_max, (n_s,)),
        supply_cap_per_part=dual_of(m.supply_cap, (n_p, n_y)),
        tpp_cap_per_tpp=dual_of(m.tpp_cap, x.tpp_cap.shape),
        budget_per_currency=dual_of(m.budget, (n_y,)),
        domestic_share_per_unit=dual_of(m.domestic_share, (n_y,)),
    )
