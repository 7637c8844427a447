"""The weak-duality bound of any row prices (models/benders_dual_bound.py): never above the
optimum, whatever the prices, and tight at an interior point's prices."""

from __future__ import annotations

import math

import highspy
import numpy as np
import pytest
import scipy.sparse as sp

from models.benders_dual_bound import LpArrays, dual_bound, highs_dual_bound
from models.benders_inputs import blocks
from models.benders_master import Master
from tests.test_benders import inputs

INF = math.inf


def lp(cost, col_lower, col_upper, rows, row_lower, row_upper) -> LpArrays:  # type: ignore[no-untyped-def]
    arrays = [np.asarray(v, dtype=float) for v in (cost, col_lower, col_upper)]
    matrix = sp.csc_matrix(np.asarray(rows, dtype=float))
    return LpArrays(*arrays, np.asarray(row_lower, float), np.asarray(row_upper, float), matrix)


# min x1 + 2 x2 subject to x1 + x2 >= 1, x >= 0: optimum 1 (x1 = 1), row price 1
COVER = lp([1, 2], [0, 0], [INF, INF], [[1, 1]], [1], [INF])


def test_the_optimal_price_gives_the_optimum_and_others_less() -> None:
    assert dual_bound(COVER, np.array([1.0])) == pytest.approx(1.0, abs=1e-12)
    assert dual_bound(COVER, np.array([0.5])) == pytest.approx(0.5, abs=1e-12)
    assert dual_bound(COVER, np.array([-3.0])) == pytest.approx(0.0, abs=1e-12)  # sign fitted


def test_a_price_too_high_is_repaired_not_taken_as_minus_infinity() -> None:
    """At y = 1.5 the reduced cost of x1 (unbounded above) is -0.5: the bound would be -inf;
    the repair lowers the row's price to 1, where the bound is the optimum."""
    assert dual_bound(COVER, np.array([1.5])) == pytest.approx(1.0, abs=1e-12)


def test_a_free_column_on_an_equality_row_is_priced_exactly() -> None:
    """z = x1 + x2 defined by an equality row (z free), min z + x1 with x1 + x2 >= 1: optimum 1
    (x2 = 1). Prices off by 1e-7 leave z's reduced cost 1e-7: the repair closes it."""
    defined = lp(
        [1, 1, 0], [-INF, 0, 0], [INF, INF, INF], [[1, -1, -1], [0, 1, 1]], [0, 1], [0, INF]
    )
    assert dual_bound(defined, np.array([1.0 + 1e-7, 1.0])) == pytest.approx(1.0, abs=1e-6)
    assert dual_bound(defined, np.array([1.0 + 1e-7, 1.0])) <= 1.0


def solve(arrays: LpArrays) -> tuple[float, np.ndarray]:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    m = arrays.matrix
    h.addCols(len(arrays.cost), arrays.cost, arrays.col_lower, arrays.col_upper, 0, [], [], [])
    csr = m.tocsr()
    h.addRows(
        m.shape[0], arrays.row_lower, arrays.row_upper, csr.nnz, csr.indptr, csr.indices, csr.data
    )
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value, np.asarray(h.getSolution().row_dual)


def random_lp(rng: np.random.Generator) -> LpArrays:
    """A bounded, feasible random LP with free and one-sided columns and equality rows."""
    n, m = 12, 8
    a = rng.normal(size=(m, n)) * (rng.random((m, n)) < 0.5)
    x0 = rng.random(n)  # a feasible point
    activity = a @ x0
    kind = rng.integers(0, 3, m)  # 0: >=, 1: <=, 2: =
    row_lower = np.where(kind == 1, -INF, activity - (kind == 0) * rng.random(m))
    row_upper = np.where(kind == 0, INF, activity + (kind == 1) * rng.random(m))
    col_lower = np.where(rng.random(n) < 0.2, -INF, 0.0)
    col_upper = np.where(rng.random(n) < 0.5, INF, 2.0)
    cost = rng.normal(size=n)
    # keep it bounded: every column with an infinite side costs toward that side
    cost[~np.isfinite(col_upper)] = np.abs(cost[~np.isfinite(col_upper)]) + 0.1
    col_lower[~np.isfinite(col_lower) & ~np.isfinite(col_upper)] = 0.0
    below = ~np.isfinite(col_lower)
    cost[below] = -np.abs(cost[below]) - 0.1
    return lp(cost, col_lower, col_upper, a, row_lower, row_upper)


@pytest.mark.parametrize("seed", range(40))
def test_no_prices_give_a_bound_above_the_optimum(seed: int) -> None:
    """Weak duality: at the optimal prices the bound is the optimum; at prices perturbed by up
    to 50% of their size, or at random, it is never above it."""
    rng = np.random.default_rng(seed)
    arrays = random_lp(rng)
    optimum, prices = solve(arrays)
    assert dual_bound(arrays, prices) == pytest.approx(optimum, rel=1e-7, abs=1e-7)
    for _ in range(20):
        size = prices.size
        noisy = prices * (1 + 0.5 * rng.normal(size=size)) + 0.1 * rng.normal(size=size)
        assert dual_bound(arrays, noisy) <= optimum + 1e-9 * (1 + abs(optimum))


def test_a_benders_master_by_interior_point_is_bounded_within_its_tolerance() -> None:
    """flexible_connection's master (the serving relaxation, relaxation columns unbounded):
    after the interior point without crossover its prices bound the vertex optimum from below,
    within 1e-7 of it."""
    x = inputs("flexible_connection", True)
    master = Master(x, blocks(x), {"threads": 1}, True)
    master.use_interior_point(True)
    master.solve()
    bound = highs_dual_bound(master.highs)
    master.use_interior_point(False)
    master.highs.clearSolver()
    _, _, vertex, _ = master.solve()
    assert bound <= vertex + 1e-9 * abs(vertex)
    assert bound == pytest.approx(vertex, rel=1e-7)


def test_a_highs_lp_held_by_row_reads_as_the_same_matrix() -> None:
    """HiGHS may hold its matrix row-wise; the arrays are the same LP either way."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.addCols(2, np.array([1.0, 2.0]), np.zeros(2), np.full(2, highspy.kHighsInf), 0, [], [], [])
    h.addRows(1, np.array([1.0]), np.array([highspy.kHighsInf]), 2, [0], [0, 1], [1.0, 3.0])
    lp = h.getLp()
    by_column = LpArrays.of(lp).matrix.toarray()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = [0, 2], [0, 1], [1.0, 3.0]
    assert np.array_equal(LpArrays.of(lp).matrix.toarray(), by_column)
    assert np.array_equal(by_column, [[1.0, 3.0]])
