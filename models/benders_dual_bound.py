"""A certified lower bound on an LP from any row prices (weak duality), without a vertex.

For min c'x subject to L <= A x <= U and l <= x <= u, and any row prices y whose signs fit the
rows (y_i > 0 only where L_i is finite, y_i < 0 only where U_i is finite), every feasible x has

    c'x = y'A x + d'x >= sum_i (y_i L_i if y_i > 0 else y_i U_i)
                        + sum_j (d_j l_j if d_j > 0 else d_j u_j),    d = c - A'y,

so the right-hand side bounds the optimum from below whatever y is: no tolerance of the solver
that found y enters it. An interior point's row duals give a bound within about 1e-8 of its
objective on the Benders master (p20y10s10: 3.68418186e10 against 3.68418189e10), in 0.2-1.2 s
where crossover to a vertex takes 8-135 s.

Where a column's needed bound is infinite (a reduced cost d_j < 0 on a column with no upper
bound, or d_j > 0 on one with no lower bound) the sum is -inf. The master's relaxation columns
(unserved work, busy parts, imports) have no upper bound and an interior point leaves their
reduced costs at about -1e-8 instead of 0 (297 of 15,480 columns on p20y10s10 beyond rounding),
so the prices are first repaired (`repair_prices`): each such column's gap is closed by moving
the prices of its rows, each only as far as its sign allows, the rows where the move leaves no
other such column open first, then rows not moved before (in-service columns defined through
chains of equality rows otherwise send the repair round in circles: flexible_connection); the
bound moves by each row's bound times its price's move (about 1e-8 of it).
Neumaier and Shcherbina ("Safe bounds in linear and mixed-integer linear programming", Math.
Program. 99, 2004) make the same argument for bounds safe from rounding; here the solver's
tolerances are what is guarded against: a margin of a few units in the last place of every term
covers the rounding of this sum, and a reduced cost within the rounding of its own sum counts as
0, which on a column with no bound is exact only to that rounding (1e-16 of the column's terms).

Where the repair leaves a column open the bound is -inf and the caller falls back to a vertex
(models/benders.py, `master_bound`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

REPAIR_PASSES = 8  # sweeps over the columns whose needed bound is infinite
ROUNDING_MARGIN = 8 * np.finfo(float).eps  # per unit of each term's magnitude


@dataclass(frozen=True)
class LpArrays:
    """An LP as arrays: min c'x + offset, L <= A x <= U, l <= x <= u (inf where unbounded)."""

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: sp.csc_matrix
    offset: float = 0.0

    @classmethod
    def of(cls, lp: highspy.HighsLp) -> LpArrays:
        """The arrays of a HiGHS LP (its infinity becomes numpy's; its matrix held by column or
        by row, as HiGHS has it)."""
        a = lp.a_matrix_
        shape = (lp.num_row_, lp.num_col_)
        parts = (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_))
        by_row = a.format_ == highspy.MatrixFormat.kRowwise
        matrix = (
            sp.csr_matrix(parts, shape=shape) if by_row else sp.csc_matrix(parts, shape=shape)
        ).tocsc()
        return cls(
            cost=_inf(lp.col_cost_),
            col_lower=_inf(lp.col_lower_),
            col_upper=_inf(lp.col_upper_),
            row_lower=_inf(lp.row_lower_),
            row_upper=_inf(lp.row_upper_),
            matrix=matrix,
            offset=float(lp.offset_),
        )


def _inf(values: object) -> np.ndarray:
    """HiGHS's infinity (1e30 and beyond) as numpy's."""
    out = np.asarray(values, dtype=float).copy()
    out[out >= highspy.kHighsInf] = np.inf
    out[out <= -highspy.kHighsInf] = -np.inf
    return out


def sign_fitted(lp: LpArrays, prices: np.ndarray) -> np.ndarray:
    """Row prices with every sign the row cannot take set to 0 (y_i > 0 needs a finite L_i,
    y_i < 0 a finite U_i)."""
    y = np.asarray(prices, dtype=float).copy()
    y[(y > 0) & ~np.isfinite(lp.row_lower)] = 0.0
    y[(y < 0) & ~np.isfinite(lp.row_upper)] = 0.0
    return y


def reduced_costs(lp: LpArrays, prices: np.ndarray) -> np.ndarray:
    """d = c - A'y, each entry within the rounding of its own sum (a few units in the last place
    of |c_j| + sum_i |a_ij y_i|) taken as exactly 0: a defined column (free, fixed by an
    equality row) then multiplies no infinite bound for want of its last bits."""
    reduced = lp.cost - lp.matrix.T @ prices
    scale = np.abs(lp.cost) + np.abs(lp.matrix).T @ np.abs(prices)
    reduced[np.abs(reduced) <= ROUNDING_MARGIN * scale] = 0.0
    return reduced


def needed_bounds(lp: LpArrays, reduced: np.ndarray) -> np.ndarray:
    """The column bound each reduced cost multiplies: l_j where d_j > 0, u_j where d_j < 0."""
    return np.where(reduced > 0, lp.col_lower, np.where(reduced < 0, lp.col_upper, 0.0))


