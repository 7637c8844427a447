"""How quickly the CLI answers (issue 18), each command in a fresh process, beside the Python
interpreter's own start-up. Target: the catalogue and rules commands under 0.5 s median.

What keeps them fast: sub-commands load on first use (cli/app.py), YAML is parsed by libyaml
(planner/yamlio.py), pint keeps its parsed definitions in the user's cache folder and does not
load Dask (planner/units.py). Record the figures and the machine's load in docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest

PLANNER = Path(sys.executable).with_name("planner")
TARGET_S = 0.5
COMMANDS = {
    "python": [sys.executable, "-c", "pass"],
    "help": [str(PLANNER), "--help"],
    "regimes": [str(PLANNER), "export", "regimes"],
    "hardware-list": [str(PLANNER), "hardware", "list", "--format", "json"],
    "classify-h20": [
        str(PLANNER),
        "export",
        "classify",
        "h20",
        "--buyer",
        "CN",
        "--format",
        "json",
    ],
}


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cli_answers(benchmark: pytest.FixtureRequest, name: str) -> None:
    _run(COMMANDS[name])  # warm the file cache and pint's definition cache
    benchmark.pedantic(_run, args=(COMMANDS[name],), rounds=7, iterations=1)  # type: ignore[attr-defined]
    median = statistics.median(benchmark.stats.stats.data)  # type: ignore[attr-defined]
    assert median < TARGET_S, f"{name} took {median:.2f} s (median of 7)"
