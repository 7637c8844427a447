"""How quickly the CLI answers (issue 18): `planner --help` and `planner export regimes` in a
fresh process. Target: `--help` under 0.5 s (it imports no numerics, tests/test_cli_startup.py)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest

PLANNER = Path(sys.executable).with_name("planner")
HELP_TARGET_S = 0.5


def _run(*args: str) -> None:
    subprocess.run([str(PLANNER), *args], check=True, capture_output=True)


@pytest.mark.parametrize("args", [("--help",), ("export", "regimes")], ids=["help", "regimes"])
def test_cli_answers(benchmark: pytest.FixtureRequest, args: tuple[str, ...]) -> None:
    benchmark.pedantic(_run, args=args, rounds=5, iterations=1)  # type: ignore[attr-defined]
    if args == ("--help",):
        median = statistics.median(benchmark.stats.stats.data)  # type: ignore[attr-defined]
        assert median < HELP_TARGET_S, f"planner --help took {median:.2f} s"
