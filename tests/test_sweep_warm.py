"""Sweeps reuse work (issue 19): an LP starts from the basis of an earlier LP of the same layout
(models/highs_warm.py), a basis of another layout is never used, and a worker loads the profile
libraries once while their files are unchanged (planner/plan/libraries.py). Warm answers equal
cold ones and pass the independent checker. The Dask loopback sweep is in test_sweep_dask.py."""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

from models.capacity_check import check_solution
from models.highs_warm import BasisStore, lp_layout, solve_lp
from planner.paths import shipped_dir
from planner.plan.libraries import cached_libraries
from planner.plan.overrides import apply_overrides
from planner.plan.resolve import resolve
from planner.plan.scenario import find_scenario
from planner.plan.solve import solve_plan
from planner.sweeps.sweep import SweepSpec, plan_cases
from planner.timeseries import HOURS_PER_YEAR, representative_days

TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")
FLAGSHIP_3 = find_scenario("us_b200_battery")


def small_lp(cost: list[float], demand: float, *, extra_row: bool = False) -> cp.Problem:
    """min cost'x s.t. x0 + x1 >= d, x1 + x2 >= d/2, 0 <= x <= 10 (and x0 - x2 <= 1)."""
    x = cp.Variable(3, nonneg=True, name="x")
    rows = [x[0] + x[1] >= demand, x[1] + x[2] >= demand / 2, x <= 10]
    if extra_row:
        rows.append(x[0] - x[2] <= 1)
    return cp.Problem(cp.Minimize(np.array(cost) @ x), rows)


def cold(problem: cp.Problem) -> cp.Problem:
    problem.solve(solver=cp.HIGHS)
    return problem


# --------------------------------------------------------------------------- the basis store


def test_same_layout_starts_warm_and_ends_at_the_cold_optimum() -> None:
    store = BasisStore()
    first = small_lp([1.0, 2.0, 3.0], 4.0)
    assert solve_lp(first, {}, store) == "cold"
    # Other numbers, same layout: by hand x = (0, 5, 0), cost 10 (x1 serves both rows).
    second = small_lp([2.5, 2.0, 2.5], 5.0)
    assert solve_lp(second, {}, store) == "warm"
    reference = cold(small_lp([2.5, 2.0, 2.5], 5.0))
    assert second.value == pytest.approx(10.0, rel=1e-9)
    assert second.value == pytest.approx(reference.value, rel=1e-9)
    x_warm = second.variables()[0].value
    np.testing.assert_allclose(x_warm, reference.variables()[0].value, atol=1e-9)
    np.testing.assert_allclose(x_warm, [0.0, 5.0, 0.0], atol=1e-9)
    # duals are read back as with Problem.solve
    assert second.constraints[0].dual_value == pytest.approx(
        reference.constraints[0].dual_value, abs=1e-9
    )
    assert (store.warm, store.cold) == (1, 1)


def test_layout_digest_sees_structure_not_numbers() -> None:
    def layout(problem: cp.Problem) -> str:
        return lp_layout(problem.get_problem_data(cp.HIGHS)[0])

    base = layout(small_lp([1.0, 2.0, 3.0], 4.0))
    assert layout(small_lp([5.0, 1.0, 0.5], 9.0)) == base
    assert layout(small_lp([1.0, 2.0, 3.0], 4.0, extra_row=True)) != base


def test_a_basis_of_another_layout_is_refused_and_the_answer_is_the_cold_one() -> None:
    store = BasisStore()
    assert solve_lp(small_lp([1.0, 2.0, 3.0], 4.0), {}, store) == "cold"
    other = small_lp([1.5, 2.0, 2.5], 5.0, extra_row=True)  # one more row: another layout
    assert solve_lp(other, {}, store) == "cold"
    assert other.value == pytest.approx(cold(small_lp([1.5, 2.0, 2.5], 5.0, extra_row=True)).value)
    assert (store.warm, store.cold, len(store.bases)) == (0, 2, 2)


def test_a_basis_of_the_wrong_size_under_a_matching_key_still_starts_cold() -> None:
    # Should two layouts ever share a digest, HiGHS itself refuses a basis of the wrong size.
    store = BasisStore()
    solve_lp(small_lp([1.0, 2.0, 3.0], 4.0), {}, store)
    wrong = next(iter(store.bases.values()))  # 3 columns, 5 rows
    target = small_lp([1.5, 2.0, 2.5], 5.0, extra_row=True)  # 6 rows
    store.put(lp_layout(target.get_problem_data(cp.HIGHS)[0]), wrong)
    assert solve_lp(target, {}, store) == "cold"
    assert target.value == pytest.approx(
        cold(small_lp([1.5, 2.0, 2.5], 5.0, extra_row=True)).value, rel=1e-9
    )


