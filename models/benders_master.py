"""The Benders master of the capacity plan: the investment families with one cost variable per
subproblem, compiled once into HiGHS; cuts are added as rows (models/benders.py).

Built by the capacity model's own Pyomo families on `master_inputs` (every period, one step),
then cut to the first-stage columns (purchases, builds, solar and battery in service, billing
peaks, subsidy choices, grid options, CPU servers) and the rows that hold nothing else: (1)-(3),
(7), (8), (11), the solar and battery limits, (13)-(16), the big-M row of (18), (20)'s one
option per site, (22)-(23), (27). To these it adds, as columns with defining rows, the
in-service quantities a subproblem fixes (parts installed I, IT MW C, CPU servers J), so a cut
touches one period's quantities only, and theta_k >= its lower bound for each subproblem k.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from models.benders_cuts import Cut, CutBook
from models.benders_inputs import Block, master_inputs, subproblem_inputs
from models.benders_relaxation import ServingRelaxation, busiest_blocks, period_fleet
from models.benders_rounding import whole_rows
from models.benders_sub import FLEET_FIELDS, Fleet
from models.capacity import (
    CapacityInputs,
    CapacitySolution,
    base_parts_alive,
    dc_usable_from_build,
    parts_alive_from_purchase,
)
from models.capacity_cpu import cpu_alive_from_purchase
from models.capacity_pyomo import build
from models.common import SolveStats
from models.mps import highs_lp, lp_from_pyomo

# In the LP phase the master is solved by interior point without crossover: on p20y10s20d12 its
# warm dual simplex took 5,000-11,000 iterations and 13-24 s a round, the interior point 7-15 s,
# and the interior points it returns are better separation points (gap at 10 minutes 14% against
# 19%; p20y10s10 to 1% in 140 s against 184 s; docs/benchmarks.md). Its objective is the optimum
# only to its tolerances, which cuts spanning 1 to 1e11 stretch (0.1% above the true optimum on
# flexible_connection), so the bound the LP phase reports is the same master solved again by the
# simplex, to a vertex (`certify_bound` in models/benders.py). A MILP
# plan keeps the simplex throughout (`use_interior_point(False)`): its integer phases round the
# LP master's purchases, and flagship 1's MILP reached 0.33 % in 36 s that way against 1.36 %
# (stopped: no rounding reached the gap and the MILP master failed) from the interior-point LP
# phase, even with a vertex recovered for the rounding.
LP_INTERIOR: dict[str, Any] = {"solver": "ipm", "run_crossover": "off", "presolve": "choose"}
LP_DEFAULTS: dict[str, Any] = {"presolve": "choose", "solver": "choose", "run_crossover": "on"}
# Ways to solve the LP master when it does not end optimal (HiGHS "unknown" on a master whose
# cuts span 1e-9..1e11, seen on flagship 1; the interior point calling a feasible master with a
# block held whole "infeasible", power_capped_grid): cold simplex without presolve, interior
# point with crossover, interior point alone (an interior point is as good a separation point).
LP_FALLBACKS: tuple[dict[str, Any], ...] = (
    {"presolve": "off", "solver": "simplex"},  # simplex even when the LP phase runs ipm
    {"presolve": "choose", "solver": "ipm", "run_crossover": "on"},
    {"solver": "ipm", "run_crossover": "off"},
)
# The vertex check's ways to a vertex, in turn (`Master.solve_to_vertex`)
VERTEX_METHODS: tuple[dict[str, Any], ...] = (
    {"presolve": "choose", "solver": "ipm", "run_crossover": "on"},
    {"presolve": "choose", "solver": "simplex"},
)
SCALED_TO = 1e6  # the largest cost and bound HiGHS advises (its "excessively large" warnings)
OPTIMAL, TIME_LIMIT = highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit


def power_of_two_above(values: np.ndarray) -> int:
    """The least k >= 0 with max(values) / 2^k <= SCALED_TO (0 for no values)."""
    largest = float(values.max(initial=0.0))
    return max(0, math.ceil(math.log2(largest / SCALED_TO))) if largest > SCALED_TO else 0


SMALL_COEFFICIENT = 1e-9  # cut coefficients below this are dropped (HiGHS would drop them too)
TOP_LEVEL_FIRST_STAGE = frozenset(
    {
        "servers",
        "dc_built_mw",
        "solar_built_mw",
        "battery_built_mwh",
        "battery_built_mw",
        "domestic_only",
        "grid_option",
        "cpu_servers",
        "parts_installed",  # columns defined by purchases and builds alone (eqs. 3, 7, 23)
        "cpu_installed",
        "it_capacity_mw",
    }
)
SITE_FIRST_STAGE = frozenset({"solar_mw", "battery_mwh", "battery_mw", "peak_import_mw"})


def is_first_stage(var: Any) -> bool:
    """A purchase, build or choice, or a site's solar, battery or peak (decided by the master)."""
    comp = var.parent_component()
    parent = comp.parent_block()
    if parent is not None and parent.parent_component().local_name == "site":
        return comp.local_name in SITE_FIRST_STAGE
    return comp.local_name in TOP_LEVEL_FIRST_STAGE


