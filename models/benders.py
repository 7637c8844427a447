"""Benders decomposition of the capacity plan: investments in a master (MILP, or LP when relaxed),
each period's hourly operation on groups of representative days in LP subproblems that return
optimality cuts, solved in parallel (models/benders_runner.py: local processes or any Dask
cluster).

The plan's objective (17) splits as first-stage cost c'x (capex less resale and subsidy credits
of purchases, demand charges on billing peaks) plus sum_k V_k(q_k(x)), V_k the discounted
operating cost of subproblem k at the in-service quantities q_k of its period. The master
minimises c'x + sum_k theta_k subject to the investment rows and the cuts; its optimum is a
lower bound, c'x + sum_k V_k at any slack-free point an upper bound (docs/capacity_model.md,
"Decomposition").

Convergence: multi-cut (one theta per subproblem); in-out stabilisation in the LP phase (cuts
are separated at lambda x^ + (1 - lambda) x_core, and at the master's own point x^ (on a thread
beside the next master solve), the deepest cut at x^ kept per block and the core moving to each
better point; lambda = 1 once the bound stalls; cuts slack for `retire_cuts_after` rounds leave
the master for a pool, models/benders_cuts.py); then the MILP master on the accumulated cuts,
plain Benders, until the gap between the best slack-free plan and the master's bound is within
`mip_gap`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from models.benders_assemble import assemble
from models.benders_dual_bound import highs_dual_bound
from models.benders_inputs import Block, blocks
from models.benders_master import TIME_LIMIT, Master
from models.benders_relaxation import busiest_blocks
from models.benders_rounding import repair
from models.benders_separation import Lookahead, Runner, add_cuts, evaluate, separate
from models.benders_sub import Subproblem
from models.benders_trim import PlanTrim, Trimmer
from models.benders_whole import hold_whole
from models.capacity import CapacityInputs, CapacitySolution

OK = {highspy.HighsModelStatus.kOptimal}
MIP_STOPPED = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kSolutionLimit,
    highspy.HighsModelStatus.kInterrupt,
}


@dataclass(frozen=True)
class BendersOptions:
    """How the decomposition runs; gaps are relative to the best plan's cost."""

    mip_gap: float = 0.01
    time_limit_s: float = math.inf
    max_iterations: int = 300
    days_per_block: int = 1
    stabilisation: float = 0.5  # lambda of the in-out separation point (1 = none)
    stall_iterations: int = 5  # LP iterations without a better bound before lambda = 1
    serving_relaxation: bool = True  # theta_k bounded by its block's serving (benders_relaxation)
    core_demand_factor: float = 1.2  # the first in-out core serves this x the demand (1 = none)
    whole_blocks: str = "none"  # blocks written whole into the master: none, busiest, all
    retire_cuts_after: int = 3  # rounds slack before a cut leaves the LP master (0 = never)
    extra_lambdas: tuple[float, ...] = (1.0,)  # more separation points; 1 = x^ itself
    overlap: bool = True  # the extra points' passes run while the master solves the next round
    trim_plans: bool = True  # LP plans trimmed to their operation's use (models/benders_trim)
    highs_options: dict[str, Any] = field(default_factory=dict)
    on_iteration: Callable[[Iteration], None] | None = None  # told after every round


@dataclass(frozen=True)
class Iteration:
    """One round: the master's bound, the best plan so far, what was solved."""

    phase: str  # "lp" or "milp"
    lower_bound: float
    upper_bound: float
    master_s: float
    subproblems_s: float
    cuts: int
    slack_free: bool


@dataclass(frozen=True)
class BendersResult:
    """The decomposition's answer: the plan (first stage and operation), bounds and history."""

    solution: CapacitySolution
    lower_bound: float
    upper_bound: float
    iterations: list[Iteration]
    blocks: int
    wall_s: float
    # the bound is certified: a vertex's (simplex or MILP master, or checked at one) or the
    # weak-duality bound of the interior point's row prices (models/benders_dual_bound.py);
    # False: an interior point's objective, accurate to its tolerances only
    bound_certified: bool = True

    @property
    def gap(self) -> float:
        """(best plan - bound) / |best plan|."""
        if not math.isfinite(self.upper_bound):
            return math.inf
        return (self.upper_bound - self.lower_bound) / max(abs(self.upper_bound), 1e-12)


