"""The planner's side of solving: the solver named is checked once, in domain words, and HiGHS's
own log of a run's solves is kept in the run folder (solver.log), never on the console."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.common import Backend
from models.solvers import SOLVERS, UnknownSolver, solver_for
from planner.errors import PlannerError, UnknownName


@dataclass
class SolverLog:
    """Options that make HiGHS append its log to a file; `text()` reads what it wrote."""

    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def text(self) -> str | None:
        """What HiGHS wrote to the log file, or None before it wrote anything."""
        if self.path is None or not self.path.exists():
            return None
        return self.path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def highs_log(solver: str) -> Iterator[SolverLog]:
    """For HiGHS, a temporary log file named in `options["log_file"]`; for others, nothing."""
    if solver.lower() != "highs":
        yield SolverLog()
        return
    with tempfile.TemporaryDirectory(prefix="planner-highs-") as tmp:
        path = Path(tmp) / "highs.log"
        yield SolverLog({"log_file": str(path)}, path)


def check_solver(solver: str, backend: Backend) -> None:
    """Raise a user error when `solver` is unknown, not installed, or out of `backend`'s reach."""
    try:
        solver_for(solver, backend)
    except UnknownSolver as exc:
        if solver.lower() not in SOLVERS:
            raise UnknownName("solver", solver, exc.available) from None
        raise PlannerError(f"{exc}.") from None
