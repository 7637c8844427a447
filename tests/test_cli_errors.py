"""The CLI turns a user's mistake into one paragraph and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from cli.app import app


def test_unknown_part_exit_2_with_suggestion() -> None:
    result = CliRunner().invoke(app, ["hardware", "show", "h100-sx"])
    assert result.exit_code == 2
    assert "unknown part 'h100-sx'; did you mean 'h100-sxm'?" in result.output
    assert "Traceback" not in result.output


def test_console_script_has_no_traceback_and_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", "hardware", "show", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown part 'nope'")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_debug_variable_reraises() -> None:
    result = CliRunner().invoke(app, ["hardware", "show", "nope"], env={"PLANNER_DEBUG": "1"})
    assert result.exit_code != 0
    assert result.exception is not None
