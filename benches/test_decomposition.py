"""Benders decomposition against the monolith (issue 19), recorded, not asserted by time.

Flagship 1's LP and MILP by `planner plan --method decompose` (two subproblem processes) and as
one problem (Pyomo + HiGHS): `extra_info` carries the gap reached, the rounds, and the objective
beside the monolith's. Larger cases (p20y10s10, p20y10s20d12) run through
`planner bench --model plan --methods lp-decompose,milp-decompose --sizes ...`, whose rows carry
HiGHS alone on the monolithic MPS file as the floor (docs/benchmarks.md, "National scale").
Run: `.venv/bin/pytest benches/test_decomposition.py --benchmark-json
benches/results/decomposition-<date>.json`.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from planner.plan.decompose import Method
from planner.plan.scenario import find_scenario, load_scenario
from planner.plan.solve import plan_scenario

GAP = 0.005


@pytest.mark.parametrize("relax", [True, False], ids=["lp", "milp"])
@pytest.mark.parametrize("method", [Method.decompose, Method.monolith])
def test_flagship_1_decomposed_and_whole(
    benchmark: BenchmarkFixture, method: Method, relax: bool
) -> None:
    scenario = load_scenario(find_scenario("cn_maas_2026"))
    result = benchmark.pedantic(
        plan_scenario,
        args=(scenario,),
        kwargs={"backend": "pyomo", "mip_gap": GAP, "relax": relax, "method": method},
        rounds=1,
        iterations=1,
        warmup_rounds=0,
    )
    sol = result.solution
    benchmark.extra_info.update(
        {"objective": sol.objective, "mip_gap": sol.stats.mip_gap, "solve_s": sol.stats.solve_s}
    )
    assert sol.status == "optimal"