def test_integer_problems_are_not_warm_started() -> None:
    x = cp.Variable(2, integer=True)
    problem = cp.Problem(cp.Minimize(cp.sum(x)), [x >= 0.5])
    with pytest.raises(ValueError, match="LPs only"):
        solve_lp(problem, {}, BasisStore())


def test_the_store_keeps_the_latest_layouts_only() -> None:
    store = BasisStore(limit=1)
    solve_lp(small_lp([1.0, 2.0, 3.0], 4.0), {}, store)
    solve_lp(small_lp([1.0, 2.0, 3.0], 4.0, extra_row=True), {}, store)
    assert len(store.bases) == 1
    assert solve_lp(small_lp([1.0, 2.0, 3.0], 4.0), {}, store) == "cold"  # evicted


# --------------------------------------------------------------------------- sweep cases


@pytest.mark.parametrize(("scenario", "cases"), [(TINY, 5), (FLAGSHIP_3, 4)])
def test_warm_sweep_cases_equal_cold_plans_and_pass_the_checker(scenario: Path, cases: int) -> None:
    """A worker's path (cached libraries, bases kept between cases) against a cold full solve of
    each case: objective to 1e-7, and every decision the optimum pins. Flagship 3 prices battery
    power at 0 per MW, so its battery MW per year is not pinned (any value between MWh/8 h and
    MWh/1 h costs the same) and neither is the hour of a charge below the peak: those may differ
    between two optimal plans, as they do between the backends' cold solves."""
    spec = SweepSpec(scenario, samples=cases, seed=3, relax=True)
    store = BasisStore()
    for case in plan_cases(spec)[0]:
        overridden, regime = apply_overrides(scenario, case.params)
        warm_plan = resolve(overridden, regime=regime, relax=True, libraries=cached_libraries())
        warm = solve_plan(warm_plan, bases=store).solution
        cold_plan = resolve(overridden, regime=regime, relax=True)
        reference = solve_plan(cold_plan).solution
        assert warm.objective == pytest.approx(reference.objective, rel=1e-7)
        for name in ("servers_bought", "dc_built_mw", "battery_built_mwh", "unserved_tokens_per_s"):
            got, want = getattr(warm, name), getattr(reference, name)
            np.testing.assert_allclose(
                got, want, rtol=1e-7, atol=1e-7 * max(1.0, np.abs(want).max())
            )
        assert check_solution(warm_plan.inputs, warm) == []
    assert store.warm >= cases - 1 >= 1 and store.warm + store.cold == cases
    # and every case after the first compiled through the first's template (cvxpy_reuse.py)
    assert store.reuse is not None and store.reuse.reused == cases - 1


# --------------------------------------------------------------------------- libraries


def test_libraries_are_reused_until_a_profile_file_changes(tmp_path: Path) -> None:
    overlay = tmp_path / "profiles"
    folder = overlay / "workload_profiles"
    folder.mkdir(parents=True)
    first = cached_libraries([overlay])
    assert cached_libraries([overlay]) is first
    assert "my-copy" not in first.workloads.workloads
    text = (shipped_dir("workload_profiles") / "llama-3.1-8b.yaml").read_text()
    (folder / "my-copy.yaml").write_text(text.replace("id: llama-3.1-8b", "id: my-copy", 1))
    again = cached_libraries([overlay])
    assert again is not first
    assert "my-copy" in again.workloads.workloads
    assert cached_libraries([overlay]) is again


# --------------------------------------------------------------------------- representative days


def test_representative_days_again_are_the_same_days_returned_as_copies() -> None:
    hours = np.arange(HOURS_PER_YEAR)
    series = {
        "price_per_mwh": 50 + 20 * np.sin(hours * 2 * np.pi / 24) + (hours // 24) % 7,
        "solar_capacity_factor": np.clip(np.sin((hours % 24 - 6) * np.pi / 12), 0, None),
    }
    first = representative_days(series, 4)
    first.series["price_per_mwh"][:] = -1.0  # a caller's edit never reaches the next caller
    again = representative_days(series, 4)
    np.testing.assert_array_equal(again.day_of_year, first.day_of_year)
    assert again.count_days.sum() == pytest.approx(365.0)
    assert (again.series["price_per_mwh"] > 0).all()
    shifted = {**series, "price_per_mwh": series["price_per_mwh"] * 2 + np.sin(hours / 500.0)}
    other = representative_days(shifted, 4)  # other numbers: chosen afresh
    np.testing.assert_allclose(
        other.series["price_per_mwh"],
        (shifted["price_per_mwh"].reshape(365, 24)[other.day_of_year]).ravel(),
    )
