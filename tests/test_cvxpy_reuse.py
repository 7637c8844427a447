"""A sweep reuses cvxpy's compilation of an LP for the next problem of the same shape
(models/cvxpy_reuse.py): the compiled numbers equal a fresh compilation's exactly, the solution
read back equals a cold solve's, and anything it cannot prove the same compiles as usual."""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import cvxpy.settings as s
import numpy as np
import pytest
import scipy.sparse as sp

from models.cvxpy_reuse import ReuseStore, tree_of
from models.highs_warm import BasisStore, solve_lp
from planner.plan.libraries import cached_libraries
from planner.plan.overrides import apply_overrides
from planner.plan.resolve import resolve
from planner.plan.scenario import find_scenario
from planner.plan.solve import solve_plan
from planner.sweeps.sweep import SweepSpec, plan_cases

TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")
FLAGSHIP_3 = find_scenario("us_b200_battery")


def lp(cost: list[float], demand: float, weight: float = 1.0, cap: float = 10.0) -> cp.Problem:
    """min cost'x + 0.1 t s.t. x0 + w x1 >= d, x1 + x2 >= d/2 (a sparse row), x <= cap,
    t >= x0 - x2, t >= 0."""
    x = cp.Variable(3, nonneg=True, name="x")
    t = cp.Variable(nonneg=True, name="t")
    rows = sp.csr_matrix(np.array([[0.0, 1.0, 1.0]]))
    constraints = [
        x[0] + weight * x[1] >= demand,
        rows @ x >= demand / 2,
        x <= cap,
        t >= x[0] - x[2],
    ]
    return cp.Problem(cp.Minimize(np.array(cost) @ x + 0.1 * t), constraints)


def cold(problem: cp.Problem) -> cp.Problem:
    problem.solve(solver=cp.HIGHS)
    return problem


def assert_same_solution(got: cp.Problem, want: cp.Problem) -> None:
    assert got.status == want.status == "optimal"
    assert got.value == pytest.approx(want.value, rel=1e-9, abs=1e-9)
    for a, b in zip(got.variables(), want.variables(), strict=True):
        np.testing.assert_allclose(a.value, b.value, atol=1e-9)
    for a, b in zip(got.constraints, want.constraints, strict=True):
        np.testing.assert_allclose(a.dual_value, b.dual_value, atol=1e-9)


def assert_same_data(got: dict, want: dict) -> None:
    """Compiled LPs equal entry for entry (not merely to a tolerance)."""
    a, b = got[s.A].tocsc(), want[s.A].tocsc()
    a.eliminate_zeros()
    b.eliminate_zeros()
    assert a.shape == b.shape and abs(a - b).max() == 0.0
    np.testing.assert_array_equal(a.indices, b.indices)
    for key in (s.B, s.C, s.LOWER_BOUNDS, s.UPPER_BOUNDS):
        np.testing.assert_array_equal(got.get(key), want.get(key))


# --------------------------------------------------------------------------- shapes


def test_the_shape_sees_structure_and_not_the_constants_values() -> None:
    base = tree_of(lp([1.0, 2.0, 3.0], 4.0)).shape
    assert tree_of(lp([3.0, 1.0, 0.5], 9.0, weight=2.0, cap=7.0)).shape == base
    x = cp.Variable(3, nonneg=True)
    other_index = cp.Problem(cp.Minimize(x[1]), [x[0] >= 1])
    assert tree_of(other_index).shape != tree_of(cp.Problem(cp.Minimize(x[0]), [x[0] >= 1])).shape
    y = cp.Variable(3)  # the same tree but a variable without its sign
    assert (
        tree_of(cp.Problem(cp.Minimize(y[0]), [y[0] >= 1])).shape
        != tree_of(cp.Problem(cp.Minimize(x[0]), [x[0] >= 1])).shape
    )


# --------------------------------------------------------------------------- reuse


def test_later_problems_compile_through_one_template_to_the_same_numbers() -> None:
    store = ReuseStore()
    numbers = [([1.0, 2.0, 3.0], 4.0, 1.0), ([2.5, 2.0, 2.5], 5.0, 1.5), ([0.5, 3.0, 1.0], 6.0, 2)]
    for cost, demand, weight in numbers:
        compiled = store.compile(lp(cost, demand, weight))
        assert_same_data(compiled.data, lp(cost, demand, weight).get_problem_data(cp.HIGHS)[0])
    assert (store.compiled, store.reused) == (1, 2)
    entry = next(iter(store.entries.values()))
    # cost, demand, demand / 2 and weight
    assert entry.template is not None and len(entry.template.params) == 4


