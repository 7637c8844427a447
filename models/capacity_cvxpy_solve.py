"""Solve the cvxpy capacity model (models/capacity_cvxpy.py) and read every decision back as arrays.

The twin of models/capacity_pyomo_solve.py: same solution, same duals, same names.
"""

from __future__ import annotations

import math
import time
from typing import Any

import cvxpy as cp
import numpy as np

from models.capacity import (
    CapacityCosts,
    CapacityDuals,
    CapacityInputs,
    CapacitySolution,
    serve_scale,
    subsidy_choice,
    subsidy_choice_sites,
)
from models.capacity_cpu_cvxpy import cpu_arrays
from models.capacity_cvxpy import CapacityProblem, CapacityVariables, build
from models.capacity_flex_cvxpy import flex_arrays
from models.common import SolveStats, SolveStatus, solved_value
from models.highs_warm import BasisStore, solve_lp
from models.solvers import cvxpy_solve_kwargs, map_cvxpy_status, solver_for

# --- solving -------------------------------------------------------------------------------------


def solve_cvxpy(
    x: CapacityInputs,
    solver: str = "highs",
    options: dict[str, Any] | None = None,
    bases: BasisStore | None = None,
) -> CapacitySolution:
    """Build, solve with any cvxpy-installed solver named case-insensitively, read back arrays.

    `bases`: the LP (`x.relax`) with HiGHS starts from the stored basis of its layout, if any,
    and leaves its own (models/highs_warm.py); the optimum is the same as a cold solve's."""
    kwargs = cvxpy_solve_kwargs(solver_for(solver, "cvxpy"), options or {}, integer=not x.relax)
    start = time.perf_counter()
    built = build(x)
    solve_start = time.perf_counter()
    try:
        if bases is not None and x.relax and kwargs["solver"] == cp.HIGHS:
            solve_lp(built.problem, kwargs["highs_options"], bases)
        else:
            built.problem.solve(**kwargs)
    except cp.error.SolverError:
        stats = SolveStats(solve_start - start, time.perf_counter() - solve_start)
        return CapacitySolution(SolveStatus.error, math.nan, stats, "cvxpy", solver)
    total = time.perf_counter() - start
    solver_stats = built.problem.solver_stats
    solve_s = solver_stats.solve_time or (time.perf_counter() - solve_start)
    info = solver_stats.extra_stats
    gap = getattr(info, "mip_gap", None) if not x.relax else None
    iterations = solver_stats.num_iters if (solver_stats.num_iters or 0) >= 0 else None
    stats = SolveStats(total - solve_s, solve_s, iterations, None if gap is None else float(gap))
    status = map_cvxpy_status(built.problem.status)
    if status is not SolveStatus.optimal:
        return CapacitySolution(status, math.nan, stats, "cvxpy", solver)
    return read_solution(built, x, stats, solver)