def relative_gap(lower: float, upper: float) -> float:
    """(upper - lower) / |upper|, infinite without a plan."""
    return (upper - lower) / max(abs(upper), 1e-12) if math.isfinite(upper) else math.inf


@dataclass
class _State:
    """What the loop carries between rounds."""

    lower: float = -math.inf
    upper: float = math.inf
    best: np.ndarray | None = None
    core: np.ndarray | None = None
    history: list[Iteration] = field(default_factory=list)
    certified: bool = True  # `lower` is certified (`BendersResult.bound_certified`)
    priced: tuple[float, np.ndarray | None] = (math.inf, None)  # the best plan a pass priced
    trimmed: bool = False  # `best` is a trimmed plan, counted but not priced (benders_trim)

    def take_trimmed(self, total: float, at: np.ndarray) -> None:
        """A trimmed plan and its count (models/benders_trim.PlanTrim): best if cheaper."""
        if total < self.upper:
            self.upper, self.best, self.trimmed = total, at, True

    def raise_bound(self, bound: float, certified: bool) -> None:
        """A master's optimum (or MILP bound) raises the plan's bound if it is higher."""
        if bound > self.lower:
            self.lower, self.certified = bound, certified

    def record(self, iteration: Iteration, opts: BendersOptions) -> None:
        """Keep one round's figures and tell the caller, if it asked to be told."""
        self.history.append(iteration)
        if opts.on_iteration is not None:
            opts.on_iteration(iteration)


def lp_phase(
    master: Master, runner: Runner, opts: BendersOptions, state: _State, deadline: float,
    target_gap: float, count_plans: bool, *, phase: str = "lp", lp_upper: float = math.inf,
) -> None:  # fmt: skip
    """Benders on the LP master with in-out stabilisation until the LP gap is `target_gap`.

    In the "fixed" phase the integer columns are held at rounded values, so the master's
    optimum is no bound on the plan (state.lower is left alone) but every slack-free point
    is an integer plan."""
    master.relax_integers(True)
    lam, stalled, lp_lower = opts.stabilisation, 0, -math.inf
    ahead = Lookahead() if opts.overlap and opts.extra_lambdas else None
    trim = plan_trim(master, state) if opts.trim_plans and phase == "lp" else None
    values = None
    try:
        while len(state.history) < opts.max_iterations and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            retire_cuts(master, values, opts.retire_cuts_after)
            master.limit_time(deadline - t0)
            status, values, objective, _ = master.solve()
            master.limit_time(math.inf)
            if status == TIME_LIMIT:
                break  # the run's time is up: the bound and plan stay the last round's
            if status not in OK:
                raise RuntimeError(f"the LP master ended {status}")
            certified = master_bound(master, objective)  # before any cut changes the master
            t1 = time.perf_counter()
            found = ahead.collect(master) if ahead is not None else (math.inf, None)
            lp_upper = take_plan(state, *found, lp_upper, count_plans)
            stalled = 0 if objective > lp_lower + 1e-9 * max(1.0, abs(objective)) else stalled + 1
            lp_lower = max(lp_lower, objective)
            if phase == "lp":
                state.raise_bound(*certified)
            if stalled >= opts.stall_iterations:
                lam = 1.0
            core = values if state.core is None else state.core
            lams = [lam, *opts.extra_lambdas] if lam < 1.0 else [lam]
            points = [a * values + (1 - a) * core for a in lams]
            total, at = separate_round(master, runner, values, points, ahead, trim)
            lp_upper = take_plan(state, total, at, lp_upper, count_plans)
            lp_upper, upper = round_upper(
                master, runner, state, (ahead, trim), lp_upper, (certified[0], target_gap)
            )
            if state.core is None:
                state.core = values
            plan = math.isfinite(min(total, found[0]))
            round_s = time.perf_counter() - t1
            state.record(
                Iteration(phase, state.lower, upper, t1 - t0, round_s, master.n_cuts, plan),
                opts,
            )
            check_s = max(EXHAUSTED_VERTEX_S, deadline - time.perf_counter())
            if converged(master, state, phase, (certified, objective), upper, target_gap, check_s):
                return
    finally:
        if ahead is not None:
            take_plan(state, *ahead.collect(master), lp_upper, count_plans)
            ahead.close()
    if not state.certified:
        certify_bound(master, state, phase, EXHAUSTED_VERTEX_S)


