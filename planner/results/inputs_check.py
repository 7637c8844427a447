"""Whether a run was solved with its input files as they are now: a sweep reuses a case's run
folder only then (a changed scenario, part, workload, rule or serving-table file solves it again).
"""

from __future__ import annotations

import functools
from pathlib import Path

from planner.errors import PlannerError
from planner.results.folders import Run, read_run
from planner.results.integrity import sha256_of


class StaleRun(PlannerError):
    """A complete run whose recorded inputs have changed since it was solved."""


@functools.lru_cache(maxsize=65_536)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """A file's SHA-256, hashed once per (path, size, modification time) in this process."""
    return sha256_of(Path(path))


def changed_input(run: Run) -> str | None:
    """The first input file the run recorded that is gone or differs now; None if all match."""
    for item in run.inputs:
        path = Path(str(item.get("path", "")))
        try:
            stat = path.stat()
        except OSError:
            return str(path)
        if _sha256(str(path), stat.st_size, stat.st_mtime_ns) != item.get("sha256"):
            return str(path)
    return None


def read_current_run(folder: Path) -> Run:
    """`read_run` without checksums, refusing a run solved with inputs that changed since."""
    run = read_run(folder, checksums=False)
    changed = changed_input(run)
    if changed is not None:
        raise StaleRun(f"solved with an earlier version of {changed}; it is solved again")
    return run