def read_solution(
    built: CapacityProblem, x: CapacityInputs, stats: SolveStats, solver: str
) -> CapacitySolution:
    """Copy values into a CapacitySolution with named axes; duals when the model is an LP."""
    n_w, n_p, n_s, n_y, n_t = x.shape
    v, f = built.variables, built.fleet
    for var in built.problem.variables():  # whole numbers whole: HiGHS keeps them within 1e-6
        if var.attributes["integer"] or var.attributes["boolean"]:
            var.value = np.round(np.asarray(var.value, dtype=float)) + 0.0

    def arr(expr: cp.Expression, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(expr.value, dtype=float).reshape(shape) + 0.0  # no -0.0

    psy, sy, syt = (n_p, n_s, n_y), (n_s, n_y), (n_s, n_y, n_t)
    capex = {k: np.asarray(e.value, dtype=float).reshape(n_y) for k, e in built.capex.items()}
    costs = CapacityCosts(
        **{k: solved_value(e) for k, e in built.costs.items()},
        capex_by_year=sum(capex.values(), np.zeros(n_y)),
    )
    return CapacitySolution(
        status=SolveStatus.optimal,
        objective=solved_value(built.problem),
        stats=stats,
        backend="cvxpy",
        solver=solver,
        servers_bought=arr(v.servers, psy),
        parts_bought=arr(f.parts_bought, psy),
        parts_installed=arr(f.parts_installed, psy),
        parts_busy=arr(v.busy, (n_w, n_p, n_s, n_y, n_t)),
        unserved_tokens_per_s=arr(v.unserved, (n_w, n_y, n_t)) / serve_scale(x)[:, None, None],
        dc_built_mw=arr(v.dc_built_mw, sy),
        it_capacity_mw=arr(f.it_capacity_mw, sy),
        solar_built_mw=arr(v.solar_built_mw, sy),
        battery_built_mwh=arr(v.battery_built_mwh, sy),
        battery_built_mw=arr(v.battery_built_mw, sy),
        solar_mw=arr(f.solar_mw, sy),
        battery_mwh=arr(f.battery_mwh, sy),
        battery_mw=arr(f.battery_mw, sy),
        it_power_mw=arr(f.it_power_mw, syt),
        grid_import_mw=arr(v.grid_import_mw, syt),
        solar_used_mw=arr(v.solar_used_mw, syt),
        charge_mw=arr(v.charge_mw, syt),
        discharge_mw=arr(v.discharge_mw, syt),
        soc_mwh=arr(v.soc_mwh, syt),
        peak_import_mw=arr(v.peak_import_mw, (n_s, n_y, x.billing_period_months.shape[0])),
        **subsidy_arrays(v, x),
        **cpu_arrays(built.cpu, x),
        **flex_arrays(v.flex, x),
        parts_left_out={},  # filled in by models/presolve.py, which knows the whole axis
        costs=costs,
        duals=read_duals(built, x) if x.relax else None,
    )


def subsidy_arrays(v: CapacityVariables, x: CapacityInputs) -> dict[str, np.ndarray]:
    """(18) d, u and the realised subsidy f x d on the full (S, Y[, T]) axes, 0 without choice."""
    _n_w, _n_p, n_s, n_y, n_t = x.shape
    d, u = np.zeros(n_s * n_y), np.zeros((n_s * n_y, n_t))
    sites = subsidy_choice_sites(x)
    if v.domestic_only is not None and v.subsidised_import_mw is not None:
        d[sites] = np.asarray(v.domestic_only.value, dtype=float)
        u[sites] = np.asarray(v.subsidised_import_mw.value, dtype=float)
    d = d.reshape(n_s, n_y) + 0.0
    return {
        "domestic_only": d,
        "subsidised_import_mw": u.reshape(n_s, n_y, n_t) + 0.0,
        "power_subsidy_fraction": subsidy_choice(x) * d,
    }


def scatter(values: np.ndarray, where: np.ndarray, size: int) -> np.ndarray:
    """A zero vector of `size` with `values` at positions `where`."""
    out = np.zeros(size)
    out[where] = np.abs(np.asarray(values, dtype=float).ravel())
    return out


def read_duals(built: CapacityProblem, x: CapacityInputs) -> CapacityDuals:
    """Magnitudes of the binding families' duals, per unit of each limit (present value)."""
    _n_w, n_p, n_s, n_y, _n_t = x.shape

    def dual_of(name: str, finite: np.ndarray, size: int) -> np.ndarray:
        family = built.binding[name]
        return scatter(family[0].dual_value, finite, size) if family else np.zeros(size)

    grid = np.zeros(n_s * n_y)
    for k, row in built.grid_rows.items():
        grid[k] = float(np.sum(np.abs(row.dual_value)))
    return CapacityDuals(
        grid_import_cap_per_mw=grid.reshape(n_s, n_y),
        dc_max_per_mw=dual_of("dc_max", np.flatnonzero(np.isfinite(x.dc_max_mw)), n_s),
        supply_cap_per_part=dual_of(
            "supply", np.flatnonzero(np.isfinite(x.supply_cap_parts.ravel())), n_p * n_y
        ).reshape(n_p, n_y),
        tpp_cap_per_tpp=dual_of(
            "tpp", np.flatnonzero(np.isfinite(x.tpp_cap.ravel())), x.tpp_cap.size
        ).reshape(x.tpp_cap.shape),
        budget_per_currency=dual_of("budget", np.flatnonzero(np.isfinite(x.budget)), n_y),
        domestic_share_per_unit=dual_of(
            "domestic", np.flatnonzero(x.domestic_share_min_fraction > 0), n_y
        ),
    )