def operating_cost_floor(x: CapacityInputs, block: Block) -> float:
    """A lower bound on a subproblem's value: imports at their cap whenever energy and carbon
    would pay (negative prices), nothing else earns (the chosen subsidy rebates at most the
    bill of the import it covers)."""
    sub = subproblem_inputs(x, block)
    price = sub.price_per_mwh[:, 0, :] + sub.emission_t_per_mwh * float(sub.carbon_price_per_t[0])
    cap = np.where(np.isfinite(sub.grid_import_cap_mw[:, 0]), sub.grid_import_cap_mw[:, 0], 0.0)
    earn = np.minimum(price, 0.0) * sub.weight_h[None, :] * cap[:, None]
    return float(sub.discount_fraction[0] * sub.duration_years[0] * earn.sum())


@dataclass
class MasterIndex:
    """Master column of each fleet quantity by period: name -> (Y, *shape), -1 = none."""

    fleet: dict[str, np.ndarray]
    theta: np.ndarray  # (K,) column of each subproblem's cost


class Master:
    """The master problem in HiGHS: first-stage columns, in-service columns, theta, cuts."""

    def __init__(
        self,
        x: CapacityInputs,
        blocks: list[Block],
        options: dict[str, Any],
        serving_relaxation: bool = True,
    ):
        self.x, self.blocks = x, blocks
        self.serving_relaxation = serving_relaxation
        self.x_master = master_inputs(x)
        m = self.model = build(self.x_master)
        lp, form = lp_from_pyomo(m, integer=not x.relax)
        keep = np.array([is_first_stage(v) for v in form.columns], dtype=bool)
        a = sp.csc_matrix(
            (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
            shape=(lp.num_row_, lp.num_col_),
        )
        touches_other = np.asarray(abs(a) @ (~keep).astype(float) > 0).ravel()
        has_any = np.asarray(abs(a).sum(axis=1) > 0).ravel()
        rows = np.flatnonzero(has_any & ~touches_other)
        cols = np.flatnonzero(keep)
        self.columns = [form.columns[i] for i in cols]
        where = {id(v): i for i, v in enumerate(self.columns)}
        integer = [bool(v.is_integer()) for v in self.columns]
        base = _Assembly(
            cost=np.asarray(lp.col_cost_)[cols],
            a=a[rows][:, cols],
            row_lower=np.asarray(lp.row_lower_)[rows],
            row_upper=np.asarray(lp.row_upper_)[rows],
            col_lower=np.asarray(lp.col_lower_)[cols],
            col_upper=np.asarray(lp.col_upper_)[cols],
            integer=integer if not x.relax else [False] * len(cols),
        )
        self.index = self._in_service(m, where, base)
        self.n_cols = base.a.shape[1]
        self.integer = np.asarray(base.integer, dtype=bool)
        on = np.flatnonzero(self.integer)
        self.integer_bounds = (base.col_lower[on].copy(), base.col_upper[on].copy())
        self.whole_rows = whole_rows(base.a, base.row_lower, base.row_upper, self.integer)
        self.cost = base.cost.copy()
        self.cost[self.index.theta] = 0.0  # first-stage cost only
        self.highs = highspy.Highs()
        self.highs.silent()
        self.user_lp = {k: v for k, v in options.items() if k in LP_DEFAULTS}
        self.lp_options = {**LP_INTERIOR, **self.user_lp}
        for key, value in {**options, **self.lp_options}.items():
            self.highs.setOptionValue(key, value)
        model = highs_lp(
            base.cost, 0.0, base.a, base.row_lower, base.row_upper, base.col_lower, base.col_upper
        )
        if self.integer.any():
            kind = highspy.HighsVarType
            model.integrality_ = [kind.kInteger if i else kind.kContinuous for i in base.integer]
        self.highs.passModel(model)
        self.cuts = CutBook()  # the cut rows, the master's last rows, in order
        self.fallback = 0  # index into LP_FALLBACKS once the interior point has failed
        self.held: set[int] = set()  # blocks written whole into the master (benders_whole)
        self.last_solve_s = 0.0  # the last `solve`'s first run, s (a vertex check repeats it)

    def _in_service(
        self, m: pyo.ConcreteModel, where: dict[int, int], base: _Assembly
    ) -> MasterIndex:
        """Add I, C, J columns with their defining rows and one theta per subproblem."""
        x = self.x
        _n_w, n_p, n_s, n_y, _n_t = x.shape
        n_b = x.billing_period_months.shape[0]
        col = lambda var: where.get(id(var), -1)  # noqa: E731
        servers = np.array(
            [
                [[col(m.servers[p, s, y]) for y in range(n_y)] for s in range(n_s)]
                for p in range(n_p)
            ]
        )
        alive = parts_alive_from_purchase(x) * np.asarray(x.parts_per_server, float)[:, None, None]
        parts = base.add_defined(
            servers, alive[:, None], base_parts_alive(x), axis_sum="psb,pby->psy"
        )
        dc = np.array([[col(m.dc_built_mw[s, y]) for y in range(n_y)] for s in range(n_s)])
        capacity = base.add_defined(
            dc[None],
            dc_usable_from_build(x)[None],
            np.broadcast_to(x.dc_existing_mw[:, None], (n_s, n_y))[None],
            axis_sum="psb,pby->psy",
        )[0]
        fleet: dict[str, np.ndarray] = {
            "parts": np.moveaxis(parts, 2, 0),  # (Y, P, S)
            "it_capacity_mw": capacity.T,  # (Y, S)
        }
        for name in ("solar_mw", "battery_mwh", "battery_mw"):
            fleet[name] = np.array(
                [[col(getattr(m.site[s, y], name)) for s in range(n_s)] for y in range(n_y)]
            )
        fleet["peak_import_mw"] = np.array(
            [
                [[col(m.site[s, y].peak_import_mw[b]) for b in range(n_b)] for s in range(n_s)]
                for y in range(n_y)
            ]
        )
        chosen = {(s, y): col(m.domestic_only[s, y]) for s, y in m.C}
        fleet["domestic_only"] = np.array(
            [[chosen.get((s, y), -1) for s in range(n_s)] for y in range(n_y)]
        )
        fleet["grid_option"] = self._grid_option_columns(m, col)
        fleet["cpu_servers"] = self._cpu_in_service(m, col, base)
        floors = [operating_cost_floor(x, b) for b in self.blocks]
        theta = base.add_columns(
            np.ones(len(floors)), np.asarray(floors), np.full(len(floors), math.inf)
        )
        self.demand_rows = np.zeros(0, dtype=np.int32)
        self.demand_lower = np.zeros(0)
        if self.serving_relaxation:
            self.demand_rows = add_serving_relaxation(base, x, self.blocks, fleet, theta, floors)
            self.demand_lower = base.row_lower[self.demand_rows].copy()
        return MasterIndex(fleet=fleet, theta=theta)

    def _grid_option_columns(self, m: pyo.ConcreteModel, col: Any) -> np.ndarray:
        """(Y, S, O) the grid-option choice columns (one choice for every period)."""
        x = self.x
        n_s, n_y = x.shape[2], x.shape[3]
        n_o = 0 if x.grid_option_offered is None else np.shape(x.grid_option_offered)[1]
        options = np.full((n_s, n_o), -1, dtype=int)
        for s, o in m.GO:
            options[s, o] = col(m.grid_option[s, o])
        return np.broadcast_to(options, (n_y, n_s, n_o))

    def _cpu_in_service(self, m: pyo.ConcreteModel, col: Any, base: _Assembly) -> np.ndarray:
        """(Y, C, S) columns of CPU servers in service, defined from their purchases."""
        x = self.x
        n_s, n_y = x.shape[2], x.shape[3]
        if x.cpu is None:
            return np.full((n_y, 0, n_s), -1, dtype=int)
        n_c = x.cpu.cores_per_server.shape[0]
        bought = np.array(
            [
                [[col(m.cpu_servers[c, s, y]) for y in range(n_y)] for s in range(n_s)]
                for c in range(n_c)
            ]
        )
        cpu = base.add_defined(
            bought,
            cpu_alive_from_purchase(x)[:, None],
            np.zeros((n_c, n_s, n_y)),
            axis_sum="psb,pby->psy",
        )
        return np.moveaxis(cpu, 2, 0)

    # --- solving ----------------------------------------------------------------------------

    def relax_integers(self, relaxed: bool) -> None:
        """Solve the LP relaxation (True) or the MILP (False)."""
        idx = np.flatnonzero(self.integer).astype(np.int32)
        if idx.size:
            kind = highspy.HighsVarType.kContinuous if relaxed else highspy.HighsVarType.kInteger
            self.highs.changeColsIntegrality(len(idx), idx, np.array([kind] * len(idx)))
        # branch and bound runs its own LPs: neither the LP master's options nor its fallback
        lp = self.lp_options if relaxed else LP_DEFAULTS
        for option, value in lp.items():
            self.highs.setOptionValue(option, value)

    def scale_demand(self, factor: float) -> None:
        """Ask the serving relaxation for `factor` x the demand (1 restores it): a master point
        with room to spare, for the in-out core (models/benders.py). A bound only at 1."""
        for row, lower in zip(self.demand_rows, self.demand_lower * factor, strict=True):
            self.highs.changeRowBounds(int(row), float(lower), math.inf)

    def fix_integers(self, values: np.ndarray | None) -> None:
        """Hold the integer columns at `values` (by their bounds), or free them again (None)."""
        idx = np.flatnonzero(self.integer).astype(np.int32)
        if not idx.size:
            return
        if values is None:
            lower, upper = self.integer_bounds
        else:
            lower = upper = np.clip(values, *self.integer_bounds)
        self.highs.changeColsBounds(idx.size, idx, lower, upper)

    def solve(self) -> tuple[highspy.HighsModelStatus, np.ndarray, float, float]:
        """Status, column values, objective and the best bound (the objective for an LP).

        Cuts priced at the lost-load penalty make the master badly scaled; an LP answer other
        than optimal (HiGHS "unknown", seen on flagship 1) is retried by `LP_FALLBACKS`."""
        start = time.perf_counter()
        self.highs.run()
        self.last_solve_s = time.perf_counter() - start
        status = self.highs.getModelStatus()
        if status not in (OPTIMAL, TIME_LIMIT) and not self.is_mip():
            status = self._retry_lp()
        info = self.highs.getInfo()
        values = np.asarray(self.highs.getSolution().col_value)
        objective = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if self.is_mip() else objective
        return status, values, objective, bound

    def solve_to_vertex(
        self, time_limit_s: float = math.inf
    ) -> tuple[highspy.HighsModelStatus, float]:
        """The LP master's optimum at a vertex (the bound an interior point only approximates)
        within `time_limit_s`: the interior point with crossover from scratch, costs and bounds
        scaled by `vertex_scales`, else the simplex so scaled. Unscaled, with demand charges,
        HiGHS's simplex and crossover ended in error after 30-50 s on p20y10s10's last master;
        scaled, crossover ends optimal in 7.9 s. The master's own options are restored after."""
        scales = self.vertex_scales()
        self.highs.clearSolver()
        self.limit_time(time_limit_s)
        try:
            for options in VERTEX_METHODS:
                for option, value in {**options, **scales}.items():
                    self.highs.setOptionValue(option, value)
                self.highs.run()
                status = self.highs.getModelStatus()
                if status in (OPTIMAL, TIME_LIMIT):
                    break
                self.highs.clearSolver()
            return status, float(self.highs.getInfo().objective_function_value)
        finally:
            for option in scales:
                self.highs.setOptionValue(option, 0)
            for option, value in self.lp_options.items():
                self.highs.setOptionValue(option, value)
            self.limit_time(math.inf)

    def vertex_scales(self) -> dict[str, int]:
        """HiGHS's user scalings by powers of two that bring the master's largest cost and
        largest finite bound (row or column) to at most 1e6, HiGHS's own advice for a badly
        scaled model; HiGHS reports the objective unscaled."""
        lp = self.highs.getLp()
        bounds = np.concatenate([lp.row_lower_, lp.row_upper_, lp.col_lower_, lp.col_upper_])
        return {
            "user_objective_scale": -power_of_two_above(np.abs(np.asarray(lp.col_cost_))),
            "user_bound_scale": -power_of_two_above(np.abs(bounds[np.isfinite(bounds)])),
        }

    def limit_time(self, seconds: float) -> None:
        """Let the master's next solves run `seconds` more. HiGHS compares its time_limit with
        the instance's run time summed over every solve, so a limit set as a duration stops at
        once a master that has already solved for longer (the national master's vertex check,
        given 429 s after 1,500 s of interior-point rounds, stopped at once)."""
        limit = self.highs.getRunTime() + seconds if math.isfinite(seconds) else math.inf
        self.highs.setOptionValue("time_limit", limit)

    @property
    def interior(self) -> bool:
        """True while the LP master is solved by interior point without crossover."""
        return self.lp_options.get("run_crossover") == "off"

    def use_interior_point(self, interior: bool) -> None:
        """Solve the LP master by interior point without crossover (True) or by simplex, to a
        vertex (False), unless the caller's options say otherwise; the fallback starts over."""
        self.lp_options = {**(LP_INTERIOR if interior else LP_DEFAULTS), **self.user_lp}
        self.fallback = 0
        for option, value in self.lp_options.items():
            self.highs.setOptionValue(option, value)

    def _retry_lp(self) -> highspy.HighsModelStatus:
        """The LP master again, cold, by each of `LP_FALLBACKS` in turn; the first that ends
        optimal is kept until the next phase (a master that fails once keeps failing)."""
        status = self.highs.getModelStatus()
        for n, options in enumerate(LP_FALLBACKS[self.fallback :], start=self.fallback):
            self.highs.clearSolver()
            for option, value in options.items():
                self.highs.setOptionValue(option, value)
            self.highs.run()
            status = self.highs.getModelStatus()
            if status == highspy.HighsModelStatus.kOptimal:
                self.fallback = n
                return status
            for option, value in self.lp_options.items():
                self.highs.setOptionValue(option, value)
        return status

    def is_mip(self) -> bool:
        """True when integer columns are currently integer."""
        idx = np.flatnonzero(self.integer)
        if not idx.size:
            return False
        kind = self.highs.getColIntegrality(int(idx[0]))  # type: ignore[attr-defined]  # not in stubs
        return bool(kind[1] == highspy.HighsVarType.kInteger)

    def first_stage_cost(self, values: np.ndarray) -> float:
        """Capex less credits, and the billing peaks' demand charges, of a master point."""
        return float(self.cost @ values[: self.cost.shape[0]])

    def fleet(self, values: np.ndarray, year: int) -> Fleet:
        """The in-service quantities of period `year` at a master point."""
        out = {}
        for name in FLEET_FIELDS:
            ix = self.index.fleet[name][year]
            out[name] = (
                np.where(ix >= 0, values[np.maximum(ix, 0)], 0.0) if ix.size else np.zeros(ix.shape)
            )
        return Fleet(**out)

    @property
    def n_cuts(self) -> int:
        """Cut rows in the master now (retired ones not counted)."""
        return len(self.cuts.rows)

    def drop_slack_cuts(self, relative: float = 1e-4) -> int:
        """Delete the cuts not binding at the last solution (slack above `relative` of their
        right-hand side): valid cuts dropped keep the bound valid, and the steep cuts of the
        first rounds (lost tokens, lost load) would only make the MILP master ill-conditioned.
        Returns how many were dropped."""
        n_rows = self.highs.getNumRow()
        first = n_rows - self.n_cuts
        solution = self.highs.getSolution()
        activity = np.asarray(solution.row_value)[first:]
        lower = np.asarray(self.highs.getLp().row_lower_)[first:]
        slack = activity - lower
        loose = slack > relative * np.maximum(np.abs(lower), 1.0)
        self._delete_cut_rows(~loose)
        self.cuts.keep(~loose)
        return int(loose.sum())

    def retire_slack_cuts(self, values: np.ndarray, rounds: int) -> tuple[int, int]:
        """At the master's solution `values`: the cuts slack `rounds` rounds running leave for
        the pool, and the pooled cuts `values` violates come back (models/benders_cuts.py).
        Returns how many left and how many came back."""
        self.cuts.grow_older(values)
        keep = self.cuts.retire(rounds)
        self._delete_cut_rows(keep)
        back = self.cuts.violated(values)
        for cut in back:
            self._add_row(cut)
        return int((~keep).sum()), len(back)

    def _delete_cut_rows(self, keep: np.ndarray) -> None:
        """Delete from HiGHS the cut rows (the master's last) where `keep` is False."""
        drop = np.flatnonzero(~keep) + self.highs.getNumRow() - keep.size
        if drop.size:
            self.highs.deleteRows(len(drop), drop.astype(np.int32))

    def first_stage_solution(self, values: np.ndarray) -> CapacitySolution:
        """The master point as a plan's first-stage arrays and costs (operation left at zero)."""
        from models.capacity_pyomo_solve import read_solution

        for var in self.model.component_data_objects(pyo.Var):
            var.set_value(0.0, skip_validation=True)
        for var, value in zip(self.columns, values[: len(self.columns)], strict=True):
            var.set_value(float(value), skip_validation=True)
        stats = SolveStats(0.0, 0.0, None, None)
        return read_solution(self.model, replace(self.x_master, relax=False), stats, "highs")

    def cut_terms(self, k: int, gradient: Fleet) -> tuple[np.ndarray, np.ndarray]:
        """The in-service columns of block k's period that a cut's gradient touches (those of
        coefficient above `SMALL_COEFFICIENT`), and the gradient on them."""
        year = self.blocks[k].year
        cols, coef = [], []
        for name in FLEET_FIELDS:
            ix = self.index.fleet[name][year].ravel()
            g = np.asarray(getattr(gradient, name), dtype=float).ravel()
            on = (ix >= 0) & (np.abs(g) > SMALL_COEFFICIENT)
            cols.append(ix[on])
            coef.append(g[on])
        return np.concatenate(cols).astype(np.int32), np.concatenate(coef)

    def cut_at(self, k: int, value: float, gradient: Fleet, at: np.ndarray, q: np.ndarray) -> float:
        """The optimality cut V + g'(q - q^) of block k, taken at q^ = `at`, evaluated at `q`."""
        cols, g = self.cut_terms(k, gradient)
        return value + float(g @ (q[cols] - at[cols]))

    def add_cut(
        self, k: int, value: float, gradient: Fleet, at: np.ndarray, kind: str = "optimality"
    ) -> None:
        """Optimality: theta_k >= V + g'(q - q^); feasibility: 0 >= F + g'(q - q^), scaled so
        its largest coefficient is 1 (q the period's in-service columns)."""
        cols, g = self.cut_terms(k, gradient)
        coef, rhs = -g, value - float(g @ at[cols])
        theta = -1
        if kind == "optimality":
            theta = int(self.index.theta[k])
            cols = np.append(cols, np.int32(theta))
            coef = np.append(coef, 1.0)
        elif coef.size:
            scale = float(np.abs(coef).max())
            coef, rhs = coef / scale, rhs / scale
        else:
            return  # lost load that no fleet quantity changes: nothing to cut
        self._add_row(Cut(theta, cols.astype(np.int32), coef, rhs))

    def _add_row(self, cut: Cut) -> None:
        """A cut as the master's last row."""
        status = self.highs.addRow(cut.rhs, math.inf, cut.cols.size, cut.cols, cut.coef)
        if status == highspy.HighsStatus.kError:
            raise RuntimeError(f"HiGHS refused cut {self.n_cuts}: a coefficient beyond its limits")
        self.cuts.add(cut)


def add_serving_relaxation(
    base: _Assembly,
    x: CapacityInputs,
    blocks: list[Block],
    fleet: dict[str, np.ndarray],
    theta: np.ndarray,
    floors: list[float],
) -> np.ndarray:
    """theta_k >= floor_k + the least unserved penalty of block k's fleet (models/
    benders_relaxation.py): the master meets demand, site by site, before any cut says so.
    Returns the master rows of the relaxation's demand (serve) rows."""
    relax = ServingRelaxation(x, first_column=base.a.shape[1])
    by_site = busiest_blocks(x, blocks)
    for k, block in enumerate(blocks):
        fleet_k = period_fleet(x, fleet, block.year)
        relax.add_block(block, fleet_k, int(theta[k]), floors[k], k in by_site)
    n_new = relax.next_column - base.a.shape[1]
    base.add_columns(np.zeros(n_new), np.zeros(n_new), np.full(n_new, math.inf))
    first_row = base.a.shape[0]
    base.add_rows(relax.matrix(), np.asarray(relax.rows.lower), np.asarray(relax.rows.upper))
    return first_row + np.asarray(relax.demand_rows, dtype=np.int32)


@dataclass
class _Assembly:
    """The master's arrays while columns and rows are added (in-service and theta columns)."""

    cost: np.ndarray
    a: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: list[bool]

    def add_columns(self, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Append continuous columns; returns their indices."""
        n0, n = self.a.shape[1], cost.shape[0]
        self.a = sp.hstack([self.a, sp.csc_matrix((self.a.shape[0], n))]).tocsc()
        self.cost = np.concatenate([self.cost, cost])
        self.col_lower = np.concatenate([self.col_lower, lower])
        self.col_upper = np.concatenate([self.col_upper, upper])
        self.integer += [False] * n
        return np.arange(n0, n0 + n)

    def add_rows(self, matrix: sp.spmatrix, lower: np.ndarray, upper: np.ndarray) -> None:
        """Append rows over the existing columns."""
        self.a = sp.vstack([self.a, sp.csc_matrix(matrix)]).tocsc()
        self.row_lower = np.concatenate([self.row_lower, lower])
        self.row_upper = np.concatenate([self.row_upper, upper])

    def add_defined(
        self, bought: np.ndarray, alive: np.ndarray, constant: np.ndarray, axis_sum: str
    ) -> np.ndarray:
        """Columns q[a,s,y] = constant[a,s,y] + sum_y' alive[a,s,y',y] x[bought[a,s,y']], one
        equality row each; returns their indices shaped (A, S, Y)."""
        del axis_sum  # the sum is written out below
        n_a, n_s, n_y = bought.shape
        alive = np.broadcast_to(alive, (n_a, n_s, n_y, n_y))
        cols = self.add_columns(
            np.zeros(n_a * n_s * n_y),
            np.full(n_a * n_s * n_y, -math.inf),
            np.full(n_a * n_s * n_y, math.inf),
        )
        cols = cols.reshape(n_a, n_s, n_y)
        r, c, v = [], [], []
        row = 0
        for a_ in range(n_a):
            for s in range(n_s):
                for y in range(n_y):
                    r.append(row)
                    c.append(cols[a_, s, y])
                    v.append(1.0)
                    for b in range(n_y):
                        if alive[a_, s, b, y] and bought[a_, s, b] >= 0:
                            r.append(row)
                            c.append(bought[a_, s, b])
                            v.append(-float(alive[a_, s, b, y]))
                    row += 1
        block = sp.csc_matrix((v, (r, c)), shape=(row, self.a.shape[1]))
        self.a = sp.vstack([self.a, block]).tocsc()
        rhs = np.asarray(constant, dtype=float).reshape(-1)
        self.row_lower = np.concatenate([self.row_lower, rhs])
        self.row_upper = np.concatenate([self.row_upper, rhs])
        return cols
