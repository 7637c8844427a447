"""One Benders subproblem of the capacity plan: a period's hourly operation on some representative
days with the fleet fixed, built once by the capacity model's Pyomo families and re-solved warm
by HiGHS at every master point (models/benders.py).

The fleet enters as the subproblem's own purchase and build columns, fixed by their bounds at
the master's in-service quantities (models/benders_inputs.py); their reduced costs are the
derivative of the operating cost with respect to each quantity. The optimal value V(q) of an LP
is convex in the bounds q, so V(q) >= V(q^) + g'(q - q^) with g those reduced costs: the
optimality cut the master receives.

**Elastic rows.** A master point may hold parts whose standing power (idle and host watts,
eq. 9) the site cannot carry: more than its IT MW (eq. 10), or more than its grid, solar and
battery can supply (docs/model.md eq. 1). Each power balance and IT capacity row therefore gets
two slack columns (MW, either sign) priced at `LOST_LOAD_FACTOR` times the most a MWh can be
worth to the plan, so the subproblem always solves and its cut steers the master away. The
penalised value is never above the true one, so every cut stays valid; a point counts as a
plan (an upper bound) only when no slack is used.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from models.benders_inputs import Block, subproblem_inputs
from models.benders_trim import LeastUse
from models.capacity import (
    MW_PER_W,
    SECONDS_PER_HOUR,
    CapacityInputs,
    CapacitySolution,
    unserved_penalty_per_unit_s_step,
)
from models.capacity_pyomo import build
from models.common import SolveStats, SolveStatus
from models.mps import highs_lp, lp_from_pyomo
from models.solvers import map_highs_status

LOST_LOAD_FACTOR = 10.0  # slack MWh priced at 10x the most a MWh can earn or save the plan
ELASTIC_ROWS = frozenset({"power_balance", "it_capacity_limit"})
SLACK_FREE_MW = 1e-6  # slack below this (MW, summed over a subproblem) counts as none
# The plan's operation is read from a solve without simplex scaling, warm from the basis: HiGHS
# holds its tolerances (1e-7) on the scaled rows, and with them flexible_connection's assembled
# plan ran 0.0012 of 851 installed parts busier than installed (1.4e-6 of them, beyond the
# checker's 1e-6; rows of 5e6 tokens/s beside rows of parts). Unscaled, every row held to 4e-9.
UNSCALED = {"simplex_scale_strategy": 0}
# A subproblem that does not end optimal is solved again cold: without presolve, then by
# interior point with crossover (a HiGHS "solve error" on the national case, round 13)
RETRIES: tuple[dict[str, Any], ...] = ({"presolve": "off"}, {"solver": "ipm"})
RETRY_DEFAULTS: dict[str, Any] = {"presolve": "choose", "solver": "choose"}


@dataclass(frozen=True)
class Fleet:
    """First-stage quantities of one plan period (what a subproblem fixes), or their derivatives.

    parts (P, S) installed; it_capacity_mw, solar_mw, battery_mwh, battery_mw (S,) in service;
    peak_import_mw (S, B) each billing period's peak; domestic_only (S,) the subsidy choice;
    grid_option (S, O) the connection chosen; cpu_servers (C, S) installed.
    """

    parts: np.ndarray
    it_capacity_mw: np.ndarray
    solar_mw: np.ndarray
    battery_mwh: np.ndarray
    battery_mw: np.ndarray
    peak_import_mw: np.ndarray
    domestic_only: np.ndarray
    grid_option: np.ndarray
    cpu_servers: np.ndarray


FLEET_FIELDS = tuple(Fleet.__dataclass_fields__)


@dataclass(frozen=True)
class SubResult:
    """A subproblem solved at one master point: V(q), dV/dq, and whether slack was needed."""

    value: float
    gradient: Fleet
    slack_mw: float
    seconds: float
    iterations: int
    status: SolveStatus = SolveStatus.optimal
    kind: str = "optimality"  # or "feasibility": value is the lost load F(q), MW
    # the least trimmable fleet quantities the solution's operation needs (models/benders_trim)
    needed: dict[str, np.ndarray] | None = None
    excess_cost: float = 0.0  # of the value: imports above the master's peaks, at their charge


@dataclass
class Columns:
    """Where each fixed quantity sits among the compiled columns (-1: no column)."""

    index: dict[str, np.ndarray] = field(default_factory=dict)
    scale: dict[str, np.ndarray] = field(default_factory=dict)  # column value = quantity x scale


def lost_load_value_per_mwh(x: CapacityInputs) -> float:
    """The most one MWh can be worth to the plan, currency per MWh (undiscounted, per year):
    the unserved penalty of the tokens (or video seconds) the most efficient busy part serves
    with it, or the dearest energy and carbon price, whichever is larger."""
    rate = np.asarray(x.tokens_per_s_per_part, dtype=float)
    per_unit_s_step = unserved_penalty_per_unit_s_step(x)  # (W, T): penalty x w_t x 3,600
    weight = float(x.weight_h.max())
    per_unit = per_unit_s_step[:, int(np.argmax(x.weight_h))] / (weight * SECONDS_PER_HOUR)
    mwh_per_busy_h = np.maximum(x.active_w, 1e-9) * MW_PER_W  # (P,) one busy part for an hour
    per_mwh = per_unit[:, None] * rate * SECONDS_PER_HOUR / mwh_per_busy_h[None, :]
    energy = float(np.max(x.price_per_mwh, initial=0.0))
    carbon = float(np.max(x.emission_t_per_mwh, initial=0.0)) * float(
        np.max(x.carbon_price_per_t, initial=0.0)
    )
    return max(float(np.max(per_mwh, initial=0.0)), energy + carbon, 1.0)


def fixed_columns(m: pyo.ConcreteModel, form: Any, x: CapacityInputs) -> Columns:
    """Column indices of the subproblem's purchase and build columns, shaped as a Fleet."""
    where = {id(v): i for i, v in enumerate(form.columns)}
    _n_w, n_p, n_s, _n_y, _n_t = x.shape
    n_b = x.billing_period_months.shape[0]

    def grid(var: Any, keys: list[Any], shape: tuple[int, ...]) -> np.ndarray:
        return np.array([where.get(id(var[k]), -1) for k in keys], dtype=int).reshape(shape)

    per_server = np.asarray(x.parts_per_server, dtype=float)
    cols = Columns()
    ps = [(p, s, 0) for p in range(n_p) for s in range(n_s)]
    cols.index["parts"] = grid(m.servers, ps, (n_p, n_s))
    cols.scale["parts"] = np.broadcast_to(1.0 / per_server[:, None], (n_p, n_s))
    for name, var in (
        ("it_capacity_mw", m.dc_built_mw),
        ("solar_mw", m.solar_built_mw),
        ("battery_mwh", m.battery_built_mwh),
        ("battery_mw", m.battery_built_mw),
    ):
        cols.index[name] = grid(var, [(s, 0) for s in range(n_s)], (n_s,))
    peaks = [
        where.get(id(m.site[s, 0].peak_import_mw[b]), -1) for s in range(n_s) for b in range(n_b)
    ]
    cols.index["peak_import_mw"] = np.array(peaks, dtype=int).reshape(n_s, n_b)
    chosen = {s: where.get(id(m.domestic_only[s, y]), -1) for s, y in m.C}
    cols.index["domestic_only"] = np.array([chosen.get(s, -1) for s in range(n_s)], dtype=int)
    n_o = 0 if x.grid_option_offered is None else np.shape(x.grid_option_offered)[1]
    options = np.full((n_s, n_o), -1, dtype=int)
    for s, o in m.GO:
        options[s, o] = where.get(id(m.grid_option[s, o]), -1)
    cols.index["grid_option"] = options
    if x.cpu is None:
        cols.index["cpu_servers"] = np.full((0, n_s), -1, dtype=int)
    else:
        n_c = x.cpu.cores_per_server.shape[0]
        keys = [(c, s, 0) for c in range(n_c) for s in range(n_s)]
        cols.index["cpu_servers"] = grid(m.cpu_servers, keys, (n_c, n_s))
    for name in FLEET_FIELDS:
        cols.scale.setdefault(name, np.ones(cols.index[name].shape))
    return cols


