"""HiGHS's own log of a run's solves, kept in the run folder (solver.log), never on the console."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SolverLog:
    """Options that make HiGHS append its log to a file; `text()` reads what it wrote."""

    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def text(self) -> str | None:
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
