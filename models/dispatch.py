"""The seam between a model's inputs and its backends: `solve(inputs, backend, solver, options)`.

This module sits above both backends of each model and below everything that solves, so no
backend imports its dispatcher and no data module imports a backend (no import circles). The
solver is checked first (`models.solvers.solver_for`), so an unknown or missing solver is an
`UnknownSolver` naming the ones available, never a solver error after a long build.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from models.capacity import CapacityInputs, CapacitySolution
from models.capacity_validation import InvalidCapacityInputs
from models.capacity_validation import check_inputs as check_capacity_inputs
from models.common import Backend, SolveStatus
from models.presolve import parts_to_keep, reduce_parts, restore_parts
from models.site_energy import InvalidSiteEnergyInputs, SiteEnergyInputs, SiteEnergySolution
from models.site_energy import check_inputs as check_site_inputs
from models.solvers import solver_for

if TYPE_CHECKING:  # the backends, and cvxpy, are imported when a model is solved
    from models.highs_warm import BasisStore

# HiGHS's answers to a solve error, tried in turn: another random_seed (its default is 0), then
# bounds and right-hand sides scaled by 2^-10 (HiGHS's own suggestion on the SEA flagship's capped
# MILP, whose TPP rows reach 7.9e8: the incumbent it rejected after postsolve was 1.6e-6 off a
# row of that size, round-off, on every seed)
RETRIES: tuple[dict[str, Any], ...] = ({"random_seed": 1}, {"user_bound_scale": -10})


def solve_capacity(
    inputs: CapacityInputs,
    backend: Backend = "cvxpy",
    solver: str = "highs",
    options: dict[str, Any] | None = None,
    *,
    presolve_parts: bool = True,
    bases: BasisStore | None = None,
) -> CapacitySolution:
    """Build and solve the capacity model with the chosen backend and solver.

    Parts that are never held or are dominated by another part are left out before the build
    (`presolve_parts`, models/presolve.py: the optimum is unchanged); the solution is on the
    whole parts axis and names them in `parts_left_out`.

    `options`: `mip_gap` (relative, default 1e-4) and `time_limit_s` are understood by every
    solver (models/solvers.py); any other key goes to the solver unchanged. Raises
    `InvalidCapacityInputs` when `check_inputs` finds problems, `UnknownSolver` for a solver
    this backend cannot reach.

    `bases`: an LP solved with HiGHS in the cvxpy backend starts from the stored basis of an LP
    of the same layout and leaves its own there (models/highs_warm.py); Pyomo solves cold.
    """
    problems = check_capacity_inputs(inputs)
    if problems:
        raise InvalidCapacityInputs(problems)
    solver_for(solver, backend)
    if backend not in ("cvxpy", "pyomo"):
        raise ValueError(f"unknown backend {backend!r}; use 'cvxpy' or 'pyomo'")
    keep = parts_to_keep(inputs) if presolve_parts else None
    reduced = inputs if keep is None else reduce_parts(inputs, keep)
    options = options or {}
    sol = _solve_once(reduced, backend, solver, options, bases)
    for retry in RETRIES:
        if sol.status != SolveStatus.error or solver.lower() != "highs":
            break
        if not retry.keys() & options:  # the user's own setting is not overridden
            sol = _retry(reduced, backend, solver, {**options, **retry}, bases, sol)
    return sol if keep is None else restore_parts(sol, keep)


def _retry(
    inputs: CapacityInputs,
    backend: Backend,
    solver: str,
    retry: dict[str, Any],
    bases: BasisStore | None,
    first: CapacitySolution,
) -> CapacitySolution:
    """HiGHS may reject its own MIP incumbent after postsolve ("MIP solver claims optimality,
    but with ... primal infeasibilities": ERGO-Code/HiGHS issues 2782 and 2808): solve again with
    `retry`'s options (another seed takes another path; scaled bounds judge feasibility at the
    model's own scale), within the time left of the user's limit. The stats add every solve; the
    log file holds them all."""
    if "time_limit_s" in retry:
        left = float(retry["time_limit_s"]) - first.stats.build_s - first.stats.solve_s
        if left <= 0:
            return first
        retry["time_limit_s"] = left
    sol = _solve_once(inputs, backend, solver, retry, bases)
    stats = replace(
        sol.stats,
        build_s=sol.stats.build_s + first.stats.build_s,
        solve_s=sol.stats.solve_s + first.stats.solve_s,
    )
    return replace(sol, stats=stats)


def _solve_once(
    inputs: CapacityInputs,
    backend: Backend,
    solver: str,
    options: dict[str, Any],
    bases: BasisStore | None,
) -> CapacitySolution:
    if backend == "cvxpy":
        from models.capacity_cvxpy_solve import solve_cvxpy

        return solve_cvxpy(inputs, solver=solver, options=options, bases=bases)
    from models.capacity_pyomo_solve import solve_pyomo

    return solve_pyomo(inputs, solver=solver, options=options)


def solve_site_energy(
    inputs: SiteEnergyInputs,
    backend: Backend = "cvxpy",
    solver: str = "highs",
    options: dict[str, Any] | None = None,
) -> SiteEnergySolution:
    """Build and solve the site energy model with the chosen backend and solver.

    Raises `InvalidSiteEnergyInputs` when `check_inputs` finds problems, `UnknownSolver` for a
    solver this backend cannot reach.
    """
    problems = check_site_inputs(inputs)
    if problems:
        raise InvalidSiteEnergyInputs(problems)
    solver_for(solver, backend)
    match backend:
        case "cvxpy":
            from models.site_energy_cvxpy import solve_cvxpy

            return solve_cvxpy(inputs, solver=solver, options=options or {})
        case "pyomo":
            from models.site_energy_pyomo import solve_pyomo

            return solve_pyomo(inputs, solver=solver, options=options or {})
        case _:
            raise ValueError(f"unknown backend {backend!r}; use 'cvxpy' or 'pyomo'")