@pytest.mark.parametrize("reuse", [True, False])
def test_solutions_through_a_template_equal_cold_solves(reuse: bool) -> None:
    # no bases kept: each solve starts cold, as the reference does (this LP has several optimal
    # duals, and a warm start may end at another of them)
    store = BasisStore(limit=0, reuse=ReuseStore() if reuse else None)
    for cost, demand in [([1.0, 2.0, 3.0], 4.0), ([2.5, 2.0, 2.5], 5.0), ([3.0, 2.0, 0.5], 8.0)]:
        problem = lp(cost, demand)
        solve_lp(problem, {}, store)
        assert_same_solution(problem, cold(lp(cost, demand)))
    assert store.reuse is None or store.reuse.reused == 2


def test_a_constant_held_fixed_so_far_that_changes_makes_a_wider_template() -> None:
    store = BasisStore(limit=0)
    for cost, demand, cap in [([1.0, 2.0, 3.0], 4.0, 10.0), ([2.0, 2.0, 3.0], 5.0, 10.0)]:
        solve_lp(lp(cost, demand, cap=cap), {}, store)
    assert store.reuse is not None
    entry = next(iter(store.reuse.entries.values()))
    assert entry.template is not None and len(entry.template.params) == 3  # cost, d, d / 2
    problem = lp([2.0, 2.0, 3.0], 6.0, cap=3.5)  # the cap, the same so far, differs and binds
    solve_lp(problem, {}, store)
    assert_same_solution(problem, cold(lp([2.0, 2.0, 3.0], 6.0, cap=3.5)))
    assert len(entry.template.params) == 4 and store.reuse.reused == 2


def test_a_value_against_a_parameters_sign_compiles_as_usual() -> None:
    store = BasisStore(limit=0)
    for demand in (4.0, 5.0):
        solve_lp(lp([1.0, 2.0, 3.0], demand), {}, store)
    negative = lp([1.0, 2.0, 3.0], -4.0)  # the template's demand Parameter is nonneg
    solve_lp(negative, {}, store)
    assert_same_solution(negative, cold(lp([1.0, 2.0, 3.0], -4.0)))
    assert store.reuse is not None and (store.reuse.reused, store.reuse.compiled) == (1, 2)


def test_a_shape_whose_template_is_not_dpp_compiles_every_problem() -> None:
    def product(a: float, b: float) -> cp.Problem:
        x = cp.Variable(2, nonneg=True)
        inner = cp.multiply(np.array([b, 1.0]), x)
        return cp.Problem(cp.Minimize(cp.sum(x)), [cp.multiply(np.array([a, 1.0]), inner) >= 1])

    store = BasisStore(limit=0)
    for a, b in [(1.0, 2.0), (2.0, 3.0), (3.0, 0.5)]:
        problem = product(a, b)  # a and b both vary: a Parameter times a Parameter is not DPP
        solve_lp(problem, {}, store)
        assert_same_solution(problem, cold(product(a, b)))
    assert store.reuse is not None and (store.reuse.reused, store.reuse.compiled) == (0, 3)


def test_a_problem_with_its_own_parameters_compiles_as_usual() -> None:
    store = ReuseStore()
    x, p = cp.Variable(nonneg=True), cp.Parameter(value=2.0)
    for _ in range(2):
        store.compile(cp.Problem(cp.Minimize(x), [x >= p]))
    assert (store.reused, store.compiled, len(store.entries)) == (0, 2, 0)


# --------------------------------------------------------------------------- sweep cases


@pytest.mark.parametrize(("scenario", "cases"), [(TINY, 4), (FLAGSHIP_3, 3)])
def test_sweep_cases_through_a_template_equal_compiling_each(scenario: Path, cases: int) -> None:
    """Cold starts both ways (no bases kept), so HiGHS sees the same LP from the same start and
    the plans are equal, duals included."""
    spec = SweepSpec(scenario, samples=cases, seed=5, relax=True)
    reused, compiled = BasisStore(limit=0), BasisStore(limit=0, reuse=None)
    for case in plan_cases(spec)[0]:
        overridden, regime = apply_overrides(scenario, case.params)
        plan = resolve(overridden, regime=regime, relax=True, libraries=cached_libraries())
        got = solve_plan(plan, bases=reused).solution
        want = solve_plan(plan, bases=compiled).solution
        assert got.objective == want.objective
        for name in ("servers_bought", "battery_built_mwh", "grid_import_mw", "soc_mwh"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.duals is not None and want.duals is not None
        np.testing.assert_array_equal(
            got.duals.grid_import_cap_per_mw, want.duals.grid_import_cap_per_mw
        )
    assert reused.reuse is not None and reused.reuse.reused == cases - 1