def repair_prices(lp: LpArrays, prices: np.ndarray) -> np.ndarray:
    """Prices moved, row by row, until no reduced cost multiplies an infinite column bound (or
    REPAIR_PASSES sweeps are done). A column j with d_j < 0 and no upper bound needs sum_i a_ij
    y_i lowered by -d_j (and the mirror for d_j > 0 without a lower bound), taken from its rows
    whose prices may move that way, each as far as its sign allows: first the rows where the
    move sends no other such column the wrong way, then rows not moved before, then the largest
    |a_ij| (the smallest move). A defined column and the columns it is defined from share
    equality rows: without the preference for unmoved rows, a row fixing one spoils the other
    and the repair goes round in circles (flexible_connection's last masters)."""
    y = prices.copy()
    rows = lp.matrix.tocsr()
    moved = np.zeros(y.size, dtype=bool)
    for _ in range(REPAIR_PASSES):
        reduced = lp.cost - lp.matrix.T @ y
        bad = np.flatnonzero(~np.isfinite(needed_bounds(lp, reduced_costs(lp, y))))
        if bad.size == 0:
            break
        for j in bad:
            close_gap(lp, rows, y, reduced, int(j), moved)
    return y


def close_gap(
    lp: LpArrays, rows: sp.csr_matrix, y: np.ndarray, reduced: np.ndarray, j: int,
    moved: np.ndarray,
) -> None:  # fmt: skip
    """Move the prices of column j's rows (y and `reduced` updated in place) to bring d_j to 0."""
    start, end = lp.matrix.indptr[j], lp.matrix.indptr[j + 1]
    members, coefficients = lp.matrix.indices[start:end], lp.matrix.data[start:end]
    wanted = float(reduced[j])  # sum_i a_ij dy_i must equal d_j
    moves = [_room(lp, y, int(i), wanted / a) for i, a in zip(members, coefficients, strict=True)]
    harm = _harms(lp, rows[members], reduced, np.asarray(moves), j)
    for k in np.lexsort((-np.abs(coefficients), moved[members], harm)):
        if wanted == 0.0:
            break
        i, a = int(members[k]), float(coefficients[k])
        delta = _room(lp, y, i, wanted / a)
        if delta == 0.0:
            continue
        y[i] += delta
        moved[i] = True
        begin, stop = rows.indptr[i], rows.indptr[i + 1]
        reduced[rows.indices[begin:stop]] -= rows.data[begin:stop] * delta
        wanted -= a * delta
        if abs(wanted) <= ROUNDING_MARGIN * abs(a * delta):
            wanted = 0.0


def _room(lp: LpArrays, y: np.ndarray, i: int, delta: float) -> float:
    """The part of the price change `delta` row i's sign allows (its price may cross 0 only to
    a side whose row bound is finite)."""
    new = y[i] + delta
    wrong_side = (new > 0 and not math.isfinite(lp.row_lower[i])) or (
        new < 0 and not math.isfinite(lp.row_upper[i])
    )
    if wrong_side:
        return -y[i] if y[i] * delta < 0 else 0.0  # to zero, no further
    return delta


def _harms(
    lp: LpArrays, sub: sp.csr_matrix, reduced: np.ndarray, deltas: np.ndarray, j: int
) -> np.ndarray:
    """For each row of `sub` (column j's rows), how many other columns its price change would
    leave with a reduced cost on the side of an infinite bound (d_k < 0 where u_k is infinite,
    > 0 where l_k is): a purchase whose positive cost leaves it room takes the change; a defined
    column does not."""
    counts = np.diff(sub.indptr)
    cols = sub.indices
    after = reduced[cols] - sub.data * np.repeat(deltas, counts)
    spoiled = ((after < 0) & ~np.isfinite(lp.col_upper[cols])) | (
        (after > 0) & ~np.isfinite(lp.col_lower[cols])
    )
    spoiled &= (cols != j) & np.repeat(deltas != 0.0, counts)
    return np.bincount(np.repeat(np.arange(counts.size), counts), spoiled, counts.size)


def dual_bound(lp: LpArrays, prices: np.ndarray) -> float:
    """The weak-duality lower bound of the LP at `prices` (repaired first), less a rounding
    margin; -inf where some column's needed bound stays infinite."""
    y = repair_prices(lp, sign_fitted(lp, prices))
    reduced = reduced_costs(lp, y)
    at = needed_bounds(lp, reduced)
    if not np.all(np.isfinite(at)):
        return -math.inf
    row_side = np.where(y > 0, lp.row_lower, np.where(y < 0, lp.row_upper, 0.0))
    row_terms = np.where(y != 0, y * row_side, 0.0)
    col_terms = np.where(reduced != 0, reduced * at, 0.0)
    # the rounding of every term, and of the reduced costs `reduced_costs` took as 0 on
    # columns with a finite bound: each within ROUNDING_MARGIN of |c_j| + sum_i |a_ij y_i|
    magnitude = np.abs(lp.matrix).T @ np.abs(y) + np.abs(lp.cost)
    size = np.maximum(_finite_abs(lp.col_lower), _finite_abs(lp.col_upper))
    margin = ROUNDING_MARGIN * (
        math.fsum(np.abs(row_terms)) + math.fsum(magnitude * size) + abs(lp.offset)
    )
    return lp.offset + math.fsum(row_terms) + math.fsum(col_terms) - margin


def _finite_abs(values: np.ndarray) -> np.ndarray:
    """|v| where finite, else 0."""
    return np.where(np.isfinite(values), np.abs(values), 0.0)


def highs_dual_bound(highs: highspy.Highs) -> float:
    """The weak-duality bound of the LP a HiGHS instance last solved, at its row duals (any
    duals: an interior point stopped early gives a valid, weaker bound); -inf without them."""
    solution = highs.getSolution()
    if not solution.dual_valid:
        return -math.inf
    return dual_bound(LpArrays.of(highs.getLp()), np.asarray(solution.row_dual))
