"""`serving estimate` per call, after start-up (issue 12: under 50 ms a call, so a plan of 20 parts
x 10 workloads resolves in under 2 s).

Start-up (loading the catalogue, the workload cards, the stacks, the calibration and precision
tables and the measurements) is outside the timing, as it is paid once per process. Timed:

- `one estimate`: `estimate` + `Evidence.apply` for one question, what `planner serving estimate`
  does after start-up; the questions cycle through dense and MoE workloads, with and without
  latency targets and a concurrency, so the replica search, layouts and bisection all run;
- `grid`: every (part, workload) pair of up to 20 parts x 10 LLM workloads at a 50 ms TPOT
  target, as the capacity plan resolves its rates (pairs that cannot serve count too: the plan
  tries them). `extra_info` holds the pairs and the ms per pair.

Run: `.venv/bin/pytest benches/test_serving_estimate.py --benchmark-json
benches/results/serving-<date>.json`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.evidence import Evidence
from planner.serving.model import ServingRequest, estimate
from planner.serving.workloads import WorkloadLibrary

QUESTIONS = [
    ("h100-sxm", "llama-3.1-70b", ServingRequest(5000, 500, precision="fp8")),
    ("h20", "qwen3-235b-a22b", ServingRequest(1000, 300, ttft_s=2.0, tpot_s=0.05)),
    ("h200", "deepseek-r1", ServingRequest(1024, 2048, max_batch=1024)),
    ("ascend-910c", "deepseek-r1", ServingRequest(2000, 500, tpot_s=0.05)),
    ("b200", "llama-3.1-8b", ServingRequest(1000, 1000)),
    ("mi300x", "mixtral-8x7b", ServingRequest(128, 2048, max_batch=8)),
]


@pytest.fixture(scope="module")
def world():
    catalogue = Catalogue.load()
    library = WorkloadLibrary.load()
    stacks = load_stacks()
    evidence = Evidence.load(None, stacks=stacks)
    return catalogue, library, stacks, evidence


def test_one_estimate(benchmark: BenchmarkFixture, world) -> None:
    catalogue, library, stacks, evidence = world
    cycle: Iterator[tuple[str, str, ServingRequest]] = itertools.cycle(QUESTIONS)

    def one() -> float:
        part_id, workload_id, request = next(cycle)
        part = catalogue[part_id]
        est = estimate(part, library[workload_id], request, efficiency_for(part, stacks))
        return evidence.apply(est, part, request).tokens_per_s

    benchmark.group = "serving estimate"
    benchmark.pedantic(one, rounds=60, iterations=1, warmup_rounds=6)
    benchmark.extra_info["questions"] = len(QUESTIONS)


def test_grid(benchmark: BenchmarkFixture, world) -> None:
    catalogue, library, stacks, _ = world
    parts = [p for p in catalogue.parts.values() if p.kind != "cpu"][:20]
    workloads = [w for w in library if w.kind == "llm"][:10]
    request = ServingRequest(1500, 500, tpot_s=0.05)

    def grid() -> int:
        served = 0
        for part in parts:
            eff = efficiency_for(part, stacks)
            for workload in workloads:
                with contextlib.suppress(InputError):  # a pair that cannot serve is tried too
                    served += estimate(part, workload, request, eff).tokens_per_s > 0
        return served

    benchmark.group = "serving estimate"
    benchmark.pedantic(grid, rounds=3, iterations=1, warmup_rounds=1)
    pairs = len(parts) * len(workloads)
    benchmark.extra_info.update(
        {
            "parts": len(parts),
            "workloads": len(workloads),
            "pairs": pairs,
            "ms_per_pair": benchmark.stats.stats.mean / pairs * 1e3,
        }
    )
