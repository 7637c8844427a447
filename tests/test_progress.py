"""Progress on long work (issue 18): phases and HiGHS's gap on stderr, on a terminal by default,
never in JSON mode unless asked; read from a real HiGHS log and a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from planner.progress import describe, read_highs_progress

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"
PLANNER = Path(sys.executable).with_name("planner")

# The head of a real HiGHS 1.15 MIP log (the demo plan's solver.log).
HIGHS_MIP_LOG = (ROOT / "tests" / "data" / "highs_mip_progress.log").read_text()


def test_the_gap_and_the_solver_clock_come_from_the_newest_mip_line() -> None:
    got = read_highs_progress(HIGHS_MIP_LOG)
    assert got.started and got.gap == "0.01%" and got.solver_time_s == 32.3
    first = read_highs_progress(HIGHS_MIP_LOG.splitlines(keepends=True)[:6][-1] + "")
    assert first.gap == "inf" and not first.started
    assert describe(read_highs_progress(""), 3.0, "MILP") == ("building", "the MILP (3 s)")
    phase, detail = describe(got, 40.0, "MILP")
    assert phase == "solving" and detail.endswith("gap 0.01%")
    assert "no whole-server plan" in describe(first.__class__(True, "inf", 1.2), 2, "MILP")[1]


def run_on_a_terminal(*args: str, tmp: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal; return code, stdout and what the tty got."""
    master, slave = pty.openpty()
    env = {**os.environ, "PLANNER_RUNS": str(tmp), "TERM": "xterm", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [str(PLANNER), *args], stdout=subprocess.PIPE, stderr=slave, env=env, cwd=tmp
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            seen += chunk
            if not chunk and proc.poll() is not None:
                break
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(), out, seen.decode(errors="replace")


def test_a_terminal_sees_the_phases(tmp_path: Path) -> None:
    code, out, tty = run_on_a_terminal(
        "plan", str(TINY), "--out", str(tmp_path / "a"), tmp=tmp_path
    )
    assert code == 0, tty
    assert "resolving" in tty and "MILP" in tty
    assert "resolving" not in out  # progress never reaches stdout


def test_json_mode_is_quiet_on_a_terminal_unless_asked(tmp_path: Path) -> None:
    args = ("plan", str(TINY), "--format", "json")
    code, out, tty = run_on_a_terminal(*args, "--out", str(tmp_path / "b"), tmp=tmp_path)
    assert code == 0 and out.startswith("{")
    assert "resolving" not in tty
    code, out, tty = run_on_a_terminal(
        *args, "--progress", "--out", str(tmp_path / "c"), tmp=tmp_path
    )
    assert code == 0 and out.startswith("{") and "resolving" in tty


def test_asked_for_in_a_pipe_it_prints_one_line_per_phase(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(PLANNER), "plan", str(TINY), "--progress", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("resolving:")
    assert any(line.startswith("building: the MILP") for line in lines)
    assert any(line.startswith("writing: the run folder") for line in lines)
    plain = subprocess.run(
        [str(PLANNER), "plan", str(TINY), "--out", str(tmp_path / "e")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "resolving" not in plain.stderr  # not a terminal, not asked: quiet
