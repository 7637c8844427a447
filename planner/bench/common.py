"""What every benchmark shares: the case record, the child's peak memory, and HiGHS alone."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from models.common import Backend

Method = Literal[
    "joint", "apart", "lp", "milp", "lp-decompose", "milp-decompose"
]  # plan: bench.plan
BACKENDS: tuple[Backend, ...] = ("cvxpy", "pyomo")


@dataclass(frozen=True)
class BenchCase:
    """One measurement: a model at one size and site count, one backend, solver and method."""

    backend: Backend
    size: str  # site: "8760" (hours) or "rep:12" (days); plan: "p5y5s5" (parts, years, sites)
    sites: int
    method: Method = "joint"
    solver: str = "highs"
    model: str = "site"
    options: dict[str, Any] = field(default_factory=dict)  # solver options, same for the floor


def peak_rss_mb() -> float:
    """Peak resident memory of this process or of any worker it waited for, MB (Linux: KiB)."""
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kib, children_kib) / 1024.0


def measure_highs_alone(path: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Child step 3: HiGHS alone reads the MPS file and solves it with the case's options."""
    from models.mps import solve_mps

    alone = solve_mps(path, options)
    return {
        "highs_alone_s": alone.solve_s,
        "highs_read_s": alone.read_s,
        "highs_objective": alone.objective,
        "highs_status": str(alone.status),
        "highs_iterations": alone.iterations,
        "rows": alone.n_rows,
        "cols": alone.n_cols,
        "nonzeros": alone.n_nonzeros,
    }
