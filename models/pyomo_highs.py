"""Pyomo to HiGHS in one place: compile once to matrices, solve with highspy, load the answer.

Measured faster than Pyomo's persistent and LP-file paths (docs/model.md, "Solving"), and it
returns duals. Both Pyomo formulations (site energy, capacity) solve through `solve_with_highspy`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import highspy
import pyomo.environ as pyo

from models.common import SolveStatus
from models.mps import lp_from_pyomo
from models.solvers import Solver, map_highs_status, map_pyomo_status, solver_options


@dataclass(frozen=True)
class RawOutcome:
    """What a solver path hands back before reading: status, seconds, iterations, MIP gap."""

    status: SolveStatus
    solve_s: float
    iterations: int | None = None
    translate_s: float = 0.0
    mip_gap: float | None = None


def solve_with_highspy(
    m: pyo.ConcreteModel, options: dict[str, Any], *, integer: bool = False
) -> RawOutcome:
    """Solve `m` with HiGHS; `integer` keeps integer variables integer (a MILP), else an LP.

    Loads primal values into the model; for an LP also row duals into `m.dual` and column duals
    (reduced costs) into `m.rc`. `options` are HiGHS option names and values.
    """
    start = time.perf_counter()
    lp, form = lp_from_pyomo(m, integer=integer)
    h = highspy.Highs()
    h.silent()
    if "log_file" in options:  # silent on the console, the whole log in the file
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.passModel(lp)
    translate_s = time.perf_counter() - start
    h.run()
    solve_s = time.perf_counter() - start - translate_s
    status = map_highs_status(h.getModelStatus())
    info = h.getInfo()
    if status is SolveStatus.optimal:
        solution = h.getSolution()
        for var, value in zip(form.columns, solution.col_value, strict=True):
            var.set_value(value, skip_validation=True)
        for var, expr in form.eliminated_vars:
            var.set_value(pyo.value(expr), skip_validation=True)
        if not integer:
            m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
            m.rc = pyo.Suffix(direction=pyo.Suffix.IMPORT)
            for (con, _), dual in zip(form.rows, solution.row_dual, strict=True):
                m.dual[con] = dual
            for var, dual in zip(form.columns, solution.col_dual, strict=True):
                m.rc[var] = dual
    iterations = int(info.simplex_iteration_count or info.ipm_iteration_count)
    return RawOutcome(
        status,
        solve_s,
        iterations,
        translate_s,
        float(info.mip_gap) if integer else None,
    )


def solve_with_factory(m: pyo.ConcreteModel, solver: str, options: dict[str, Any]) -> RawOutcome:
    """A solver through Pyomo's own `SolverFactory` interface (e.g. appsi_highs), LP duals too."""
    start = time.perf_counter()
    m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    opt = pyo.SolverFactory(solver)
    try:
        result = opt.solve(m, options=options, load_solutions=False)
    except Exception:  # a missing executable or a crash: both are a solver error to the user
        return RawOutcome(SolveStatus.error, time.perf_counter() - start)
    status = map_pyomo_status(result.solver.termination_condition)
    if status is SolveStatus.optimal:
        m.solutions.load_from(result)
    return RawOutcome(status, time.perf_counter() - start)


def solve_pyomo_model(
    m: pyo.ConcreteModel, solver: Solver, options: dict[str, Any], *, integer: bool = False
) -> RawOutcome:
    """Solve `m` by the path `solver` declares (highspy directly, or Pyomo's SolverFactory)."""
    translated = solver_options(solver, options, integer)
    if solver.pyomo == "factory":
        return solve_with_factory(m, solver.name, translated)
    return solve_with_highspy(m, translated, integer=integer)
