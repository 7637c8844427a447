"""One benchmark step in a fresh interpreter: `python -m planner.bench.child STEP CASE [MPS]`.

Above both the site and the plan benchmarks (it calls either), so neither imports the other.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from planner.bench import plan as bench_plan
from planner.bench import site as bench_site
from planner.bench.common import BenchCase, measure_highs_alone


def child_main(argv: Sequence[str]) -> None:
    """`python -m planner.bench.child model|mps|highs '<case>' [mps]`: one JSON line out."""
    step, case_json = argv[0], json.loads(argv[1])
    case = BenchCase(**case_json)
    if case.model == "plan":
        match step:
            case "model":
                result = bench_plan.measure_plan(case)
            case "mps":
                result = bench_plan.write_plan_case_mps(case, Path(argv[2]))
            case "highs":
                result = bench_plan.measure_plan_highs_alone(Path(argv[2]))
            case _:
                raise SystemExit(f"unknown step {step!r}")
        sys.stdout.write(json.dumps(result) + "\n")
        return
    match step:
        case "model":
            result = bench_site.measure_model(case)
        case "mps":
            result = bench_site.write_case_mps(case, Path(argv[2]))
        case "highs":
            result = measure_highs_alone(Path(argv[2]), case.options)
        case _:
            raise SystemExit(f"unknown step {step!r}")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    child_main(sys.argv[1:])