@dataclass(frozen=True)
class RowLabel:
    """A compiled row's constraint: its family's name, its index, and its block's index (the
    site, for rows in a site's energy block; None for top-level rows)."""

    name: str
    index: Any
    block_index: Any


# reads a block's operation off its LP's column values (None: read it through Pyomo instead)
Reader = Callable[[np.ndarray, CapacityInputs, SolveStats], "CapacitySolution | None"]


@dataclass(frozen=True)
class Compiled:
    """A subproblem's LP as Pyomo's compiler gives it (no slack columns yet), the label of each
    row, where each fleet quantity sits among its columns, and how to read its operation back
    other than by building its Pyomo model again (a stamped day's template, if any)."""

    lp: highspy.HighsLp
    rows: tuple[RowLabel, ...]
    columns: Columns
    reader: Reader | None = None


def row_labels(form: Any) -> tuple[RowLabel, ...]:
    """Each compiled row's label (what the slack and peak columns below need of the model)."""
    return tuple(
        RowLabel(con.parent_component().local_name, con.index(), con.parent_block().index())
        for con, _ in form.rows
    )


def compile_block(x: CapacityInputs) -> Compiled:
    """A subproblem's inputs built by the capacity model's Pyomo families and compiled."""
    model = build(x)
    lp, form = lp_from_pyomo(model)
    return Compiled(lp, row_labels(form), fixed_columns(model, form, x))


