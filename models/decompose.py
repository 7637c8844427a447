"""Independent sites: one LP holding every site, or each site solved apart in parallel processes.

Sites that share no variable and no constraint form a block-diagonal LP whose optimum is the sum of
the blocks' optima: min sum_s f_s(x_s) s.t. x_s in X_s for every s separates into S problems
min f_s(x_s) s.t. x_s in X_s. Simplex time grows faster than linearly with size, so solving the
blocks apart (and two at a time on two cores) is cheaper than the joint LP; `solve_joint` keeps the
monolithic form for checking and benchmarking. Nothing here knows what a site means beyond
`SiteEnergyInputs`: a future block with shared variables (a common budget) must not come here.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

import cvxpy as cp
import pyomo.environ as pyo

from models.common import Backend, SolveStats, SolveStatus
from models.dispatch import solve_site_energy as solve
from models.pyomo_highs import solve_pyomo_model
from models.site_energy import SiteEnergyCosts, SiteEnergyInputs, SiteEnergySolution
from models.solvers import cvxpy_solve_kwargs, map_cvxpy_status, solver_for

Method = Literal["joint", "apart"]


@dataclass(frozen=True)
class SitesSolution:
    """Every site's solution and their summed annual cost.

    `stats` sums the sites' build and solve seconds (work done); `wall_s` is elapsed time;
    `worker_peak_rss_mb` is the largest peak resident memory of a worker process (apart only).
    """

    status: SolveStatus
    objective: float
    stats: SolveStats
    wall_s: float
    method: Method
    sites: tuple[SiteEnergySolution, ...]
    worker_peak_rss_mb: float | None = None


def site_objective(costs: SiteEnergyCosts) -> float:
    """(17) for one site from its cost breakdown: every cost minus export revenue, per year."""
    return (
        costs.solar_capex
        + costs.battery_capex
        + costs.energy
        + costs.demand_charges
        + costs.carbon
        - costs.export_revenue
        + costs.unserved_penalty
        + costs.reserve_penalty
    )


def overall_status(statuses: Sequence[SolveStatus]) -> SolveStatus:
    """Optimal only when every block is; otherwise the first block's failure."""
    return next((s for s in statuses if s is not SolveStatus.optimal), SolveStatus.optimal)


def merge(
    solutions: Sequence[SiteEnergySolution],
    wall_s: float,
    method: Method,
    stats: SolveStats | None = None,
) -> SitesSolution:
    """Blocks' solutions into one: the objective is the sum of the blocks' optima; `stats`
    defaults to the sum of the blocks' seconds and iterations."""
    status = overall_status([s.status for s in solutions])
    return SitesSolution(
        status=status,
        objective=math.fsum(s.objective for s in solutions)
        if status is SolveStatus.optimal
        else math.nan,
        stats=stats
        or SolveStats(
            build_s=sum(s.stats.build_s for s in solutions),
            solve_s=sum(s.stats.solve_s for s in solutions),
            iterations=sum(s.stats.iterations or 0 for s in solutions),
        ),
        wall_s=wall_s,
        method=method,
        sites=tuple(solutions),
    )


# --- apart ---------------------------------------------------------------------------------------


# Below this many time steps in all, starting worker processes costs more than it saves.
PARALLEL_MIN_STEPS = 20_000


def worker_context(backend: Backend) -> multiprocessing.context.BaseContext:
    """Workers forked from a clean server process that has imported the backend once: forking a
    parent whose HiGHS thread pool has run can deadlock the child, and spawning would import
    cvxpy or Pyomo again in every worker."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([f"models.site_energy_{backend}"])
    return ctx


def solve_apart(
    inputs: Sequence[SiteEnergyInputs],
    backend: Backend = "cvxpy",
    solver: str = "highs",
    options: dict[str, Any] | None = None,
    workers: int | None = None,
) -> SitesSolution:
    """Solve each site's LP by itself, `workers` processes at a time.

    By default one worker per core, or none (in this process, one after another) when the sites
    hold fewer than `PARALLEL_MIN_STEPS` time steps in all.
    """
    start = time.perf_counter()
    if workers is None:
        small = sum(x.n_steps for x in inputs) < PARALLEL_MIN_STEPS
        workers = 1 if small else os.cpu_count() or 1
    n_workers = max(1, min(len(inputs), workers))
    one_site = partial(solve, backend=backend, solver=solver, options=dict(options or {}))
    if n_workers == 1:
        return merge([one_site(x) for x in inputs], time.perf_counter() - start, "apart")
    measured = partial(_solve_in_worker, backend=backend, solver=solver, options=options or {})
    with ProcessPoolExecutor(n_workers, mp_context=worker_context(backend)) as pool:
        results = list(pool.map(measured, inputs))
    merged = merge([r[0] for r in results], time.perf_counter() - start, "apart")
    return replace(merged, worker_peak_rss_mb=max(r[1] for r in results))


def _solve_in_worker(
    x: SiteEnergyInputs, backend: Backend, solver: str, options: dict[str, Any]
) -> tuple[SiteEnergySolution, float]:
    """One site's solution and the worker's peak resident memory so far, MB (Linux: KiB)."""
    solution = solve(x, backend=backend, solver=solver, options=dict(options))
    return solution, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- joint ---------------------------------------------------------------------------------------


def build_joint_cvxpy(inputs: Sequence[SiteEnergyInputs]) -> tuple[cp.Problem, list[Any]]:
    """One cvxpy problem: the sum of the sites' annual costs over the union of their constraints.
    Also returns each site's built problem, whose variables and cost terms read the solution."""
    from models import site_energy_cvxpy

    built = [site_energy_cvxpy.build(x) for x in inputs]
    objective = cp.sum([b.problem.objective.expr for b in built])
    constraints = [c for b in built for c in b.problem.constraints]
    return cp.Problem(cp.Minimize(objective), constraints), built


