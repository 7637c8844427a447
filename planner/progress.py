"""Progress of long work, in phases, for whoever is watching (the CLI draws it on stderr).

The domain reports phases ("resolving", "building", "solving", "writing") to a `ProgressSink`; it
never prints. While HiGHS runs, `watch_highs_log` reads the log file HiGHS appends to and reports
the MIP gap and the solver's own clock from its newest progress line, every half second.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

POLL_S = 0.5
# A HiGHS MIP progress line ends "... BestBound BestSol Gap | Cuts InLp Confl. | LpIters Time":
#  "R       0       0         0   0.00%   3.758e10   3.758e10   0.01%   0   0   0   69790   32.3s"
_MIP_LINE = re.compile(r"(?P<gap>inf|[\d.]+%)\s+\d+\s+\d+\s+\d+\s+\d+\s+(?P<time>[\d.]+)s\s*$")
_LP_LINE = re.compile(r"^\s*\d+\s+\S+\s+Pr:.*\s(?P<time>[\d.]+)s\s*$")


class ProgressSink(Protocol):
    """Receives a phase name and a short detail (the MIP gap, a count) as work proceeds."""

    def phase(self, name: str, detail: str = "") -> None:
        """A new phase of the work began (`detail` says what it does)."""


class SilentProgress:
    """The default: nobody is watching."""

    def phase(self, name: str, detail: str = "") -> None:
        """Ignore the phase."""
        return None


SILENT = SilentProgress()


@dataclass(frozen=True)
class SolverProgress:
    """What HiGHS's log says so far: started at all, the latest gap (None before a bound)."""

    started: bool
    gap: str | None
    solver_time_s: float | None


def read_highs_progress(text: str) -> SolverProgress:
    """The newest MIP (or LP iteration) progress line of a HiGHS log, parsed."""
    started = "Running HiGHS" in text
    for line in reversed(text.splitlines()):
        mip = _MIP_LINE.search(line)
        if mip:
            return SolverProgress(started, mip["gap"], float(mip["time"]))
        lp = _LP_LINE.search(line)
        if lp:
            return SolverProgress(started, None, float(lp["time"]))
    return SolverProgress(started, None, None)


def describe(progress: SolverProgress, elapsed_s: float, what: str) -> tuple[str, str]:
    """(phase, detail) for the display: building until HiGHS starts, then solving."""
    if not progress.started:
        return "building", f"the {what} ({elapsed_s:.0f} s)"
    detail = f"the {what} with HiGHS, {elapsed_s:.0f} s"
    if progress.gap == "inf":
        detail += ", no whole-server plan found yet"
    elif progress.gap is not None:
        detail += f", gap {progress.gap}"
    return "solving", detail


@contextmanager
def watch_highs_log(
    log_path: Path | None, sink: ProgressSink, what: str = "model"
) -> Iterator[None]:
    """Report building/solving and the gap from `log_path` every POLL_S while the block runs."""
    if log_path is None or isinstance(sink, SilentProgress):
        sink.phase("solving", f"the {what}")
        yield
        return
    stop = threading.Event()
    start = time.monotonic()
    offset = log_path.stat().st_size if log_path.exists() else 0  # HiGHS appends each solve

    def poll() -> None:
        while not stop.wait(POLL_S):
            try:
                with log_path.open("rb") as fh:
                    fh.seek(offset)
                    text = fh.read().decode("utf-8", errors="replace")
            except OSError:
                text = ""
            sink.phase(*describe(read_highs_progress(text), time.monotonic() - start, what))

    sink.phase("building", f"the {what}")
    thread = threading.Thread(target=poll, name="highs-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
