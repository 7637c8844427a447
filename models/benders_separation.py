"""Separation in the Benders loop (models/benders.py): the subproblems solved at master points,
the cuts kept, the plans found; and the passes at the extra points run on a thread while the
master solves its next round (`Lookahead`).

The in-out loop separates at lambda x^ + (1 - lambda) x_core for lambda 0.5 and, by default,
at the master's own point x^ (lambda 1): the first pass's cuts steady the bound, the second's
are the deepest at x^, and its plan, where cheaper, moves the core early (the cheapest plans of
later rounds are the lambda-0.5 points about that core). The master's interior-point solve
uses one core and the subproblems' workers wait on it; run beside it, the extra pass takes the
idle core, and its cuts join the master a round later, where deeper at x^ than the first
pass's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import numpy as np

from models.benders_master import Master
from models.benders_sub import SLACK_FREE_MW, Fleet, SubResult
from models.capacity import CapacitySolution
from models.common import SolveStatus


class Runner(Protocol):
    """Solves subproblems where it likes: `solve` returns one result per fleet, block order."""

    def solve(self, fleets: list[Fleet]) -> list[SubResult]:
        """Each subproblem's value and cut at its fleet, in block order."""

    def operations(self, fleets: list[Fleet]) -> list[CapacitySolution]:
        """Each block's operation at its fleet, as capacity solutions on the block's axes."""

    def close(self) -> None:
        """Release the workers or solvers the runner holds."""


Found = list[tuple[list[SubResult], np.ndarray]]  # each point's results, and the point
# told of a pass's results, its cheapest plan's cost and point (models/benders_trim.PlanTrim)
Inspect = Callable[[Found, float, np.ndarray], None]


def evaluate(
    master: Master, runner: Runner, point: np.ndarray
) -> tuple[list[SubResult], float, bool]:
    """Every subproblem at a master point: results, total cost (first stage + operation), and
    whether it is a plan (no subproblem needed slack)."""
    fleets = [master.fleet(point, b.year) for b in master.blocks]
    results = runner.solve(fleets)
    solved = [r.status is SolveStatus.optimal for r in results]
    if not any(solved):
        raise RuntimeError(f"every subproblem ended {results[0].status}")
    # a subproblem that fails numerically gives no cut this round and the point is no plan
    total = master.first_stage_cost(point) + sum(
        r.value if r.kind == "optimality" and ok else math.inf
        for r, ok in zip(results, solved, strict=True)
    )
    slack_free = all(solved) and all(r.slack_mw <= SLACK_FREE_MW for r in results)
    return results, total, slack_free


def add_cuts(master: Master, results: list[SubResult], point: np.ndarray) -> None:
    """One optimality cut per subproblem, at the point they were solved (none for a block the
    master holds whole: its theta is already exact)."""
    for k, r in enumerate(results):
        if r.status is SolveStatus.optimal and k not in master.held:
            master.add_cut(k, r.value, r.gradient, point, r.kind)


def solve_at(
    master: Master, runner: Runner, points: list[np.ndarray]
) -> tuple[float, np.ndarray, Found]:
    """Every subproblem at each point: the cheapest plan among them (inf if every point needed
    slack), that point, and every point's results."""
    best: tuple[float, np.ndarray] = (math.inf, points[0])
    found: Found = []
    for at in points:
        results, total, slack_free = evaluate(master, runner, at)
        found.append((results, at))
        if slack_free and total < best[0]:
            best = (total, at)
    return best[0], best[1], found


def separate(
    master: Master, runner: Runner, values: np.ndarray, points: list[np.ndarray]
) -> tuple[float, np.ndarray, Found]:
    """`solve_at` the points, and keep per block the cut deepest at the master's point
    `values`."""
    total, at, found = solve_at(master, runner, points)
    add_deepest_cuts(master, found, values)
    return total, at, found


def add_deepest_cuts(
    master: Master, found: Found, q: np.ndarray, kept: Found | None = None
) -> None:
    """Of the cuts each block gave at several points, the one deepest at the master's point q
    (with `kept`, the points whose cuts the master already has: a block's cut is added only if
    deeper at q than the one kept)."""
    if len(found) == 1 and kept is None:
        add_cuts(master, *found[0])
        return
    for k in range(len(master.blocks)):
        if k in master.held:
            continue
        usable = [(r[k], at) for r, at in found if r[k].status is SolveStatus.optimal]
        if not usable:
            continue
        if any(r.kind != "optimality" for r, _ in usable):
            for r, at in usable:
                master.add_cut(k, r.value, r.gradient, at, r.kind)
            continue
        r, at = max(usable, key=lambda u: master.cut_at(k, u[0].value, u[0].gradient, u[1], q))
        if kept is None or master.cut_at(k, r.value, r.gradient, at, q) > deepest_kept(
            master, k, kept, q
        ):
            master.add_cut(k, r.value, r.gradient, at, r.kind)


def deepest_kept(master: Master, k: int, kept: Found, q: np.ndarray) -> float:
    """The deepest at q of block k's optimality cuts from the points `kept` (-inf if none)."""
    depths = [
        master.cut_at(k, r[k].value, r[k].gradient, at, q)
        for r, at in kept
        if r[k].status is SolveStatus.optimal and r[k].kind == "optimality"
    ]
    return max(depths, default=-math.inf)


class Lookahead:
    """Passes at the extra points, on a thread while the master solves the next round:
    `start` them after the first pass, `collect` after the master (cuts deeper than the first
    pass's added then; returns the cheapest plan they found)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="benders-lookahead")
        self.pending: Future[tuple[float, np.ndarray, Found]] | None = None
        self.q: np.ndarray | None = None
        self.kept: Found = []
        self.inspect: Inspect | None = None

    def start(
        self, master: Master, runner: Runner, points: list[np.ndarray], q: np.ndarray,
        kept: Found, inspect: Inspect | None = None,
    ) -> None:  # fmt: skip
        """Solve every subproblem at `points` on the thread (the runner is the thread's until
        `collect`); q the master's point they separate, `kept` the first pass's results;
        `inspect` told of the passes' results and cheapest plan at `collect`."""
        self.q, self.kept, self.inspect = q, kept, inspect
        self.pending = self.pool.submit(solve_at, master, runner, points)

    def collect(self, master: Master) -> tuple[float, np.ndarray | None]:
        """Wait for the passes, add their cuts deeper at q than the first pass's, and return
        the cheapest plan among their points (inf, None if none or nothing was pending)."""
        if self.pending is None:
            return math.inf, None
        pending, self.pending = self.pending, None
        total, at, found = pending.result()
        assert self.q is not None
        add_deepest_cuts(master, found, self.q, self.kept)
        if self.inspect is not None:
            self.inspect(found, total, at)
        return total, at

    def close(self) -> None:
        """Wait for anything pending and stop the thread."""
        self.pool.shutdown(wait=True)