def build_joint_pyomo(inputs: Sequence[SiteEnergyInputs]) -> pyo.ConcreteModel:
    """One Pyomo model with a block `site_<i>` per site and the sum of their annual costs."""
    from models import site_energy_pyomo

    m = pyo.ConcreteModel(name="sites")
    blocks = []
    for i, x in enumerate(inputs):
        block = site_energy_pyomo.build(x)
        block.annual_cost.deactivate()
        m.add_component(f"site_{i}", block)
        blocks.append(block)
    m.annual_cost = pyo.Objective(expr=sum(b.annual_cost.expr for b in blocks))
    return m


def build_joint(inputs: Sequence[SiteEnergyInputs], backend: Backend) -> cp.Problem | Any:
    """The joint LP of every site in the backend's own form (for MPS files and benchmarks)."""
    match backend:
        case "cvxpy":
            return build_joint_cvxpy(inputs)[0]
        case "pyomo":
            return build_joint_pyomo(inputs)
        case _:
            raise ValueError(f"unknown backend {backend!r}; use 'cvxpy' or 'pyomo'")


def solve_joint(
    inputs: Sequence[SiteEnergyInputs],
    backend: Backend = "cvxpy",
    solver: str = "highs",
    options: dict[str, Any] | None = None,
) -> SitesSolution:
    """Solve every site in one LP (the monolithic reference the apart solve must equal)."""
    start = time.perf_counter()
    match backend:
        case "cvxpy":
            solutions, stats = _solve_joint_cvxpy(inputs, solver, options or {})
        case "pyomo":
            solutions, stats = _solve_joint_pyomo(inputs, solver, options or {})
        case _:
            raise ValueError(f"unknown backend {backend!r}; use 'cvxpy' or 'pyomo'")
    return merge(solutions, time.perf_counter() - start, "joint", stats)


def _split_stats(stats: SolveStats, n: int) -> SolveStats:
    """A joint solve's seconds shared evenly among its n blocks (each site's own share)."""
    return SolveStats(build_s=stats.build_s / n, solve_s=stats.solve_s / n)


def _solve_joint_cvxpy(
    inputs: Sequence[SiteEnergyInputs], solver: str, options: dict[str, Any]
) -> tuple[list[SiteEnergySolution], SolveStats]:
    from models import site_energy_cvxpy

    start = time.perf_counter()
    problem, built = build_joint_cvxpy(inputs)
    problem.solve(**cvxpy_solve_kwargs(solver_for(solver, "cvxpy"), options, integer=False))
    total = time.perf_counter() - start
    solver_s = problem.solver_stats.solve_time or 0.0
    joint = SolveStats(total - solver_s, solver_s, problem.solver_stats.num_iters)
    stats = _split_stats(joint, len(inputs))
    status = map_cvxpy_status(problem.status)
    if status is not SolveStatus.optimal:
        failed = SiteEnergySolution(status, math.nan, stats, "cvxpy", solver)
        return [failed for _ in inputs], joint
    solutions = [
        site_energy_cvxpy.read_solution(replace(b, problem=problem), x, stats, solver)
        for b, x in zip(built, inputs, strict=True)
    ]
    # read_solution takes the joint problem's value: each site gets its own from its costs
    return [replace(s, objective=site_objective(s.costs)) for s in solutions if s.costs], joint


def _solve_joint_pyomo(
    inputs: Sequence[SiteEnergyInputs], solver: str, options: dict[str, Any]
) -> tuple[list[SiteEnergySolution], SolveStats]:
    from models import site_energy_pyomo

    start = time.perf_counter()
    m = build_joint_pyomo(inputs)
    build_s = time.perf_counter() - start
    chosen = solver_for(solver, "pyomo")
    raw = solve_pyomo_model(m, chosen, options)
    joint = SolveStats(build_s + raw.translate_s, raw.solve_s, raw.iterations)
    stats = _split_stats(joint, len(inputs))
    if raw.status is not SolveStatus.optimal:
        failed = SiteEnergySolution(raw.status, math.nan, stats, "pyomo", solver)
        return [failed for _ in inputs], joint
    solutions = []
    for i, x in enumerate(inputs):
        block = m.component(f"site_{i}")
        block.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)  # the block's share of the duals
        for con in block.power_balance.values():
            block.dual[con] = m.dual.get(con, math.nan)
        solutions.append(site_energy_pyomo.read_solution(block, x, stats, solver))
    return solutions, joint
