"""The top-level command lists its sub-commands without importing them (issue 18)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli.app import COMMANDS, load_command

HEAVY = ("numpy", "pandas", "scipy", "cvxpy", "pyomo", "duckdb", "pint")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str(limit=300) == COMMANDS[name].short_help


def test_help_imports_no_numerics() -> None:
    """`planner --help` runs without numpy, pandas, scipy or a solver (what makes it quick)."""
    code = (
        "import sys\n"
        "sys.argv = ['planner', '--help']\n"
        "from cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "compare-regimes" in out.stdout and "sweep" in out.stdout
