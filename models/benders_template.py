"""The subproblem LPs of a plan period's representative days from four Pyomo builds, not one per
day (models/benders_sub.py builds and compiles a block in about 1.3 s; p20y10s20d12 has 240).

The days of one period differ in the hours each step stands for (the same for every step of a
day: the days of the year it represents), the sun (the solar capacity factor per site and step)
and on some days the energy price (per site and step); a day whose other inputs (its demand,
say) differ is built by Pyomo or makes a template of its own. Every number of the compiled LP
(costs, bounds, matrix values, the offset) is then W^a x f[s,t]^c x b (a, c in {0, 1}) or, for
a number holding a price, W^a x (b + m p[s,t]) (the energy bill: price plus carbon, times
hours): W the day's hours per step, f the sun and p the price at one site and step. Three probes
name each number's form: P1 with W = 1 and sun and price 1 everywhere; P0, P1 at price 0 (a
number that moves holds a price: b is P0, m is P1 - P0); P2 with W = 2, the sun labelled
3 + (i + 1/2)/n distinct for each of the n (site, step) cells and the price likewise in (10, 11).
For a number without price P2/P1 is 1 (constant), 2 (the hours), a label in (3, 4) (that cell's
sun) or twice one, in (6, 8); for one with a price (P2/2^a - b)/m is a price label for exactly
one a. A number of any other form (a product of two cells, a power) or probes of different
sparsity leave the kind of day to Pyomo. The template is checked on its first day, which Pyomo
builds anyway: stamped with that day's hours, sun and prices it must equal Pyomo's LP to 1e-12,
or the days of its kind are built by Pyomo. Stamping a day is numpy on the LP's arrays
(milliseconds)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from models.benders_sub import Compiled, compile_block
from models.capacity import CapacityCosts as Costs
from models.capacity import CapacityInputs, CapacitySolution
from models.capacity_pyomo import build
from models.capacity_pyomo_solve import read_solution
from models.common import SolveStats
from models.mps import lp_from_pyomo

DAY_FIELDS = frozenset(
    {"weight_h", "day", "solar_capacity_factor", "price_per_mwh"}
)  # what differs between days
LABEL_LOW = 3.0  # P2's sun labels lie in (3, 4): apart from 1 and 2, and doubled in (6, 8)
PRICE_LOW = 10.0  # P2's price labels lie in (10, 11)
MATCH_RTOL = 1e-9  # a ratio P2/P1 names a form when within this of it
CHECK_RTOL = 1e-12  # the stamped first day against Pyomo's


@dataclass(frozen=True)
class Stamp:
    """One LP vector's numbers as W^hours x (b + m x p.flat[price]) x f.flat[sun]: sun -1 where
    a number holds no sun, price -1 (and m 0) where it holds no price."""

    base: np.ndarray
    hours: np.ndarray  # bool
    sun: np.ndarray  # int, -1 where the number holds no sun
    slope: np.ndarray  # m, per unit of the price
    price: np.ndarray  # int, -1 where the number holds no price

    def at(self, hours_per_step: float, sun: np.ndarray, price: np.ndarray) -> np.ndarray:
        """The vector for a day of `hours_per_step` hours a step, sun (S, T), price (S, 1, T)."""
        out = np.array(self.base, dtype=float)
        on = self.price >= 0
        out[on] = out[on] + self.slope[on] * np.asarray(price, dtype=float).ravel()[self.price[on]]
        out = np.where(self.hours, out * hours_per_step, out)
        on = self.sun >= 0
        out[on] = out[on] * np.asarray(sun, dtype=float).ravel()[self.sun[on]]
        return out


def labels(shape: tuple[int, ...], low: float = LABEL_LOW) -> np.ndarray:
    """P2's values of a day field: distinct in (low, low + 1), one per cell, row-major."""
    n = int(np.prod(shape))
    return (low + (np.arange(n) + 0.5) / n).reshape(shape)


def cell_of(label: np.ndarray, low: float, n_cells: int) -> np.ndarray:
    """The cell a P2 label names (-1 where it names none)."""
    cell = (label - low) * n_cells - 0.5
    index = np.rint(np.where(np.isfinite(cell), cell, -1.0)).astype(int)
    named = np.isclose(cell, index, rtol=0.0, atol=1e-3) & (index >= 0) & (index < n_cells)
    return np.where(named & (label > low) & (label < low + 1), index, -1)


