"""A plan trimmed to what its operation uses (models/benders.py's loop, LP plans).

The points the loop prices are blends of the master's point and the core, and hold billed peaks
no block imports, or pay imports above a peak as excess, block by block, at the charge: on
p20y10s20d12 with demand charges the best plan after five rounds held peaks summing 11,939 MW
against 10,775 MW of the highest imports. So each block reports the least quantity of each
trimmable fleet column its solution needs (`LeastUse`: with every other column at its value,
the tightest of the rows that limit the column from below, the peak-excess columns left out),
and the master's first-stage LP (`Trimmer`) buys the cheapest plan holding the same parts, CPU
servers, subsidy and grid choices, at least the same solar, and at least the largest need of
each period's blocks for IT MW, battery MWh and MW and peaks (no more than the plan held, except
peaks, which rise to the imports paid as excess). The same operation fits the trimmed plan, so
its cost is at most its first stage plus each block's value at the untrimmed plan less the
excess that block paid (`PlanTrim`): counted so, with no pass of its own, it becomes the loop's
best plan where cheaper, never its core (a core whose peaks sit at the imports separates worse).
Batteries rarely trim: their yearly cycle limit (discharge <= cycles x MWh) binds, so the MWh
buys throughput even where the state of charge stays low (docs/benchmarks.md, "A faster
machine, and plans trimmed to their use").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from models.benders_dual_bound import LpArrays
from models.mps import highs_lp

TRIMMED = ("it_capacity_mw", "battery_mwh", "battery_mw", "peak_import_mw")  # at least the need
HELD = ("parts", "cpu_servers", "domestic_only", "grid_option")  # as at the point
AT_LEAST = ("solar_mw",)  # more solar leaves the operation feasible, less does not
RAISED = ("peak_import_mw",)  # may rise above the point: imports above it were paid as excess
# A need is read off a solution feasible to HiGHS's tolerances (about 1e-7 a row), so a plan held
# exactly at it can need slack again (`SLACK_FREE_MW`, 1e-6 MW over a block: on p20y10s10 a
# period's blocks needed 1.07e-6 at a trimmed plan, and its count stood for a plan that was none).
# Each positive need keeps this margin (MW, or relative where larger).
NEED_MARGIN_MW, NEED_MARGIN = 1e-5, 1e-6


class LeastUse:
    """The least quantities of the trimmable fleet columns a subproblem's solution needs."""

    def __init__(
        self,
        matrix: sp.csc_matrix,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        index: dict[str, np.ndarray],
        scale: dict[str, np.ndarray],
        excess_cols: np.ndarray,
    ):
        """`matrix` the subproblem's columns (model, slack, excess), `index`/`scale` each fleet
        field's column and column units per quantity; `excess_cols` the peak-excess columns,
        left out of a row's activity (a trimmed peak covers the imports they paid for)."""
        self.shapes = {name: index[name].shape for name in TRIMMED}
        self.excess = matrix[:, excess_cols]
        self.excess_cols = excess_cols
        # one entry per trimmable column (field, flat position), its nonzeros flattened
        self.field: list[tuple[str, int]] = []
        cols = []
        for name in TRIMMED:
            flat = index[name].ravel()
            for pos in np.flatnonzero(flat >= 0):
                cols.append(int(flat[pos]))
                self.field.append((name, int(pos)))
        self.cols = np.asarray(cols, dtype=np.int64)
        self.scale = np.array(
            [float(scale[name].ravel()[pos]) for name, pos in self.field], dtype=float
        )
        sub = matrix[:, self.cols].tocsc()
        self.entry = np.repeat(np.arange(self.cols.size), np.diff(sub.indptr))
        self.rows, self.coef = sub.indices, sub.data
        lower, upper = row_lower[self.rows], row_upper[self.rows]
        # each nonzero's bound that limits its column from below (nan where none does)
        self.limit = np.where(
            (self.coef > 0) & np.isfinite(lower),
            lower,
            np.where((self.coef < 0) & np.isfinite(upper), upper, np.nan),
        )

    def needed(self, col_value: np.ndarray, row_value: np.ndarray) -> dict[str, np.ndarray]:
        """Per trimmable field (the Fleet's shape): the least quantity with every other column
        at `col_value` (0 where the column enters no row that limits it from below)."""
        activity = row_value - self.excess @ col_value[self.excess_cols]
        rest = activity[self.rows] - self.coef * col_value[self.cols][self.entry]
        need = np.where(np.isnan(self.limit), 0.0, (self.limit - rest) / self.coef)
        least = np.zeros(self.cols.size)
        np.maximum.at(least, self.entry, need)
        quantity = np.where(self.scale > 0, least / np.where(self.scale > 0, self.scale, 1), 0)
        out = {name: np.zeros(shape) for name, shape in self.shapes.items()}
        for (name, pos), q in zip(self.field, quantity, strict=True):
            out[name].flat[pos] = q
        return out


