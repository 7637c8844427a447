"""Any backend's model as a plain LP for HiGHS: to an MPS file, and HiGHS alone on that file.

HiGHS alone on the MPS a model writes is the floor the benchmarks measure the modelling layers
against: the same matrix, the same options, no Python in between. Both converters produce the row
form HiGHS takes, `min c'x + offset  s.t.  row_lower <= A x <= row_upper,  col_lower <= x <=
col_upper`, from the backend's own compiled form (cvxpy's cone program, Pyomo's standard-form
compiler), so the file holds exactly what the backend would hand the solver.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cvxpy as cp
import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from models.common import SolveStatus
from models.solvers import map_highs_status


@dataclass(frozen=True)
class HighsAlone:
    """HiGHS solving an MPS file by itself: seconds reading, seconds solving, the optimum."""

    status: SolveStatus
    objective: float
    read_s: float
    solve_s: float
    iterations: int
    n_rows: int
    n_cols: int
    n_nonzeros: int


def highs_lp(
    cost: np.ndarray,
    offset: float,
    a_matrix: sp.spmatrix | sp.sparray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> highspy.HighsLp:
    """A HighsLp in column-wise storage from dense vectors and a sparse matrix (infinite = free)."""
    a = sp.csc_matrix(a_matrix)
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = a.shape
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.offset_ = float(offset)
    lp.col_lower_ = np.asarray(col_lower, dtype=float)
    lp.col_upper_ = np.asarray(col_upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    return lp


def lp_from_cvxpy(problem: cp.Problem) -> highspy.HighsLp:
    """cvxpy's HiGHS problem data as a HighsLp: equality rows first, then `A x <= b` rows.

    Only linear programs that minimise: cvxpy would negate a maximised objective silently.
    """
    if not isinstance(problem.objective, cp.Minimize):
        raise ValueError("lp_from_cvxpy expects a minimisation; negate the objective first")
    data, _, _ = problem.get_problem_data(cp.HIGHS)
    _, offset, _, _ = data["param_prob"].apply_parameters()
    n_eq = data["dims"].zero
    b = np.asarray(data["b"], dtype=float)
    n_cols = data["A"].shape[1]
    lower, upper = data["lower_bounds"], data["upper_bounds"]
    return highs_lp(
        cost=data["c"],
        offset=float(np.asarray(offset).sum()),
        a_matrix=data["A"],
        row_lower=np.concatenate([b[:n_eq], np.full(b.shape[0] - n_eq, -math.inf)]),
        row_upper=b,
        col_lower=np.full(n_cols, -math.inf) if lower is None else lower,
        col_upper=np.full(n_cols, math.inf) if upper is None else upper,
    )


def lp_from_pyomo(
    model: pyo.ConcreteModel, *, integer: bool = False
) -> tuple[highspy.HighsLp, Any]:
    """Pyomo's standard-form compiler output as a HighsLp, plus the compiled form (its `columns`
    and `rows` map HiGHS's column and row order back to the model's variables and constraints).
    With `integer`, the model's integer variables stay integer (a MILP)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    form = LinearStandardFormCompiler().write(model, mixed_form=True)
    senses = np.array([sense for _, sense in form.rows], dtype=int)
    rhs = np.asarray(form.rhs, dtype=float)
    lp = highs_lp(
        cost=np.asarray(form.c.todense()).ravel(),
        offset=float(form.c_offset[0]),
        a_matrix=form.A,
        row_lower=np.where(senses <= 0, rhs, -math.inf),  # sense 0: ==, 1: <=, -1: >=
        row_upper=np.where(senses >= 0, rhs, math.inf),
        col_lower=np.array([-math.inf if v.lb is None else v.lb for v in form.columns]),
        col_upper=np.array([math.inf if v.ub is None else v.ub for v in form.columns]),
    )
    if integer:
        kind = highspy.HighsVarType
        lp.integrality_ = [
            kind.kInteger if v.is_integer() else kind.kContinuous for v in form.columns
        ]
    return lp, form


def model_lp(model: cp.Problem | pyo.ConcreteModel) -> highspy.HighsLp:
    """The LP of a built cvxpy problem or Pyomo model, as HiGHS would receive it."""
    if isinstance(model, cp.Problem):
        return lp_from_cvxpy(model)
    return lp_from_pyomo(model)[0]


def write_mps(model: cp.Problem | pyo.ConcreteModel, path: Path) -> Path:
    """Write a built cvxpy problem or Pyomo model to a free-format MPS file; returns the path."""
    path = Path(path)
    h = highspy.Highs()
    h.silent()
    h.passModel(model_lp(model))
    h.writeModel(str(path))
    return path


def solve_mps(path: Path, options: dict[str, Any] | None = None) -> HighsAlone:
    """Read an MPS file into highspy, solve it with `options`; read and solve timed apart."""
    h = highspy.Highs()
    h.silent()
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    start = time.perf_counter()
    h.readModel(str(path))
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    h.run()
    solve_s = time.perf_counter() - start
    status = map_highs_status(h.getModelStatus())
    info = h.getInfo()
    lp = h.getLp()
    return HighsAlone(
        status=status,
        objective=float(info.objective_function_value)
        if status is SolveStatus.optimal
        else math.nan,
        read_s=read_s,
        solve_s=solve_s,
        iterations=int(info.simplex_iteration_count) + int(info.ipm_iteration_count),
        n_rows=int(lp.num_row_),
        n_cols=int(lp.num_col_),
        n_nonzeros=len(lp.a_matrix_.value_),
    )