def plan_trim(master: Master, state: _State) -> PlanTrim | None:
    """Trimming of LP plans to their operation's use, its plans told to `state` (None for an
    integer plan: a trim moves purchases off whole servers)."""
    if not master.x.relax:
        return None
    years = [b.year for b in master.blocks]
    trimmer = Trimmer(master.highs.getLp(), master.index.theta, master.index.fleet)
    return PlanTrim(trimmer, years, master.cost, state.take_trimmed)


def confirm_trimmed(master: Master, runner: Runner, state: _State) -> None:
    """The best plan, trimmed and counted without a pass, priced once before it is assembled:
    should it need slack after all (the solvers' tolerances), the best plan a pass priced
    stands in for it."""
    assert state.best is not None
    _, total, slack_free = evaluate(master, runner, state.best)
    own = (total, state.best) if slack_free else state.priced
    state.upper, state.best = min(own, state.priced, key=lambda plan: plan[0])
    state.trimmed = False


def round_upper(
    master: Master, runner: Runner, state: _State,
    passes: tuple[Lookahead | None, PlanTrim | None], lp_upper: float,
    closing: tuple[float, float],
) -> tuple[float, float]:  # fmt: skip
    """The phase's best priced plan and the round's upper bound: that plan, or with a trim
    (`passes` = (lookahead, trim)) a counted trimmed plan where cheaper. A count that would
    close the gap (`closing` = (bound, target gap)) is priced first (`confirm_trimmed`, the
    lookahead's pass collected before, the runner being its thread's until then), so the loop
    stops on a plan a pass has priced, and a count that was no plan (a national run of stop
    46's code: 1.21 % reported where the count had said 0.98 %) lets it go on."""
    ahead, trim = passes
    if trim is None:
        return lp_upper, lp_upper
    upper = min(lp_upper, state.upper)
    if not (state.trimmed and relative_gap(closing[0], upper) <= closing[1]):
        return lp_upper, upper
    if ahead is not None:
        lp_upper = take_plan(state, *ahead.collect(master), lp_upper, True)  # trims: LP plans
    confirm_trimmed(master, runner, state)
    return lp_upper, min(lp_upper, state.upper)


def master_bound(master: Master, objective: float) -> tuple[float, bool]:
    """The LP master's bound this round and whether it is certified: a vertex's objective, or,
    after an interior point, the weak-duality bound of its row prices (0.17 s on p20y10s10's
    master, 1.2 s on the national one, where a vertex took 8 s and 135 s), else its objective,
    uncertified (-inf never: the objective stands when the prices give no finite bound)."""
    if not master.interior:
        return objective, True
    bound = highs_dual_bound(master.highs)
    return (bound, True) if math.isfinite(bound) else (objective, False)


def retire_cuts(master: Master, last: np.ndarray | None, rounds: int) -> None:
    """Before a round's master solve, the cuts slack at the last round's point for `rounds`
    rounds running leave the master, and pooled cuts that point violates come back
    (models/benders_cuts.py). Done here, not after the solve, so the master a convergence check
    certifies holds every cut the solve that claimed convergence had (retired after that solve,
    they left p20y10s10's check a bound below the interior point's)."""
    if rounds and last is not None:
        master.retire_slack_cuts(last, rounds)


