"""`planner plan --method`: solve the plan as one problem (the monolith) or by Benders
decomposition (models/benders.py), on local processes or any Dask cluster, and choose between
them by size when asked to (`auto`).

The decomposition builds its master and subproblems with the Pyomo families and solves them
with HiGHS, whatever `--backend` says: the two backends implement the same equations
(tests/test_plan.py), and a decomposed plan is checked against the monolith in
tests/test_benders.py.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from models.capacity import CapacityInputs, CapacitySolution
from models.common import SolveStats, SolveStatus
from models.presolve import parts_to_keep, reduce_parts, restore_parts
from planner.progress import SILENT, ProgressSink

if TYPE_CHECKING:  # the decomposition (and Pyomo) is imported when a plan decomposes
    from models.benders import BendersResult, Iteration, Runner
    from models.benders_inputs import Block

# The monolith is the better method for the shipped plans (flagship 1: monolith MILP ~13 s,
# decomposed LP 35 s, docs/benchmarks.md); above this many hourly operating columns
# (parts x workloads x sites x periods x steps) `auto` decomposes.
DECOMPOSE_ABOVE_COLUMNS = 3_000_000
DEFAULT_MIP_GAP = 0.01


class Method(StrEnum):
    """How a plan is solved: as one problem, by Benders decomposition, or chosen by size."""

    auto = "auto"
    monolith = "monolith"
    decompose = "decompose"


def operating_columns(x: CapacityInputs) -> int:
    """How many hourly operating columns the monolith holds (the size that makes it slow),
    counted over the parts it builds (never-held and dominated parts are left out first)."""
    n_w, _, n_s, n_y, n_t = x.shape
    n_p = len(parts_to_keep(x).kept)
    return n_w * n_p * n_s * n_y * n_t


def choose_method(x: CapacityInputs, method: Method) -> tuple[Method, str]:
    """The method to use and why, in a sentence for the run's notes."""
    size = operating_columns(x)
    if method is Method.monolith:
        return method, "solved as one problem (method monolith, as asked)"
    if method is Method.decompose:
        return method, "solved by Benders decomposition (method decompose, as asked)"
    if size > DECOMPOSE_ABOVE_COLUMNS:
        return Method.decompose, (
            f"solved by Benders decomposition: {size:,} hourly operating columns is above "
            f"{DECOMPOSE_ABOVE_COLUMNS:,}, where one problem grows slow (method auto)"
        )
    return Method.monolith, (
        f"solved as one problem: {size:,} hourly operating columns is at most "
        f"{DECOMPOSE_ABOVE_COLUMNS:,} (method auto; method decompose splits it)"
    )


@contextlib.contextmanager
def runner_factory(scheduler: str | None, workers: int) -> Iterator[Any]:
    """Where subproblems run: `workers` local processes, or the Dask scheduler at an address."""
    if scheduler is None or scheduler == "local":
        from models.benders_runner import ProcessRunner

        def local(x: CapacityInputs, blocks: list[Block], options: dict[str, Any]) -> Runner:
            return ProcessRunner(x, blocks, options, workers=workers)

        yield local
        return
    from planner.dask_cluster import dask_client
    from planner.plan.decompose_dask import DaskRunner

    with dask_client(scheduler, workers) as client:

        def on_cluster(x: CapacityInputs, blocks: list[Block], options: dict[str, Any]) -> Runner:
            return DaskRunner(client, x, blocks, options)

        yield on_cluster


def iteration_line(n: int, it: Iteration) -> str:
    """One round for the progress line and the log: bounds and the gap between them."""
    gap = (it.upper_bound - it.lower_bound) / abs(it.upper_bound)
    shown = f"{gap:.2%}" if math.isfinite(gap) else "no plan yet"
    return f"round {n} ({it.phase}): gap {shown}, {it.cuts} cuts"


def solve_decomposed(
    x: CapacityInputs,
    *,
    mip_gap: float | None = None,
    time_limit_s: float | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: ProgressSink = SILENT,
) -> tuple[CapacitySolution, BendersResult]:
    """The plan by Benders decomposition, as the monolith's solution record, and its history.
    Parts never held or dominated are left out first, as in the monolith (models/presolve.py)."""
    from models.benders import BendersOptions, solve_benders

    rounds: list[Iteration] = []

    def tell(it: Iteration) -> None:
        rounds.append(it)
        progress.phase("decomposing", iteration_line(len(rounds), it))

    gap = DEFAULT_MIP_GAP if mip_gap is None else mip_gap
    opts = BendersOptions(
        mip_gap=gap,
        time_limit_s=math.inf if time_limit_s is None else time_limit_s,
        on_iteration=tell,
    )
    keep = parts_to_keep(x)  # never-held and dominated parts stay out of every subproblem
    with runner_factory(scheduler, workers) as factory:
        result = solve_benders(reduce_parts(x, keep), factory, opts)
    reached = result.gap <= gap * (1 + 1e-9)
    sol = restore_parts(result.solution, keep)
    # the gap to the decomposition's bound is reported for the LP too: unlike a monolithic LP,
    # a decomposed one stops short of its optimum
    stats = SolveStats(0.0, result.wall_s, sol.stats.iterations, max(0.0, result.gap))
    status = SolveStatus.optimal if reached else SolveStatus.time_limit
    return replace(sol, status=status, stats=stats, backend="pyomo", solver="highs"), result


def bound_note(result: BendersResult) -> str:
    """Where the decomposition's bound comes from, for the run's notes and log."""
    if not math.isfinite(result.lower_bound):
        return "no bound: the master gave none within the time"
    if result.bound_certified:
        return (
            "the bound is certified: a vertex's (simplex or MILP master) or the weak-duality "
            "bound of the interior point's row prices, which no solver tolerance enters"
        )
    return (
        "the bound is the master's interior-point optimum, not certified (its row prices gave no "
        "finite bound and the check at a vertex could not finish in the time left): accurate to "
        "the interior point's tolerances only, so the gap is too"
    )


def decomposition_log(result: BendersResult) -> str:
    """The decomposition's own log, kept in the run folder beside the solver's."""
    lines = [
        f"Benders decomposition: {result.blocks} subproblems, {len(result.iterations)} rounds, "
        f"{result.wall_s:.1f} s; bound {result.lower_bound:.6g}, plan {result.upper_bound:.6g}, "
        f"gap {result.gap:.4%}",
        bound_note(result),
    ]
    lines += [iteration_line(n, it) for n, it in enumerate(result.iterations, start=1)]
    return "\n".join(lines) + "\n"
