"""Plan a scenario: resolve it (planner.plan.resolve), solve it in either backend, and summarise
it (planner.plan.summary). `plan_scenario` is the one call; the names of all three steps are
importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import numpy as np

from models.capacity import CapacitySolution
from models.capacity_validation import InvalidCapacityInputs
from models.common import Backend, SolveStatus
from models.dispatch import solve_capacity as solve
from planner.errors import InfeasiblePlan, InputError, Problem
from planner.plan.decompose import (
    Method,
    bound_note,
    choose_method,
    decomposition_log,
    solve_decomposed,
)
from planner.plan.resolve import PlanAxes, ResolvedPlan, resolve
from planner.plan.result import PlanResult
from planner.plan.scenario import Scenario
from planner.plan.summary import summary
from planner.progress import SILENT, ProgressSink, watch_highs_log
from planner.solver_log import check_solver, highs_log

if TYPE_CHECKING:
    from models.highs_warm import BasisStore

__all__ = [  # the plan's three steps, importable from one place
    "PlanAxes",
    "PlanResult",
    "ResolvedPlan",
    "plan_scenario",
    "resolve",
    "solve_plan",
    "summary",
]


# --------------------------------------------------------------------------- solving


def solve_plan(resolved: ResolvedPlan, **options: Unpack[SolveOptions]) -> PlanResult:
    """Solve the plan; when it is a MILP, also solve its LP relaxation to read shadow prices.

    `method` chooses one problem or Benders decomposition (`auto`: by size); the choice and
    why are the first of the plan's notes. `bases`: the LP starts from the basis of an earlier
    LP of the same layout (a sweep's cases, models/highs_warm.py). Defaults: cvxpy with HiGHS,
    the solver's own gap and no time limit, duals read, one problem, 2 local workers."""
    backend = options.get("backend", "cvxpy")
    solver = options.get("solver", "highs")
    mip_gap = options.get("mip_gap")
    time_limit_s = options.get("time_limit_s")
    duals = options.get("duals", True)
    progress = options.get("progress", SILENT)
    method = options.get("method", Method.monolith)
    scheduler = options.get("scheduler")
    workers = options.get("workers", 2)
    bases = options.get("bases")
    chosen, why = choose_method(resolved.inputs, method)
    if chosen is Method.decompose:
        return solve_decomposed_plan(
            resolved, mip_gap=mip_gap, time_limit_s=time_limit_s, scheduler=scheduler,
            workers=workers, progress=progress, why=why,
        )  # fmt: skip
    result = solve_monolith(
        resolved, backend=backend, solver=solver, mip_gap=mip_gap, time_limit_s=time_limit_s,
        duals=duals, progress=progress, bases=bases,
    )  # fmt: skip
    return replace(result, method=chosen.value, method_note=why)


def solve_decomposed_plan(
    resolved: ResolvedPlan,
    *,
    mip_gap: float | None,
    time_limit_s: float | None,
    scheduler: str | None,
    workers: int,
    progress: ProgressSink,
    why: str,
) -> PlanResult:
    """The plan by Benders decomposition: no shadow prices (no single LP holds the rows)."""
    progress.phase("decomposing", why)
    try:
        sol, history = solve_decomposed(
            resolved.inputs, mip_gap=mip_gap, time_limit_s=time_limit_s, scheduler=scheduler,
            workers=workers, progress=progress,
        )  # fmt: skip
    except RuntimeError as exc:
        raise InfeasiblePlan(
            [f"the decomposition of '{resolved.scenario.name}' stopped: {exc}.",
             "solve it as one problem (the monolith method) to see the solver's own answer."]
        ) from None  # fmt: skip
    return PlanResult(
        resolved=resolved,
        solution=sol,
        dual_solution=None,
        duals_from_relaxation=False,
        solver_log=decomposition_log(history),
        method=Method.decompose.value,
        method_note=f"{why}; {bound_note(history)}; no shadow prices (no single LP holds every "
        "row: solve as one problem for them)",
    )


def solve_monolith(
    resolved: ResolvedPlan,
    *,
    backend: Backend = "cvxpy",
    solver: str = "highs",
    mip_gap: float | None = None,
    time_limit_s: float | None = None,
    duals: bool = True,
    progress: ProgressSink = SILENT,
    bases: BasisStore | None = None,
) -> PlanResult:
    """The plan as one problem in either backend, and its LP relaxation for shadow prices
    (`bases`: warm starts of the LP, models/highs_warm.py)."""
    options: dict[str, Any] = {}
    if mip_gap is not None:
        options["mip_gap"] = mip_gap
    if time_limit_s is not None:
        options["time_limit_s"] = time_limit_s
    path = str(resolved.scenario.path)
    check_solver(solver, backend)
    with highs_log(solver) as log:
        options.update(log.options)  # HiGHS appends every solve's log to one file
        what = "LP" if resolved.inputs.relax else "MILP"
        try:
            with watch_highs_log(log.path, progress, what):
                sol = solve(
                    resolved.inputs, backend=backend, solver=solver, options=options, bases=bases
                )
        except InvalidCapacityInputs as exc:
            raise InputError(
                [Problem(path, f"model input {p.field}", p.problem, p.fix) for p in exc.problems]
            ) from None
        if (
            sol.status not in (SolveStatus.optimal, SolveStatus.time_limit)
            or sol.servers_bought.size == 0
        ):
            raise InfeasiblePlan(diagnose(resolved, sol))
        lp = sol
        if not resolved.inputs.relax and duals:
            relaxed = replace(resolved.inputs, relax=True)
            keep = ("time_limit_s", "log_file")
            lp_options = {k: v for k, v in options.items() if k in keep}
            with watch_highs_log(log.path, progress, "LP relaxation (for shadow prices)"):
                lp = solve(relaxed, backend=backend, solver=solver, options=lp_options)
        solver_log = log.text()
    return PlanResult(
        resolved=resolved,
        solution=sol,
        dual_solution=lp if (duals and lp.status == SolveStatus.optimal) else None,
        duals_from_relaxation=not resolved.inputs.relax,
        solver_log=solver_log,
    )


def diagnose(resolved: ResolvedPlan, sol: CapacitySolution) -> list[str]:
    """Why a plan failed, in domain words (unserved demand is priced, so rules are the suspects)."""
    x, ax = resolved.inputs, resolved.axes
    out = [f"the solver reports '{sol.status}' for scenario '{resolved.scenario.name}'."]
    if np.any(x.domestic_share_min_fraction > 0):
        years = ", ".join(ax.periods[y] for y in np.flatnonzero(x.domestic_share_min_fraction > 0))
        out.append(
            "a minimum domestic share is set (rules.domestic_share): check that enough domestic "
            f"parts may be bought (supply caps, budgets, lead times) in {years}."
        )
    if np.any(np.isfinite(x.budget)):
        out.append("a budget is set (rules.budget_per_year): it may be below a forced purchase.")
    for s in np.flatnonzero(x.dc_existing_mw > x.dc_max_mw):
        out.append(f"site {ax.sites[s]} already holds more IT MW than its it_max.")
    if sol.status == SolveStatus.time_limit:
        out.append(
            "no plan was found within the time limit: raise the time limit, or relax the "
            "purchases to continuous amounts (the LP)."
        )
    if sol.status == SolveStatus.error:
        out.append(
            "the solver stopped without a solution (a numerical error or a crash): "
            "relax the purchases to continuous amounts (the LP) or solve with the other backend; "
            "solver.log in the run folder has its own words."
        )
    return out


class SolveOptions(TypedDict, total=False):
    """`solve_plan`'s options, which `plan_scenario` passes through as they are."""

    backend: Backend
    solver: str
    mip_gap: float | None
    time_limit_s: float | None
    progress: ProgressSink
    method: Method
    scheduler: str | None
    workers: int
    duals: bool
    bases: BasisStore | None


def plan_scenario(
    scenario: Scenario,
    *,
    overlays: Sequence[Path] = (),
    regime: str | None = None,
    relax: bool = False,
    **options: Unpack[SolveOptions],
) -> PlanResult:
    """Resolve a scenario (with `overlays`, under `regime`, `relax`ed to the LP or not) and
    solve it (`options` as for `solve_plan`) in one call."""
    progress = options.get("progress", SILENT)
    progress.phase("resolving", "catalogue, export rules, serving model, sites and demand")
    resolved = resolve(scenario, overlays=overlays, regime=regime, relax=relax)
    return solve_plan(resolved, **options)