def elastic_columns(
    rows: tuple[RowLabel, ...], x: CapacityInputs
) -> tuple[sp.csc_matrix, np.ndarray]:
    """Two slack columns (+1, -1) on every power balance and IT capacity row, and their cost:
    the lost-load value x the step's hours x the period's discounted years, per MW."""
    at, costs = [], []
    per_mwh = (
        LOST_LOAD_FACTOR
        * lost_load_value_per_mwh(x)
        * float(x.discount_fraction[0] * x.duration_years[0])
    )
    for i, row in enumerate(rows):
        if row.name in ELASTIC_ROWS:
            step = row.index if row.name == "power_balance" else row.index[2]
            at.append(i)
            costs.append(per_mwh * max(float(x.weight_h[step]), 1e-3))
    n = len(at)
    data = np.concatenate([np.ones(n), -np.ones(n)])
    matrix = sp.csc_matrix((data, (np.tile(at, 2), np.arange(2 * n))), shape=(len(rows), 2 * n))
    return matrix, np.tile(np.asarray(costs, dtype=float), 2)


def peak_excess_columns(
    rows: tuple[RowLabel, ...], a: sp.csr_matrix, peak_cols: np.ndarray, x_full: CapacityInputs,
    block: Block,
) -> tuple[sp.csc_matrix, np.ndarray]:  # fmt: skip
    """One column per (site, billing period) letting imports exceed the master's peak, at the
    period's demand charge per MW: V becomes min over a higher peak of charge x excess + V, so
    a cut's slope in the peak is at most the charge (a real plan: the peak raised, paid for)."""
    pv_opex = float(x_full.discount_fraction[block.year] * x_full.duration_years[block.year])
    n_s, n_b = peak_cols.shape
    at, cols, vals = [], [], []
    for i, row in enumerate(rows):
        if row.name != "demand_peak":
            continue
        s = row.block_index[0]
        b = int(x_full.billing_period[block.steps[row.index]])
        at.append(i)
        cols.append(s * n_b + b)
        vals.append(a[i, peak_cols[s, b]] if peak_cols[s, b] >= 0 else 0.0)
    charge = x_full.demand_charge_per_mw_month[:, block.year]
    cost = pv_opex * charge[:, None] * x_full.billing_period_months[None, :]
    matrix = sp.csc_matrix((vals, (at, cols)), shape=(len(rows), n_s * n_b))
    return matrix, cost.ravel()


