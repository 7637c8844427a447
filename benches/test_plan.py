"""Capacity plan: flagship 1 (Chinese MaaS provider, 2026-2030) to a 0.5% gap with HiGHS.

Issue 5's target is under two minutes on a 2-core machine; it is recorded here, not asserted by a
timed unit test. `extra_info` carries build_s, solve_s, the MIP gap reached and the objective.
Run: `.venv/bin/pytest benches/test_plan.py --benchmark-json benches/results/plan-<date>.json`.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from planner.plan.scenario import find_scenario, load_scenario
from planner.plan.solve import plan_scenario


@pytest.mark.parametrize("backend", ["cvxpy", "pyomo"])
def test_flagship_cn_maas_2026_milp(benchmark: BenchmarkFixture, backend: str) -> None:
    scenario = load_scenario(find_scenario("cn_maas_2026"))
    result = benchmark.pedantic(
        plan_scenario,
        args=(scenario,),
        kwargs={"backend": backend, "mip_gap": 0.005},
        rounds=1,
        iterations=1,
        warmup_rounds=0,
    )
    sol = result.solution
    benchmark.extra_info.update(
        {
            "build_s": sol.stats.build_s,
            "solve_s": sol.stats.solve_s,
            "mip_gap": sol.stats.mip_gap,
            "objective": sol.objective,
        }
    )
    assert sol.status == "optimal"
    assert sol.stats.mip_gap is not None and sol.stats.mip_gap <= 0.005
