"""The glue between the models and the solvers, in one place.

Every backend asks this module three things: is the solver known and installed for this backend
(`solver_for`), what are our option names in that solver's words (`solver_options`), and what
does its raw status mean (`map_cvxpy_status`, `map_highs_status`, `map_pyomo_status`). Capability
flags follow linopy's `Solver` classes: what a solver can do is declared, not discovered by
failing.

Our option names, understood by every solver that declares them: `mip_gap` (relative, default
1e-4 on MILPs) and `time_limit_s`. Any other key goes to the solver unchanged.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Literal

from models.common import Backend, SolveStatus

PyomoPath = Literal["highspy", "factory"]


@dataclass(frozen=True)
class Solver:
    """One solver: its name in cvxpy, the Python package that brings it, and what it can do."""

    name: str
    cvxpy_name: str
    package: str
    mip: bool
    duals: bool  # LP duals read back (the plan's shadow prices need them)
    pyomo: PyomoPath | None  # how the Pyomo backend reaches it; None: cvxpy only
    option_names: dict[str, str] = field(default_factory=dict)  # ours -> the solver's

    def installed(self) -> bool:
        """True when the solver's Python package can be imported here."""
        return importlib.util.find_spec(self.package) is not None


SOLVERS: dict[str, Solver] = {
    "highs": Solver(
        "highs",
        "HIGHS",
        "highspy",
        mip=True,
        duals=True,
        pyomo="highspy",
        option_names={"mip_gap": "mip_rel_gap", "time_limit_s": "time_limit"},
    ),
    "clarabel": Solver(
        "clarabel",
        "CLARABEL",
        "clarabel",
        mip=False,
        duals=True,
        pyomo=None,
        option_names={"mip_gap": "mip_gap", "time_limit_s": "time_limit"},
    ),
    "appsi_highs": Solver(
        "appsi_highs",
        "HIGHS",
        "highspy",
        mip=True,
        duals=True,
        pyomo="factory",
        option_names={"mip_gap": "mip_rel_gap", "time_limit_s": "time_limit"},
    ),
    "scip": Solver(
        "scip",
        "SCIP",
        "pyscipopt",
        mip=True,
        duals=False,
        pyomo=None,
        option_names={"mip_gap": "limits/gap", "time_limit_s": "limits/time"},
    ),
    "cbc": Solver(
        "cbc",
        "CBC",
        "cylp",
        mip=True,
        duals=False,
        pyomo=None,
        option_names={"mip_gap": "allowableFractionGap", "time_limit_s": "maximumSeconds"},
    ),
}
DEFAULT_MIP_GAP = 1e-4


class UnknownSolver(ValueError):
    """A solver name this machine cannot use with this backend; says which ones it can."""

    def __init__(self, name: str, backend: Backend, reason: str):
        self.name, self.backend, self.reason = name, backend, reason
        self.available = available_solvers(backend)
        super().__init__(
            f"solver {name!r} {reason}; available with the {backend} backend: "
            + ", ".join(self.available)
        )


def available_solvers(backend: Backend) -> list[str]:
    """Names of the installed solvers this backend can drive, HiGHS first."""
    return [
        s.name
        for s in SOLVERS.values()
        if s.installed() and (s.pyomo is not None if backend == "pyomo" else s.pyomo != "factory")
    ]


def solver_for(name: str, backend: Backend) -> Solver:
    """The solver called `name` (any case), checked to be installed and reachable from `backend`."""
    solver = SOLVERS.get(name.lower())
    if solver is None:
        raise UnknownSolver(name, backend, "is not one the planner knows")
    if not solver.installed():
        raise UnknownSolver(name, backend, f"is not installed (pip install {solver.package})")
    if backend == "pyomo" and solver.pyomo is None:
        raise UnknownSolver(name, backend, "is reached through the cvxpy backend only")
    if backend == "cvxpy" and solver.pyomo == "factory":
        raise UnknownSolver(name, backend, "is Pyomo's own interface; with cvxpy say 'highs'")
    return solver


def solver_options(solver: Solver, options: dict[str, Any], integer: bool) -> dict[str, Any]:
    """Our option names in the solver's words; unknown keys pass through unchanged."""
    out = dict(options)
    gap = out.pop("mip_gap", DEFAULT_MIP_GAP if integer else None)
    if gap is not None and integer:
        out[solver.option_names["mip_gap"]] = float(gap)
    if "time_limit_s" in out:
        out[solver.option_names["time_limit_s"]] = float(out.pop("time_limit_s"))
    return out


def cvxpy_solve_kwargs(solver: Solver, options: dict[str, Any], integer: bool) -> dict[str, Any]:
    """Keyword arguments for `cvxpy.Problem.solve` with this solver and our options."""
    translated = solver_options(solver, options, integer)
    match solver.name:
        case "highs" | "appsi_highs":
            return {"solver": solver.cvxpy_name, "highs_options": translated}
        case "scip":
            return {"solver": solver.cvxpy_name, "scip_params": translated}
        case _:
            return {"solver": solver.cvxpy_name, **translated}


def map_cvxpy_status(raw: str | None) -> SolveStatus:
    """The one place a cvxpy status becomes a SolveStatus."""
    match raw:
        case "optimal" | "optimal_inaccurate":
            return SolveStatus.optimal
        case "infeasible" | "infeasible_inaccurate":
            return SolveStatus.infeasible
        case "unbounded" | "unbounded_inaccurate":
            return SolveStatus.unbounded
        case "user_limit":
            return SolveStatus.time_limit
        case _:
            return SolveStatus.error


def map_highs_status(status: object) -> SolveStatus:
    """The one place a HiGHS model status becomes a SolveStatus (HiGHS alone and Pyomo's path)."""
    match str(status).split(".")[-1]:
        case "kOptimal":
            return SolveStatus.optimal
        case "kInfeasible":
            return SolveStatus.infeasible
        case "kUnbounded" | "kUnboundedOrInfeasible":
            return SolveStatus.unbounded
        case "kTimeLimit" | "kIterationLimit" | "kSolutionLimit" | "kInterrupt":
            return SolveStatus.time_limit
        case _:
            return SolveStatus.error


def map_pyomo_status(termination: object) -> SolveStatus:
    """The one place a Pyomo termination condition becomes a SolveStatus."""
    match str(termination).split(".")[-1]:
        case "optimal" | "locallyOptimal" | "globallyOptimal":
            return SolveStatus.optimal
        case "infeasible":
            return SolveStatus.infeasible
        case "unbounded" | "infeasibleOrUnbounded":
            return SolveStatus.unbounded
        case "maxTimeLimit" | "maxIterations":
            return SolveStatus.time_limit
        case _:
            return SolveStatus.error