_SOLVERS: dict[tuple[tuple[str, str], ...], highspy.Highs] = {}  # one per process and options
_LOADED: dict[int, int] = {}  # id(solver) -> token of the subproblem it holds
_TOKENS = itertools.count()


def shared_solver(options: dict[str, Any]) -> highspy.Highs:
    """This process's HiGHS instance for subproblems with these options. Subproblems take turns
    in it (each keeps its LP and last basis): a HiGHS instance per subproblem holds about
    30 MB of solver workspace, 4 GB a worker on the national case."""
    key = tuple(sorted((k, repr(v)) for k, v in options.items()))
    if key not in _SOLVERS:
        highs = highspy.Highs()
        highs.silent()
        for name, value in options.items():
            highs.setOptionValue(name, value)
        _SOLVERS[key] = highs
    return _SOLVERS[key]


class Subproblem:
    """A period's operation on some days, compiled once into HiGHS and re-solved warm."""

    def __init__(
        self, x_full: CapacityInputs, block: Block, options: dict[str, Any],
        compiled: Compiled | None = None,
    ):  # fmt: skip
        """`compiled`: the block's LP already compiled (a period's template stamped with the
        day, models/benders_template.py); None compiles it by Pyomo here."""
        start = time.perf_counter()
        self.block = block
        self.x = subproblem_inputs(x_full, block)
        if compiled is None:
            compiled = compile_block(self.x)
        lp = compiled.lp
        self.columns, self.reader = compiled.columns, compiled.reader
        fixed = np.concatenate([ix[ix >= 0].ravel() for ix in self.columns.index.values()])
        a = sp.csr_matrix(
            (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
            shape=(lp.num_col_, lp.num_row_),
        ).T.tocsr()  # column-wise storage read as the transpose's rows
        free = np.ones(lp.num_col_, dtype=bool)
        free[fixed] = False
        only_fixed = np.asarray((a.astype(bool) @ free.astype(float)) == 0).ravel()
        row_lower, row_upper = np.array(lp.row_lower_), np.array(lp.row_upper_)
        row_lower[only_fixed], row_upper[only_fixed] = -math.inf, math.inf  # the master's rows
        slack, slack_cost = elastic_columns(compiled.rows, self.x)
        excess, excess_cost = peak_excess_columns(
            compiled.rows, a, self.columns.index["peak_import_mw"], x_full, block
        )
        self.n_model_cols = lp.num_col_
        self.n_slack = slack.shape[1]
        self.n_excess = excess.shape[1]
        n_extra = self.n_slack + self.n_excess
        self.cost = np.concatenate([np.array(lp.col_cost_), slack_cost, excess_cost])
        self.phase1_cost = np.concatenate(
            [np.zeros(lp.num_col_), np.ones(self.n_slack), np.zeros(self.n_excess)]
        )
        self.all_cols = np.arange(self.cost.shape[0], dtype=np.int32)
        self.slack_cols = np.arange(lp.num_col_, lp.num_col_ + self.n_slack, dtype=np.int32)
        matrix = sp.hstack([a.tocsc(), slack, excess]).tocsc()
        self.least_use = LeastUse(
            matrix, row_lower, row_upper, self.columns.index, self.columns.scale,
            np.arange(lp.num_col_ + self.n_slack, matrix.shape[1]),
        )  # fmt: skip
        self.lp = highs_lp(
            cost=self.cost,
            offset=float(lp.offset_),
            a_matrix=matrix,
            row_lower=row_lower,
            row_upper=row_upper,
            col_lower=np.concatenate([np.array(lp.col_lower_), np.zeros(n_extra)]),
            col_upper=np.concatenate([np.array(lp.col_upper_), np.full(n_extra, math.inf)]),
        )
        self.basis: Any = None  # the last optimal basis, the next solve's warm start
        self.highs = shared_solver(options)
        self.token = next(_TOKENS)
        # The Pyomo model is ~40x the HiGHS copy (5 GB a worker on p20y10s20d12): dropped here,
        # rebuilt (deterministically, same column order) only to read the final operation, and
        # dropped again once read (`operation`).
        self.build_s = time.perf_counter() - start

    def fix(self, fleet: Fleet) -> None:
        """Bound every fleet column to the master's quantity (column value = quantity x scale)."""
        idx, val = [], []
        for name in FLEET_FIELDS:
            ix = self.columns.index[name]
            on = ix >= 0
            idx.append(ix[on])
            val.append(
                np.maximum(np.asarray(getattr(fleet, name))[on] * self.columns.scale[name][on], 0.0)
            )
        cols, values = np.concatenate(idx).astype(np.int32), np.concatenate(val)
        self.highs.changeColsBounds(len(cols), cols, values, values)

    def start_from(self, sibling: Subproblem) -> None:
        """Take a sibling's last basis as the first start of a subproblem never solved: the
        days of one period share their rows and columns (only prices, demand and sunshine
        differ), so a basis optimal on one day is a near start on the next, where a cold
        start pays presolve and the crash on every block of the first round."""
        shape = (self.lp.num_col_, self.lp.num_row_)
        same_shape = (sibling.lp.num_col_, sibling.lp.num_row_) == shape
        if self.basis is None and sibling.basis is not None and same_shape:
            self.basis = sibling.basis

    def load(self) -> None:
        """Put this subproblem in the process's shared solver, warm from its last basis."""
        if _LOADED.get(id(self.highs)) == self.token:
            return
        self.highs.passModel(self.lp)
        if self.basis is not None:
            self.highs.setBasis(self.basis)
        _LOADED[id(self.highs)] = self.token

    def solve(self, fleet: Fleet) -> SubResult:
        """V(q) and dV/dq at the master's quantities q (warm from the last basis); where the
        fleet cannot be powered (slack used), F(q) and dF/dq instead: the least lost load, MW
        summed over rows, a feasibility cut F(q^) + g'(q - q^) <= 0."""
        start = time.perf_counter()
        self.load()
        self.fix(fleet)
        result = self._solve_fixed(fleet, start)
        if self.highs.getBasis().valid:
            self.basis = self.highs.getBasis()
        return result

    def _solve_fixed(self, fleet: Fleet, start: float) -> SubResult:
        """`solve` once the fleet is fixed in the loaded solver."""
        result = self._run(fleet, start)
        if result.status is not SolveStatus.optimal:
            return result
        if result.slack_mw <= SLACK_FREE_MW:
            return self._without_slack(fleet, start, result)
        self.highs.changeColsCost(len(self.all_cols), self.all_cols, self.phase1_cost)
        try:
            lost = self._run(fleet, start)
        finally:
            self.highs.changeColsCost(len(self.all_cols), self.all_cols, self.cost)
        if lost.status is not SolveStatus.optimal or lost.value <= SLACK_FREE_MW:
            return result  # slack by price, not need: the penalised cut is still valid
        return replace(lost, kind="feasibility", slack_mw=result.slack_mw)

    def _without_slack(self, fleet: Fleet, start: float, elastic: SubResult) -> SubResult:
        """The cut of the LP itself at a point that needs no slack: slack columns held at zero.

        At a point where an elastic row is just tight, the simplex may leave its slack column
        basic at zero, and the row's dual is then the slack's price (lost load at
        `LOST_LOAD_FACTOR` times its worth), a valid but needlessly steep cut that makes the
        master ill-conditioned (flagship 1: 4.8e11 CNY per MW). With the slack held at zero
        the dual is the operation's own marginal value."""
        cols = self.slack_cols
        zero = np.zeros(cols.size)
        self.highs.changeColsBounds(cols.size, cols, zero, zero)
        try:
            tight = self._run(fleet, start)
        finally:
            self.highs.changeColsBounds(cols.size, cols, zero, np.full(cols.size, math.inf))
        if tight.status is not SolveStatus.optimal:
            return elastic
        return replace(tight, slack_mw=elastic.slack_mw)

    def _run(self, fleet: Fleet, start: float) -> SubResult:
        """Solve as the costs stand; the value and the fleet columns' reduced costs.

        The elastic LP is always feasible and bounded (every column has finite bounds or a
        bounded cost), so any other answer is numerical: a warm start or presolve on a badly
        scaled point (seen on flagship 1, "unbounded" from the basis, optimal cold). That solve
        is repeated by each of `RETRIES` before anything is reported."""
        self.highs.run()
        status = map_highs_status(self.highs.getModelStatus())
        for options in RETRIES:
            if status is SolveStatus.optimal:
                break
            self.highs.clearSolver()
            for name, value in options.items():
                self.highs.setOptionValue(name, value)
            try:
                self.highs.run()
            finally:
                for name in options:
                    self.highs.setOptionValue(name, RETRY_DEFAULTS[name])
            status = map_highs_status(self.highs.getModelStatus())
        info = self.highs.getInfo()
        seconds = time.perf_counter() - start
        if status is not SolveStatus.optimal:
            zero = Fleet(**{k: np.zeros(np.shape(getattr(fleet, k))) for k in FLEET_FIELDS})
            return SubResult(math.nan, zero, math.nan, seconds, 0, status)
        solution = self.highs.getSolution()
        col_dual = np.asarray(solution.col_dual)
        gradient = {}
        for name in FLEET_FIELDS:
            ix = self.columns.index[name]
            g = (
                np.where(ix >= 0, col_dual[np.maximum(ix, 0)], 0.0)
                if ix.size
                else np.zeros(ix.shape)
            )
            gradient[name] = g * self.columns.scale[name]
        values = np.asarray(solution.col_value)
        extra = values[self.n_model_cols :]
        slack = float(np.sum(extra[: self.n_slack]))
        return SubResult(
            value=float(info.objective_function_value),
            gradient=Fleet(**gradient),
            slack_mw=slack,
            seconds=seconds,
            iterations=int(info.simplex_iteration_count),
            # read only where the solution is a plan's (a trim never reads the others)
            needed=self.least_use.needed(values, np.asarray(solution.row_value))
            if slack <= SLACK_FREE_MW
            else None,
            excess_cost=float(
                self.cost[self.n_model_cols + self.n_slack :] @ extra[self.n_slack :]
            ),
        )

    def _solve_unscaled(self, fleet: Fleet) -> SubResult:
        """`solve` without simplex scaling (`UNSCALED`), warm from the last basis, so the rows hold
        to HiGHS's tolerance as written; scaled again, as every pass solves, if that fails."""
        defaults = {name: self.highs.getOptionValue(name)[1] for name in UNSCALED}
        for name, value in UNSCALED.items():
            self.highs.setOptionValue(name, value)
        try:
            result = self.solve(fleet)
        finally:
            for name, default in defaults.items():
                self.highs.setOptionValue(name, default)
        return result if result.status is SolveStatus.optimal else self.solve(fleet)

    def operation(self, fleet: Fleet) -> CapacitySolution:
        """The subproblem's full solution at `fleet`, as capacity-model arrays on its own axes
        (one period, its steps), for assembling the plan. The Pyomo model is built for the
        reading and let go after it: kept, a worker's 120 models of p20y10s20d12 held 2.6 GB."""
        from models.capacity_pyomo_solve import read_solution

        result = self._solve_unscaled(fleet)
        values = self.highs.getSolution().col_value
        stats = SolveStats(self.build_s, result.seconds, result.iterations, None)
        if self.reader is not None:
            read = self.reader(np.asarray(values[: self.n_model_cols]), self.x, stats)
            if read is not None:
                return read
        model = build(self.x)
        _, form = lp_from_pyomo(model)
        if len(form.columns) != self.n_model_cols:
            raise RuntimeError(f"block {self.block.key}: its model no longer has the LP's columns")
        for var, value in zip(form.columns, values[: self.n_model_cols], strict=True):
            var.set_value(value, skip_validation=True)
        for var, expr in form.eliminated_vars:
            var.set_value(pyo.value(expr), skip_validation=True)
        return read_solution(model, replace(self.x, relax=False), stats, "highs")
