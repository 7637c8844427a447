"""What every optimisation model shares: a typed solver outcome and solve statistics.

Each backend maps its raw solver status to `SolveStatus` in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, NamedTuple

Backend = Literal["cvxpy", "pyomo"]


class SolveStatus(StrEnum):
    """How a solve ended, the same words for every backend and solver."""

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


def solved_value(expression: Any) -> float:
    """The scalar a solved cvxpy expression took (cvxpy types `.value` as optional)."""
    value = expression.value
    if value is None:
        raise ValueError("the expression has no value: the problem was not solved to optimality")
    return float(value)
