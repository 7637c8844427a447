"""What every optimisation model shares: a typed solver outcome and solve statistics.

Each backend maps its raw solver status to `SolveStatus` in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NamedTuple

Backend = Literal["cvxpy", "pyomo"]


class SolveStatus(StrEnum):
    optimal = "optimal"
    infeasible = "infeasible"
    unbounded = "unbounded"
    time_limit = "time_limit"
    error = "error"


@dataclass(frozen=True)
class SolveStats:
    """Wall-clock seconds to build and to solve; solver iterations and final MIP gap if any."""

    build_s: float
    solve_s: float
    iterations: int | None = None
    mip_gap: float | None = None


class InputProblem(NamedTuple):
    """One thing wrong with one field of a model's inputs; the planner adds the file name."""

    field: str
    problem: str
    fix: str
