"""How quickly the CLI answers (issue 18), each command in a fresh process, beside the Python
interpreter's own start-up. Target: the catalogue and rules commands under 0.5 s median.

What keeps them fast: sub-commands load on first use (cli/app.py); the validated catalogue and
regimes are kept in the user's cache folder (planner/cache.py), so an unchanged catalogue is
answered without PyYAML, pint or numpy, which load on first use only (planner/yamlio.py,
planner/units.py); pydantic builds a schema's validator on its first use (planner/schema.py).
The `*-no-cache` rows read the files (`PLANNER_CACHE=off`), for comparison, without a target.
Record the figures and the machine's load (`extra_info`) in docs/benchmarks.md:

    .venv/bin/python -m pytest benches/test_cli_startup.py --benchmark-json out.json
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

PLANNER = Path(sys.executable).with_name("planner")
TARGET_S = 0.5
CLASSIFY = ["export", "classify", "h20", "--buyer", "CN", "--format", "json"]
COMMANDS = {
    "python": [sys.executable, "-c", "pass"],
    "help": [str(PLANNER), "--help"],
    "regimes": [str(PLANNER), "export", "regimes"],
    "hardware-list": [str(PLANNER), "hardware", "list", "--format", "json"],
    "classify-h20": [str(PLANNER), *CLASSIFY],
    "hardware-list-no-cache": [str(PLANNER), "hardware", "list", "--format", "json"],
    "classify-h20-no-cache": [str(PLANNER), *CLASSIFY],
}
TARGETED = ("hardware-list", "classify-h20")


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, check=True, capture_output=True, env=env)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_answers(benchmark: pytest.FixtureRequest, name: str) -> None:
    env = dict(os.environ)
    if name.endswith("-no-cache"):
        env["PLANNER_CACHE"] = "off"
    _run(COMMANDS[name], env)  # warm the file cache, pint's definitions and the catalogue cache
    load_before = os.getloadavg()[0]
    benchmark.pedantic(_run, args=(COMMANDS[name], env), rounds=7, iterations=1)  # type: ignore[attr-defined]
    median = statistics.median(benchmark.stats.stats.data)  # type: ignore[attr-defined]
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        median_s=median, load_avg_1min_before=load_before, load_avg_1min_after=os.getloadavg()[0]
    )
    if name in TARGETED:
        assert median < TARGET_S, f"{name} took {median:.2f} s (median of 7)"