class Trimmer:
    """The master's first-stage LP (purchases, builds and the in-service columns they define,
    at their capex and demand charges), for the cheapest plan that holds a point's fleet and
    at least the quantities its operation needs."""

    def __init__(self, lp: highspy.HighsLp, theta: np.ndarray, fleet: dict[str, np.ndarray]):
        """`lp` the master's LP (rows before its relaxation's and cuts' touch only the
        columns before the first theta), `fleet` its columns of each fleet field by period."""
        arrays = LpArrays.of(lp)
        self.n_cols = int(theta.min())
        rows = arrays.matrix.tocsr()
        touches = np.asarray(
            abs(rows[:, self.n_cols :]).sum(axis=1) > 0
        ).ravel()  # relaxation and cut rows
        first = int(np.argmax(touches)) if touches.any() else rows.shape[0]
        base = rows[:first, : self.n_cols]
        self.col_lower = arrays.col_lower[: self.n_cols]
        self.col_upper = arrays.col_upper[: self.n_cols]
        self.fleet = fleet
        self.highs = highspy.Highs()
        self.highs.silent()
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(
            highs_lp(
                arrays.cost[: self.n_cols], 0.0, base,
                arrays.row_lower[:first], arrays.row_upper[:first],
                self.col_lower, self.col_upper,
            )
        )  # fmt: skip

    def bounds(
        self, point: np.ndarray, needs: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Column bounds: the held fields at the point, solar at least the point's, the
        trimmed fields at least `needs` (name -> (Y, *shape))."""
        lower, upper = self.col_lower.copy(), self.col_upper.copy()
        for name in HELD:
            ix = self.fleet[name]
            on = ix >= 0
            lower[ix[on]] = upper[ix[on]] = point[ix[on]]
        for name in AT_LEAST:
            ix = self.fleet[name]
            on = ix >= 0
            lower[ix[on]] = np.maximum(lower[ix[on]], point[ix[on]])
        for name, need in needs.items():
            ix = self.fleet[name]
            on = ix >= 0
            kept = np.where(
                need[on] > 0, need[on] + np.maximum(NEED_MARGIN_MW, NEED_MARGIN * need[on]), 0.0
            )
            # a need read off row activities may pass the point's quantity by the solver's
            # tolerance: held to it, except where the operation paid for more (peaks)
            least = kept if name in RAISED else np.minimum(kept, point[ix[on]])
            lower[ix[on]] = np.maximum(lower[ix[on]], least)
        return lower, np.maximum(upper, lower)

    def period_needs(
        self, years: list[int], needed: list[dict[str, np.ndarray] | None]
    ) -> dict[str, np.ndarray]:
        """Each period's need of every trimmed field, the most of its blocks' (name -> (Y,
        *shape)); `needed` each block's, in the order of `years`, none of them None."""
        needs = {name: np.zeros(self.fleet[name].shape) for name in TRIMMED}
        for year, need in zip(years, needed, strict=True):
            assert need is not None
            for name in TRIMMED:
                needs[name][year] = np.maximum(needs[name][year], need[name])
        return needs

    def point(
        self, point: np.ndarray, years: list[int], needed: list[dict[str, np.ndarray] | None]
    ) -> np.ndarray | None:
        """The trimmed plan as a master point (None if a block gave no need or the LP failed):
        each period's need the most of its blocks'."""
        if any(n is None for n in needed):
            return None
        lower, upper = self.bounds(point, self.period_needs(years, needed))
        cols = np.arange(self.n_cols, dtype=np.int32)
        self.highs.changeColsBounds(self.n_cols, cols, lower, upper)
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        out = np.array(point, dtype=float)
        out[: self.n_cols] = np.asarray(self.highs.getSolution().col_value)
        # in-service columns are defined by equality rows, so the LP leaves them up to its
        # feasibility tolerance below their bounds (p20y10s10: IT MW 9e-8, solar 9e-8 MW),
        # enough to leave the blocks short: the fleet the blocks see is held to its bounds
        for ix in self.fleet.values():
            on = ix[ix >= 0]
            out[on] = np.maximum(out[on], lower[on])
        return out


class PlanTrim:
    """Trims a pass's cheapest plan to its operation's use and tells `told` the trimmed plan
    and its cost, counted without a pass of its own: the first stage at its capex and charges,
    and each block's operation as priced at the untrimmed plan less what it paid as excess over
    the peaks (the same operation fits the trimmed plan, whose peaks cover its imports, so its
    optimum costs no more). The loop takes it as the best plan if cheaper, never as the core."""

    def __init__(
        self,
        trimmer: Trimmer,
        years: list[int],
        cost: np.ndarray,
        told: Callable[[float, np.ndarray], None],
    ):
        """`years` each block's period, in block order; `cost` the master's first-stage cost
        per column (models/benders_master.Master.cost)."""
        self.trimmer, self.years, self.cost, self.told = trimmer, years, cost, told

    def __call__(self, found: list[tuple[list[Any], np.ndarray]], total: float, at: Any) -> None:
        """Trim the plan at `at` (one of `found`'s points, costing `total`; inf: no plan)."""
        if at is None or not math.isfinite(total):
            return
        results = next(r for r, point in found if point is at)
        trimmed = self.trimmer.point(at, self.years, [r.needed for r in results])
        if trimmed is None:
            return
        operation = sum(r.value - r.excess_cost for r in results)
        self.told(float(self.cost @ trimmed[: self.cost.size]) + operation, trimmed)