def stamp_of(
    p1: np.ndarray, p2: np.ndarray, n_cells: int, p0: np.ndarray | None = None,
    n_prices: int = 0,
) -> Stamp | None:  # fmt: skip
    """Each number's form from its probes (module docstring; `p0` the probe at price 0, which
    names the numbers holding a price); None if one has no such form."""
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    slope = np.zeros_like(p1)
    if p0 is not None:
        p0 = np.asarray(p0, dtype=float)
        both = np.isfinite(p1) & np.isfinite(p0)
        slope = np.subtract(p1, p0, out=np.zeros_like(p1), where=both)
    priced = slope != 0.0
    fixed = ((p1 == p2) | ~np.isfinite(p1) | (p1 == 0.0)) & ~priced
    if not np.array_equal(p1[fixed], p2[fixed], equal_nan=True):
        return None
    ratio = np.divide(p2, p1, out=np.ones_like(p1), where=~fixed & ~priced)
    hours = np.isclose(ratio, 2.0, rtol=MATCH_RTOL, atol=0.0) | (ratio > 2 * LABEL_LOW)
    sunny = ratio / np.where(hours, 2.0, 1.0)
    has_sun = sunny > LABEL_LOW
    sun = cell_of(sunny, LABEL_LOW, n_cells)
    constant = np.isclose(sunny, 1.0, rtol=MATCH_RTOL, atol=0.0)
    ok = fixed | np.where(has_sun, sun >= 0, constant)
    base, price = np.where(priced, p0 if p0 is not None else p1, p1), np.full(p1.shape, -1)
    if priced.any():
        safe = np.where(priced, slope, 1.0)
        at_one = cell_of((p2 - base) / safe, PRICE_LOW, n_prices)  # W^0
        at_two = cell_of((p2 / 2.0 - base) / safe, PRICE_LOW, n_prices)  # W^1
        one_form = (at_one >= 0) != (at_two >= 0)
        ok = np.where(priced, one_form, ok)
        hours = np.where(priced, at_two >= 0, hours)
        price = np.where(priced, np.maximum(at_one, at_two), -1)
        sun = np.where(priced, -1, sun)
    if not np.all(ok):
        return None
    return Stamp(base, hours & ~fixed, np.where(has_sun & ~fixed & ~priced, sun, -1),
                 np.where(priced, slope, 0.0), price)  # fmt: skip


@dataclass
class DayTemplate:
    """A period's subproblem LP with its days' hours, sun and prices left open."""

    x: CapacityInputs  # the first day's subproblem inputs: what every other day must share
    first: Compiled  # Pyomo's LP of the first day: its rows, columns and sparsity
    vectors: dict[str, Stamp]  # col_cost_, col_lower_, col_upper_, row_lower_, row_upper_, value_
    offset: Stamp
    model: Any = None  # the first day's Pyomo model and compiled form, built to read operations

    @property
    def costs_in_hours(self) -> bool:
        """Every cost of the LP is proportional to the day's hours and holds no sun: then a
        day's costs are the first day's model's at its values, scaled by the hours' ratio."""
        cost, offset = self.vectors["col_cost_"], self.offset
        return all(bool(np.all((s.base == 0) | (s.hours & (s.sun < 0)))) for s in (cost, offset))

    def read(
        self, values: np.ndarray, x: CapacityInputs, stats: SolveStats
    ) -> CapacitySolution | None:
        """A stamped day's operation at its LP's column values, read through the first day's
        Pyomo model (built once, on first use): its variables take the day's values, its costs
        are scaled by the day's hours over the first day's. None where that would not be the
        day's own reading (costs not in proportion to hours, variables the compiler removed)."""
        if not self.costs_in_hours or not same(x.price_per_mwh, self.x.price_per_mwh):
            return None
        if self.model is None:
            model = build(self.x)
            self.model = (model, lp_from_pyomo(model)[1])
        model, form = self.model
        if form.eliminated_vars or len(form.columns) != values.shape[0]:
            return None
        for var, value in zip(form.columns, values, strict=True):
            var.set_value(float(value), skip_validation=True)
        read = read_solution(model, replace(x, relax=False), stats, "highs")
        assert read.costs is not None, "a read solution carries its costs"
        ratio = float(x.weight_h[0]) / float(self.x.weight_h[0])
        costs = {f.name: getattr(read.costs, f.name) * ratio for f in dataclasses.fields(Costs)}
        return replace(read, costs=replace(read.costs, **costs), objective=read.objective * ratio)

    def fits(self, x: CapacityInputs) -> bool:
        """Whether a day's subproblem inputs are this template's but for `DAY_FIELDS`."""
        return day_variants(x, self.x)

    def compiled(self, x: CapacityInputs) -> Compiled:
        """The LP of the day `x` (which `fits`), stamped: the first day's rows and columns."""
        hours, sun, price = float(x.weight_h[0]), x.solar_capacity_factor, x.price_per_mwh
        lp, v = self.first.lp, {k: s.at(hours, sun, price) for k, s in self.vectors.items()}
        out = highspy.HighsLp()
        out.num_row_, out.num_col_ = lp.num_row_, lp.num_col_
        out.col_cost_, out.col_lower_, out.col_upper_ = (
            v["col_cost_"],
            v["col_lower_"],
            v["col_upper_"],
        )
        out.row_lower_, out.row_upper_ = v["row_lower_"], v["row_upper_"]
        out.offset_ = float(self.offset.at(hours, sun, price)[0])
        out.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        out.a_matrix_.start_ = lp.a_matrix_.start_
        out.a_matrix_.index_ = lp.a_matrix_.index_
        out.a_matrix_.value_ = v["value_"]
        return replace(self.first, lp=out, reader=self.read)


