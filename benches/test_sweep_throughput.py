"""Sweep throughput: cases per minute on a local Dask cluster of 1 and 2 worker processes.

The sweep is flagship 3 (scenarios/us_b200_battery.yaml) as an LP, 24 Monte Carlo cases from its
declared distributions (battery capex, demand growth), into a fresh folder each round, so every
case is solved (nothing is skipped). Cluster start-up is inside the time, as a user sees it.
`extra_info` carries cases_per_min and the 1-minute load average. Run:
`.venv/bin/pytest benches/test_sweep_throughput.py --benchmark-json benches/results/sweep-<d>.json`.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from planner.plan.scenario import find_scenario
from planner.sweeps.sweep import SweepSpec, run_sweep

CASES = 24


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_cases_per_minute(benchmark: BenchmarkFixture, workers: int) -> None:
    spec = SweepSpec(find_scenario("us_b200_battery").resolve(), samples=CASES, seed=1, relax=True)

    def sweep() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            outcome = run_sweep(spec, Path(tmp) / "sweep", workers=workers)
            assert (outcome.done, outcome.failed) == (CASES, 0)
            return time.perf_counter() - start

    seconds = benchmark.pedantic(sweep, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(
        {
            "workers": workers,
            "cases": CASES,
            "seconds": seconds,
            "cases_per_min": CASES / seconds * 60,
            "load_avg_1min": os.getloadavg()[0],
        }
    )
