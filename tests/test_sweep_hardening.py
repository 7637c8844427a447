"""Sweeps that fail, are killed, or are started twice: exit codes, a current table, one writer.

planner/sweeps/sweep.py rewrites sweep.parquet after every case; planner/sweeps/lock.py holds the
folder for one sweep; cli/sweep.py exits 3 when any case failed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.errors import InputError
from planner.plan.scenario import find_scenario
from planner.results.folders import CASES, is_complete_run
from planner.sweeps.lock import LOCK_FILE, sweep_lock
from planner.sweeps.sweep import SweepSpec, read_sweep, run_sweep

REPO = Path(__file__).resolve().parents[1]
PLANNER = str(Path(sys.executable).parent / "planner")
TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")


def test_a_second_sweep_into_a_held_folder_is_refused_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "s"
    with sweep_lock(out):
        start = time.monotonic()
        result = CliRunner().invoke(
            app, ["sweep", str(TINY), "--vary", "demand.scale=1,2", "--relax", "--out", str(out)]
        )
        assert time.monotonic() - start < 30  # refused before any cluster starts
    assert result.exit_code == 2, result.output
    assert "another sweep is writing this folder" in result.output and f"pid {os.getpid()}" in (
        result.output
    )
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing solved, nothing written


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    holder = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from planner.sweeps.lock import sweep_lock
        with sweep_lock(Path(sys.argv[1])):
            print("HELD", flush=True)
            time.sleep(120)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path / "s")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HELD"
    with pytest.raises(InputError, match="another sweep"), sweep_lock(tmp_path / "s"):
        pass
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with sweep_lock(tmp_path / "s") as folder:  # no stale lock after a SIGKILL
        assert folder == tmp_path / "s"


def test_a_refused_early_sweep_leaves_no_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), sweep_lock(tmp_path / "new"):
        raise RuntimeError("scheduler did not answer")
    assert not (tmp_path / "new").exists()


def test_sweep_with_a_failed_case_exits_3_and_lists_the_error(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = CliRunner().invoke(
        app,
        ["sweep", str(TINY), "--vary", "sites.test-site.pue=0.5,1.25", "--relax", "--workers", "1",
         "--out", str(out), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    rows = {r["sites.test-site.pue"]: r for r in json.loads(result.stdout)}
    assert rows[1.25]["status"] == "ok" and rows[1.25]["net_present_cost"] > 0
    assert rows[0.5]["status"] == "failed" and "pue" in rows[0.5]["error"]
    assert "1 of 2 case(s) failed" in result.stderr
    assert read_sweep(out).table["status"].tolist().count("failed") == 1


def _case_states(out: Path) -> tuple[set[str], dict[str, str]]:
    done = {p.name for p in (out / CASES).iterdir() if is_complete_run(p)}
    table = pd.read_parquet(out / "sweep.parquet")
    return done, dict(zip(table["case"], table["status"], strict=True))


def test_killed_sweep_leaves_a_current_table_and_a_rerun_finishes(tmp_path: Path) -> None:
    out = tmp_path / "s"
    # Enough cases that a quiet machine cannot finish them all in the second after the first:
    # six tiny LPs once all finished before the kill (a fresh clone on an idle machine).
    values = [1.0 + 0.125 * i for i in range(24)]
    scales = ",".join(f"{v:g}" for v in values)
    proc = subprocess.Popen(
        [PLANNER, "sweep", str(TINY), "--vary", f"demand.scale={scales}", "--relax",
         "--workers", "1", "--out", str(out), "--format", "json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / CASES).is_dir() and any(is_complete_run(p) for p in (out / CASES).iterdir()):
                break
            time.sleep(0.2)
        time.sleep(1.0)  # the table is rewritten right after the case is recorded
        assert proc.poll() is None, "the sweep finished before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its Dask workers
        proc.communicate(timeout=60)
    done, statuses = _case_states(out)
    assert len(statuses) == len(values) and 1 <= len(done) < len(values)
    # The table is current: behind its case folders by at most the case being recorded at the
    # kill (written whole, then the table rewritten; fast cases make that window likely).
    ok = {c for c, s in statuses.items() if s == "ok"}
    assert ok <= done and len(done - ok) <= 1
    assert set(statuses.values()) <= {"ok", "pending"}
    again = run_sweep(SweepSpec(TINY, vary={"demand.scale": values}, relax=True), out, workers=1)
    assert again.skipped == len(done) and again.done == len(values) - len(done)
    assert again.failed == 0
    assert set(_case_states(out)[1].values()) == {"ok"}