def separate_round(
    master: Master, runner: Runner, values: np.ndarray, points: list[np.ndarray],
    ahead: Lookahead | None, trim: PlanTrim | None = None,
) -> tuple[float, np.ndarray]:  # fmt: skip
    """The round's separation: every point now, the deepest cut per block kept; or, with a
    lookahead, the first point now and the rest on its thread while the master solves again.
    With `trim`, each pass's cheapest plan is trimmed to its operation's use and counted
    without a pass (models/benders_trim.py). Returns the cheapest plan found now (inf if none)
    and its point."""
    first = points if ahead is None or len(points) == 1 else points[:1]
    total, at, found = separate(master, runner, values, first)
    if trim is not None:
        trim(found, total, at)
    if ahead is not None and len(points) > 1:
        ahead.start(master, runner, points[1:], values, found, trim)
    return total, at


def take_plan(
    state: _State, total: float, at: np.ndarray | None, lp_upper: float, count_plans: bool
) -> float:
    """A plan found at `at` costing `total`: the core moves to it if it is the phase's cheapest
    (and it is the best plan if plans count in this phase). Returns the phase's best cost."""
    if at is None or not total < lp_upper:
        return lp_upper
    state.core = at
    if count_plans and total < state.priced[0]:
        state.priced = (total, at)
    if count_plans and total < state.upper:
        state.upper, state.best, state.trimmed = total, at, False
    return total


def converged(
    master: Master, state: _State, phase: str,
    claim: tuple[tuple[float, bool], float], upper: float, target_gap: float, check_s: float,
) -> bool:  # fmt: skip
    """Whether the LP master is within `target_gap` of `upper` by a certified bound. `claim` is
    (`master_bound`: value, certified; the master's objective). Where neither a certified value
    closes the gap nor the objective would, no; where the objective closes it but its bound
    does not (an uncertified interior-point objective, or row prices whose repair lost more
    than the gap: flexible_connection after the serving refit of docs/serving.md item 29, a
    bound 1.2 % under an objective at the optimum, round after round to the round limit), the
    master is checked at a vertex (`certify_bound`), within `check_s` (the run's time left, or
    EXHAUSTED_VERTEX_S if more: on the national master with 7,646 cuts an unlimited check was
    still running 18 minutes past the run's limit)."""
    (value, certified), objective = claim
    if certified and relative_gap(value, upper) <= target_gap:
        return True
    if relative_gap(max(value, objective), upper) > target_gap:
        return False
    checked = certify_bound(master, state, phase, check_s)
    if relative_gap(checked, upper) <= target_gap:
        return True
    if math.isfinite(checked):  # the vertex shows the gap open: its vertices separate better
        master.use_interior_point(False)
    return False  # a check that did not finish stays on the interior point (national: 906 s a
    # simplex master); one that ended HiGHS "unknown" (p20y10s10) is tried again next round


EXHAUSTED_VERTEX_S = 60.0  # a stopped LP phase checks its bound at a vertex this long at most


def certify_bound(
    master: Master, state: _State, phase: str, time_limit_s: float = math.inf
) -> float:
    """The LP master's optimum to a vertex, the bound it reports when the master was solved by
    interior point: without crossover its objective is the optimum only to its tolerances, which
    a master whose cuts span 1 to 1e11 stretches past any gap (flexible_connection: 0.1% above
    the plan's true optimum). The simplex, to a vertex (10 s on p20y10s10's last master, where
    crossover from the interior point took 231 s); its optimum replaces every bound before it
    (the master holds every cut the solve that claimed convergence had: cuts retire only before
    a solve). Returns the certified bound (-inf if it failed or ran past
    `time_limit_s`, the bound then staying the interior point's; the state's bound when the
    master was already solved to a vertex). A phase stopped by its time or round limit gives the
    check EXHAUSTED_VERTEX_S: on the national master (28,000 rows) a vertex took over 3 minutes."""
    if not master.interior:
        return state.lower
    if master.last_solve_s >= time_limit_s:  # the check repeats that interior point from scratch:
        return -math.inf  # it cannot finish (national: 135 s with crossover against 60 s given)
    status, objective = master.solve_to_vertex(time_limit_s)
    if status not in OK:
        return -math.inf
    if phase == "lp" and (objective > state.lower or not state.certified):
        # a master with cuts retired since an earlier certified bound may sit lower: keep that
        state.lower, state.certified = objective, True
    return objective


