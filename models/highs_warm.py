"""Warm starts for LPs that cvxpy compiles and HiGHS solves: start from the basis of an earlier
solve of an LP with the same layout.

A sweep solves one scenario's LP many times with different numbers (costs, demand levels) and the
same structure. cvxpy compiles each case into `min c'x, lb <= x <= ub, A x (= or <=) b`; when the
layout is the same as an earlier case's (same shape, same equality/inequality split, same
sparsity pattern of A, same finite bounds, `lp_layout`), the earlier optimal basis is a valid
starting point and the simplex method usually needs a fraction of its cold iterations. The answer
is the same optimum: a basis only chooses where the simplex starts, and HiGHS solves to its usual
tolerances from there. A layout seen for the first time, or a basis HiGHS refuses, starts cold.

`BasisStore` holds the bases (one per layout, the latest optimal one) and counts warm and cold
starts; `solve_lp` solves a cvxpy problem through it, filling the problem's values, duals and
solver statistics exactly as `Problem.solve(solver="HIGHS")` does.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

import cvxpy as cp
import cvxpy.settings as s
import numpy as np
from cvxpy.reductions.solvers.conic_solvers.conic_solver import dims_to_solver_dict
from cvxpy.reductions.solvers.conic_solvers.highs_conif import unpack_highs_options_inplace

from models.cvxpy_reuse import Compiled, ReuseStore

Start = Literal["warm", "cold"]


@dataclass
class BasisStore:
    """Optimal HiGHS bases by LP layout (`lp_layout`), the latest `limit` layouts kept; `warm`
    and `cold` count the solves that started from a stored basis and those that did not.
    `reuse` keeps cvxpy's compilation of each LP shape for the next problem of that shape
    (models/cvxpy_reuse.py); None compiles every problem anew."""

    limit: int = 4
    bases: OrderedDict[str, Any] = field(default_factory=OrderedDict)
    warm: int = 0
    cold: int = 0
    reuse: ReuseStore | None = field(default_factory=ReuseStore)

    def get(self, layout: str) -> Any | None:
        """The stored basis of an LP of this layout, or None."""
        return self.bases.get(layout)

    def put(self, layout: str, basis: Any) -> None:
        """Keep `basis` as the latest of its layout, dropping the least recently stored."""
        self.bases[layout] = basis
        self.bases.move_to_end(layout)
        while len(self.bases) > self.limit:
            self.bases.popitem(last=False)


def lp_layout(data: dict[str, Any]) -> str:
    """A digest of a compiled LP's layout: column and row counts, how many rows are equalities,
    the sparsity pattern of A (column starts and row indices), which column bounds are finite and
    which columns are integer. Two LPs with one digest differ at most in their numbers."""
    a = data[s.A].tocsc()
    dims = dims_to_solver_dict(data[s.DIMS])
    digest = hashlib.sha256()
    layout = (a.shape, dims[s.EQ_DIM], dims[s.LEQ_DIM])
    digest.update(repr(layout).encode())
    digest.update(np.ascontiguousarray(a.indptr, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(a.indices, dtype=np.int64).tobytes())
    for key in (s.LOWER_BOUNDS, s.UPPER_BOUNDS):
        bound = data.get(key)
        digest.update(b"-" if bound is None else np.isfinite(bound).tobytes())
    integer = sorted(data.get(s.BOOL_IDX, []) + data.get(s.INT_IDX, []))
    digest.update(repr(integer).encode())
    return digest.hexdigest()


def _highs_model(data: dict[str, Any]) -> Any:
    """The HighsModel of cvxpy's compiled data, as cvxpy's own HiGHS interface builds it."""
    import highspy as hp

    inf = hp.kHighsInf
    dims = dims_to_solver_dict(data[s.DIMS])
    a = data[s.A].tocsc()
    b = data[s.B]
    n_eq, n_leq = dims[s.EQ_DIM], dims[s.LEQ_DIM]
    model = hp.HighsModel()
    lp = model.lp_
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.offset_ = 0  # cvxpy adds its offset when it reads the solution back
    lp.col_cost_ = data[s.C]
    lp.row_lower_ = np.concatenate([b[:n_eq], np.full(n_leq, -inf)])
    lp.row_upper_ = b
    lp.a_matrix_.format_ = hp.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lb, ub = data[s.LOWER_BOUNDS], data[s.UPPER_BOUNDS]
    lp.col_lower_ = np.full(a.shape[1], -inf) if lb is None else np.array(lb, dtype=float)
    lp.col_upper_ = np.full(a.shape[1], inf) if ub is None else np.array(ub, dtype=float)
    return model


def solve_lp(problem: cp.Problem, highs_options: dict[str, Any], store: BasisStore) -> Start:
    """Solve the LP `problem` with HiGHS, from the stored basis of its layout when there is one;
    keep its optimal basis. Fills `problem` (status, value, variables, duals, solver_stats) as
    `problem.solve(solver="HIGHS", highs_options=...)` would. Raises ValueError for a problem
    with integer variables (a basis does not warm-start branch and bound)."""
    import highspy as hp

    if store.reuse is not None:
        compiled = store.reuse.compile(problem, cp.HIGHS)
    else:
        compiled = Compiled(problem, problem, *problem.get_problem_data(cp.HIGHS))
    data = compiled.data
    if data.get(s.BOOL_IDX) or data.get(s.INT_IDX):
        raise ValueError("solve_lp solves LPs only; this problem has integer variables")
    layout = lp_layout(data)
    highs: Any = hp.Highs()  # Any: highspy's stubs lack getDualRay
    options: dict[str, Any] = {"highs_options": dict(highs_options)}
    unpack_highs_options_inplace(options)
    highs.setOptionValue("log_to_console", False)
    for name, value in options.items():
        if highs.setOptionValue(name, value) == hp.HighsStatus.kError:
            raise ValueError(f"HiGHS refuses option {name}={value!r}")
    highs.passModel(_highs_model(data))
    basis = store.get(layout)
    start: Start = "cold"
    if basis is not None and highs.setBasis(basis) != hp.HighsStatus.kError:
        start = "warm"
    store.warm += start == "warm"
    store.cold += start == "cold"
    highs.run()
    status = highs.getModelStatus()
    results: dict[str, Any] = {
        "solution": highs.getSolution(),
        "info": highs.getInfo(),
        "model_status": status.name,
        "run_time": highs.getRunTime(),
    }
    if status == hp.HighsModelStatus.kInfeasible:
        results["dual_ray"] = highs.getDualRay()
    if status == hp.HighsModelStatus.kOptimal and highs.getBasis().valid:
        store.put(layout, highs.getBasis())
    compiled.unpack(results)
    return start