def uniform_hours(x: CapacityInputs) -> bool:
    """Every step of the block stands for the same positive hours (one representative day)."""
    w = np.asarray(x.weight_h, dtype=float)
    return w.size > 0 and bool(np.all(w == w[0])) and w[0] > 0


def day_variants(a: CapacityInputs, b: CapacityInputs) -> bool:
    """Two subproblems' inputs that one template stamps: the same but for `DAY_FIELDS`, each
    with the same hours at every step."""
    return (
        uniform_hours(a)
        and uniform_hours(b)
        and all(
            f.name in DAY_FIELDS or same(getattr(a, f.name), getattr(b, f.name))
            for f in dataclasses.fields(a)
        )
    )


def same(a: Any, b: Any) -> bool:
    """Equal inputs: arrays element by element, dataclasses field by field."""
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        floats = a.dtype.kind == "f" and b.dtype.kind == "f"
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=floats)
    return bool(a == b)


LP_VECTORS = ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_")


def lp_vectors(lp: highspy.HighsLp) -> dict[str, np.ndarray]:
    """An LP's numbers by name (the matrix's values as `value_`), and its offset."""
    out = {k: np.asarray(getattr(lp, k), dtype=float) for k in LP_VECTORS}
    out["value_"] = np.asarray(lp.a_matrix_.value_, dtype=float)
    out["offset_"] = np.array([float(lp.offset_)])
    return out


def same_sparsity(a: highspy.HighsLp, b: highspy.HighsLp) -> bool:
    """Same rows, columns and nonzero pattern."""
    return (a.num_row_, a.num_col_) == (b.num_row_, b.num_col_) and all(
        np.array_equal(getattr(a.a_matrix_, k), getattr(b.a_matrix_, k))
        for k in ("start_", "index_")
    )


def equal_lps(a: highspy.HighsLp, b: highspy.HighsLp) -> bool:
    """The same LP to `CHECK_RTOL` (explicit zeros aside: a stamped night leaves sun at 0)."""
    va, vb = lp_vectors(a), lp_vectors(b)
    if any(
        not np.allclose(va[k], vb[k], rtol=CHECK_RTOL, atol=0.0, equal_nan=True)
        for k in (*LP_VECTORS, "offset_")
    ):
        return False
    ma, mb = matrix(a), matrix(b)
    if ma.shape != mb.shape:
        return False
    diff = abs(ma - mb)
    return bool(diff.max() <= CHECK_RTOL * max(abs(ma).max(), 1.0)) if diff.nnz else True


def matrix(lp: highspy.HighsLp) -> Any:
    """The LP's matrix, rows x columns, zeros dropped."""
    a = lp.a_matrix_
    m = sp.csc_matrix((a.value_, a.index_, a.start_), shape=(lp.num_row_, lp.num_col_))
    m.eliminate_zeros()
    return m


def make_template(x: CapacityInputs, first: Compiled) -> DayTemplate | None:
    """The period's template from its first day (compiled by Pyomo) and three probes; None where
    the days cannot be stamped (module docstring), leaving them to Pyomo."""
    if not uniform_hours(x):
        return None
    w = np.asarray(x.weight_h, dtype=float)
    shape, prices = np.shape(x.solar_capacity_factor), np.shape(x.price_per_mwh)
    one = replace(
        x, weight_h=np.ones_like(w), solar_capacity_factor=np.ones(shape),
        price_per_mwh=np.ones(prices),
    )  # fmt: skip
    two = replace(
        x, weight_h=np.full_like(w, 2.0), solar_capacity_factor=labels(shape),
        price_per_mwh=labels(prices, PRICE_LOW),
    )  # fmt: skip
    free = replace(one, price_per_mwh=np.zeros(prices))
    p1, p2, p0 = (compile_block(probe).lp for probe in (one, two, free))
    if not (
        same_sparsity(p1, p2)
        and same_sparsity(p1, p0)
        and (p1.num_row_, p1.num_col_) == (first.lp.num_row_, first.lp.num_col_)
    ):
        return None
    n_cells, n_prices = int(np.prod(shape)), int(np.prod(prices))
    v1, v2, v0 = lp_vectors(p1), lp_vectors(p2), lp_vectors(p0)
    stamps = {k: stamp_of(v1[k], v2[k], n_cells, v0[k], n_prices) for k in v1}
    if any(s is None for s in stamps.values()):
        return None
    offset = stamps.pop("offset_")
    assert offset is not None
    probe = replace(first, lp=p1)  # the probes' sparsity: a stamped night keeps its zeros
    template = DayTemplate(x, probe, {k: s for k, s in stamps.items() if s is not None}, offset)
    return template if equal_lps(template.compiled(x).lp, first.lp) else None
