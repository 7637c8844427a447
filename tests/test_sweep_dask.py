"""Sweeps through a real Dask scheduler and real workers on loopback, started as processes with
the `dask` command: results equal a local cluster's, and a worker killed mid-sweep loses nothing
finished (its cases end failed with their error, and a rerun completes only those)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from loopback import LoopbackCluster

from planner.plan.overrides import apply_overrides
from planner.plan.scenario import find_scenario
from planner.plan.solve import plan_scenario, summary
from planner.sweeps.sweep import (
    HEADLINE,
    HEADLINE_RESULTS,
    SweepSpec,
    headline,
    read_sweep,
    run_sweep,
)

TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")
TIMING = ("build_s", "solve_s", "wall_s", "worker", "solve_start")  # how, not what


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    # A worker's death fails its cases at once (no silent rescheduling), so the sweep's own
    # retry and failure records are what the test sees.
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    loop = LoopbackCluster(tmp_path, env)
    try:
        loop.add_worker()
        loop.add_worker()
        loop.wait_for_workers(2)
        yield loop
    finally:
        loop.stop()


def _results(folder: Path) -> pd.DataFrame:
    sweep = read_sweep(folder)
    columns = ["case", "status", *sweep.parameters, *(c for c in HEADLINE if c not in TIMING)]
    return sweep.table[columns].sort_values("case").reset_index(drop=True)


def test_remote_scheduler_gives_the_same_results_as_local(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    spec = SweepSpec(TINY, vary={"demand.scale": [0.5, 1.5]}, samples=2, seed=5, relax=True)
    remote = run_sweep(spec, tmp_path / "remote", scheduler=cluster.address)
    local = run_sweep(spec, tmp_path / "local", scheduler="local", workers=2)
    assert (remote.done, local.done) == (4, 4)
    pd.testing.assert_frame_equal(_results(tmp_path / "remote"), _results(tmp_path / "local"))
    workers = set(read_sweep(tmp_path / "remote").table["worker"])
    assert len(workers) >= 1 and all(w for w in workers)


def test_killed_worker_loses_nothing_finished_and_a_rerun_completes_the_rest(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    spec = SweepSpec(TINY, vary={"demand.scale": [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]}, relax=True)
    out = tmp_path / "sweep"
    victim = cluster.workers[0]

    def kill_after_first(done: int, failed: int, remaining: int) -> None:
        if done + failed == 1 and victim.poll() is None:
            victim.send_signal(signal.SIGKILL)  # mid-sweep: the other cases are queued or running

    first = run_sweep(spec, out, scheduler=cluster.address, retries=0, on_progress=kill_after_first)
    assert victim.poll() is not None
    table = read_sweep(out).table
    assert len(table) == 6 and set(table["status"]) <= {"ok", "failed"}
    failed = table[table["status"] == "failed"]
    assert first.failed == len(failed) >= 1  # the killed worker held at least one case
    assert failed["error"].str.len().min() > 0
    assert first.done == (table["status"] == "ok").sum() >= 1
    finished = {
        case: (out / "cases" / case / "run.json").stat().st_mtime_ns
        for case in table.loc[table["status"] == "ok", "case"]
    }
    cluster.add_worker()  # the cluster heals; the rerun completes the rest
    second = run_sweep(spec, out, scheduler=cluster.address)
    assert (second.done, second.failed, second.skipped) == (first.failed, 0, first.done)
    after = read_sweep(out).table
    assert (after["status"] == "ok").all()
    assert not list((out / "cases").glob("*.failed.json"))
    for case, mtime in finished.items():  # finished cases were not recomputed
        assert (out / "cases" / case / "run.json").stat().st_mtime_ns == mtime


def test_a_killed_worker_case_is_retried_to_success(
    cluster: LoopbackCluster, tmp_path: Path
) -> None:
    spec = SweepSpec(TINY, vary={"demand.scale": [0.6, 0.8, 1.1, 1.3, 1.7]}, relax=True)
    victim = cluster.workers[1]

    def kill_after_first(done: int, failed: int, remaining: int) -> None:
        if done + failed == 1 and victim.poll() is None:
            victim.send_signal(signal.SIGKILL)

    outcome = run_sweep(
        spec, tmp_path / "s", scheduler=cluster.address, retries=2, on_progress=kill_after_first
    )
    table = read_sweep(tmp_path / "s").table
    assert (outcome.done, outcome.failed) == (5, 0)
    assert (table["status"] == "ok").all() and table["attempts"].max() >= 2


def test_warm_started_cases_equal_cold_plans(cluster: LoopbackCluster, tmp_path: Path) -> None:
    """Each worker keeps the basis of its last LP; its later cases start from it (issue 19).
    Every case's results equal the plan solved cold and directly, to 1e-7."""
    spec = SweepSpec(TINY, samples=6, seed=11, relax=True)
    outcome = run_sweep(spec, tmp_path / "s", scheduler=cluster.address)
    assert (outcome.done, outcome.failed) == (6, 0)
    sweep = read_sweep(tmp_path / "s")
    table = sweep.table
    assert set(table["solve_start"]) <= {"warm", "cold"}
    assert (table["solve_start"] == "warm").sum() >= 4  # only each worker's first case is cold
    for _, row in table.iterrows():
        params = {p: row[p] for p in sweep.parameters}
        scenario, regime = apply_overrides(TINY, params)
        direct = headline(summary(plan_scenario(scenario, regime=regime, relax=True)))
        assert row["demand_met"] == direct["demand_met"]
        for column in HEADLINE_RESULTS:
            assert row[column] == pytest.approx(direct[column], rel=1e-7, abs=1e-9), column
