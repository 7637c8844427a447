"""Sweep throughput: cases per minute on a local Dask cluster of 1 and 2 worker processes.

The sweep is flagship 3 (scenarios/us_b200_battery.yaml) as an LP, 24 Monte Carlo cases from its
declared distributions (battery capex, demand growth), into a fresh folder each round, so every
case is solved (nothing is skipped). Cluster start-up is inside the time, as a user sees it; each
round starts a fresh cluster, so no round inherits a worker's warm bases or loaded profiles.
`extra_info` carries the median round's cases_per_min, its 1-minute load average and how many of
its cases started warm (planner/sweeps/sweep.py), and every round's figures. Run:
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
from planner.sweeps.sweep import SweepSpec, read_sweep, run_sweep

CASES = 24
ROUNDS = 3  # the machine is shared: the median of three rounds, each with its load average


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_cases_per_minute(benchmark: BenchmarkFixture, workers: int) -> None:
    spec = SweepSpec(find_scenario("us_b200_battery").resolve(), samples=CASES, seed=1, relax=True)
    rounds: list[dict[str, float]] = []

    def sweep() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            load = os.getloadavg()[0]
            start = time.perf_counter()
            outcome = run_sweep(spec, Path(tmp) / "sweep", workers=workers)
            seconds = time.perf_counter() - start
            assert (outcome.done, outcome.failed) == (CASES, 0)
            starts = read_sweep(Path(tmp) / "sweep").table["solve_start"]
        rounds.append(
            {"seconds": seconds, "load_avg_1min": load, "warm": float((starts == "warm").sum())}
        )
        return seconds

    benchmark.pedantic(sweep, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    median = sorted(rounds, key=lambda r: r["seconds"])[len(rounds) // 2]
    benchmark.extra_info.update(
        {
            "workers": workers,
            "cases": CASES,
            "seconds": median["seconds"],
            "cases_per_min": CASES / median["seconds"] * 60,
            "load_avg_1min": median["load_avg_1min"],
            "warm_started_cases": median["warm"],
            "rounds": rounds,
        }
    )
