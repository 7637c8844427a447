"""PyPSA against our site energy model on the same (reduced) LP: issue 8's second target.

Skipped when pypsa is not installed (it is not a dependency of the planner). See
benches/pypsa_site.py for what "reduced" removes and why the two LPs are then the same; every
run checks that the objectives agree to 1e-6 relative.
Run: `.venv/bin/pytest benches/test_pypsa.py --bench-sizes 8760 --bench-sites 1,5`.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benches.pypsa_site import reduced_inputs, solve_ours, solve_pypsa

pytest.importorskip("pypsa")

REL_TOL = 1e-6


@pytest.mark.parametrize("side", ["pypsa", "cvxpy", "pyomo"])
def test_reduced_site_lp(benchmark: BenchmarkFixture, size: str, n_sites: int, side: str) -> None:
    if size.startswith("rep:"):
        pytest.skip("PyPSA's cyclic store wraps over all snapshots, not per representative day")
    benchmark.group = f"reduced site LP {size} h x {n_sites}"
    inputs = reduced_inputs(size, n_sites)
    run = solve_pypsa if side == "pypsa" else lambda xs: solve_ours(xs, side)
    row = benchmark.pedantic(run, args=(inputs,), rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(row)
    reference = solve_ours(inputs, "cvxpy")["objective"] if side != "cvxpy" else row["objective"]
    assert row["objective"] == pytest.approx(reference, rel=REL_TOL)