def roomy_core(
    master: Master, runner: Runner, opts: BendersOptions, state: _State, count_plans: bool
) -> float:
    """The first in-out core: the master's plan for `core_demand_factor` x the demand, which
    leaves the fleet room for what the serving relaxation cannot see (hours between its peak
    steps, sites it pools), so it is usually a plan without lost load and a better centre
    than the first, tight master point. Its cuts are kept; returns its cost if it is a plan."""
    if opts.core_demand_factor <= 1.0 or master.demand_rows.size == 0:
        return math.inf
    t0 = time.perf_counter()
    master.scale_demand(opts.core_demand_factor)
    try:
        status, values, _, _ = master.solve()
    finally:
        master.scale_demand(1.0)
    if status not in OK:
        return math.inf
    t1 = time.perf_counter()
    results, total, slack_free = evaluate(master, runner, values)
    add_cuts(master, results, values)
    if slack_free:
        state.core = values
        if count_plans and total < state.upper:
            state.upper, state.best, state.priced = total, values, (total, values)
    upper = total if slack_free else math.inf
    state.record(
        Iteration(
            "core", state.lower, upper, t1 - t0, time.perf_counter() - t1, master.n_cuts, slack_free
        ),
        opts,
    )
    return upper


def integer_phases(
    master: Master, runner: Runner, opts: BendersOptions, state: _State, deadline: float
) -> None:
    """Integer plans against the LP phase's bound: the LP master's purchases rounded (to the
    nearest, then up; repaired on the rows of whole servers, models/benders_rounding.py) and
    held while Benders re-optimises the rest; the MILP master on the accumulated cuts only if
    neither rounding reaches the gap.

    Purchases count servers by the hundred or thousand in a national plan, so a rounded LP
    plan is nearly always within the gap of the LP bound; where a rounding cannot fit (flagship
    1: a host CPU server rounded up breaks an IT MW cap the LP fills), the MILP master settles
    which server gives way. Each rounding's plan is re-optimised to a quarter of the gap; one
    that ends short of that leaves the other rounding its try, the cheaper plan kept (flagship 1
    after docs/serving.md item 29: rounded to the nearest, 0.79 % with 6.6e6 video-seconds
    unserved at their penalty; rounded up, 0.46 %, a cheaper plan with 5.2e6 still unserved)."""
    master.use_interior_point(False)  # the purchases are rounded: a vertex rounds far better
    _, lp_values, _, _ = master.solve()
    mask = master_integer_mask(master)
    for rounding in (np.round, np.ceil):
        if relative_gap(state.lower, state.upper) <= opts.mip_gap / 4:
            return
        if time.perf_counter() >= deadline:
            return
        relaxed = lp_values[mask]
        rounded = rounding(relaxed - 1e-9 if rounding is np.ceil else relaxed)
        fixed = repair(rounded, relaxed, master.whole_rows, master.integer_bounds)
        master.fix_integers(fixed)
        state.core = None
        try:
            lp_phase(master, runner, opts, state, deadline, opts.mip_gap / 4, True, phase="fixed")
        except RuntimeError:
            pass  # a rounding the master cannot complete (e.g. no grid option chosen)
        finally:
            master.fix_integers(None)
    if relative_gap(state.lower, state.upper) > opts.mip_gap and time.perf_counter() < deadline:
        try:
            milp_phase(master, runner, opts, state, deadline)
        except RuntimeError:
            if state.best is None:
                raise


def to_milp(master: Master, mip_rel_gap: float) -> None:
    """Turn the LP master into the MILP master on the cuts binding at the LP optimum (found by
    solving the LP again: the last solve may be a rounding's, where other cuts bind)."""
    master.relax_integers(True)
    master.fix_integers(None)
    master.solve()
    master.drop_slack_cuts()
    master.relax_integers(False)
    master.highs.setOptionValue("mip_rel_gap", mip_rel_gap)
    # HiGHS's MILP presolve returned a wrong optimum on masters whose cuts span 1 to 1e13 (lost
    # tokens priced per part against capex): tests/test_benders.py keeps the case
    master.highs.setOptionValue("presolve", "off")
    # a cut's row holds ~1e10 CNY: its last bit (~1e-5) failed HiGHS's absolute feasibility check
    # (1e-6) and an optimal MILP master ended kSolveError; 1e-4 CNY is exact for a plan's cost
    master.highs.setOptionValue("mip_feasibility_tolerance", 1e-4)


def milp_phase(
    master: Master, runner: Runner, opts: BendersOptions, state: _State, deadline: float
) -> None:
    """Plain Benders on the MILP master until the gap to the best plan is within `mip_gap`."""
    to_milp(master, opts.mip_gap / 4)
    while len(state.history) < opts.max_iterations and time.perf_counter() < deadline:
        t0 = time.perf_counter()
        master.limit_time(max(1.0, deadline - t0))
        status, values, _objective, bound = master.solve()
        if status not in OK | MIP_STOPPED or not np.isfinite(values).all():
            raise RuntimeError(f"the MILP master ended {status}")
        t1 = time.perf_counter()
        state.raise_bound(bound, True)
        point = np.where(master_integer_mask(master), np.round(values), values)
        results, total, slack_free = evaluate(master, runner, point)
        add_cuts(master, results, point)
        if slack_free and total < state.upper:
            state.upper, state.best = total, point
            master.highs.setSolution(highspy.HighsSolution())  # the next start is found anew
        state.record(
            Iteration(
                "milp",
                state.lower,
                state.upper,
                t1 - t0,
                time.perf_counter() - t1,
                master.n_cuts,
                slack_free,
            ),
            opts,
        )
        if relative_gap(state.lower, state.upper) <= opts.mip_gap or status in MIP_STOPPED:
            return


def whole_block_indices(x: CapacityInputs, parts: list[Block], which: str) -> list[int]:
    """The blocks the master holds whole: none; each period's busiest (partial Benders: the
    block whose peak most shapes the fleet); or all (the monolith, solved in one round)."""
    match which:
        case "none":
            return []
        case "busiest":
            return sorted(busiest_blocks(x, parts))
        case "all":
            return list(range(len(parts)))
    raise ValueError(f"whole_blocks must be none, busiest or all, not {which!r}")


def master_integer_mask(master: Master) -> np.ndarray:
    """(columns,) True for the master's integer columns (rounded before evaluation)."""
    mask = np.zeros(master.n_cols, dtype=bool)
    mask[: master.integer.shape[0]] = master.integer
    return mask


def solve_benders(
    x: CapacityInputs,
    runner_factory: Callable[[CapacityInputs, list[Block], dict[str, Any]], Runner],
    opts: BendersOptions | None = None,
) -> BendersResult:
    """Decompose, iterate to the gap, and assemble the plan's arrays from the subproblems."""
    opts = opts or BendersOptions()
    start = time.perf_counter()
    deadline = start + opts.time_limit_s
    parts = blocks(x, opts.days_per_block)
    master = Master(x, parts, {"threads": 1, **opts.highs_options}, opts.serving_relaxation)
    for k in whole_block_indices(x, parts, opts.whole_blocks):
        hold_whole(master, k, Subproblem(x, parts[k], {"threads": 1, **opts.highs_options}))
    runner = runner_factory(x, parts, {"threads": 1, **opts.highs_options})
    state = _State()
    try:
        lp_gap = opts.mip_gap if x.relax else opts.mip_gap / 4
        master.use_interior_point(x.relax)  # a MILP's rounding wants the simplex's vertices
        core = roomy_core(master, runner, opts, state, count_plans=x.relax)
        lp_phase(master, runner, opts, state, deadline, lp_gap, x.relax, lp_upper=core)
        if not x.relax:
            integer_phases(master, runner, opts, state, deadline)
        if state.trimmed:
            confirm_trimmed(master, runner, state)
        if state.best is None:
            raise RuntimeError("no plan without lost load was found within the limits")
        solution = assemble(x, master, runner, state.best, time.perf_counter() - start)
    finally:
        runner.close()
    return BendersResult(
        solution, state.lower, state.upper, state.history, len(parts),
        time.perf_counter() - start, state.certified,
    )  # fmt: skip
