"""Sweeps through a real Dask scheduler and real workers on loopback, started as processes with
the `dask` command: results equal a local cluster's, and a worker killed mid-sweep loses nothing
finished (its cases end failed with their error, and a rerun completes only those)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from planner.plan.scenario import find_scenario
from planner.sweeps.sweep import HEADLINE, SweepSpec, read_sweep, run_sweep

TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")
DASK = Path(sys.executable).with_name("dask")
TIMING = ("build_s", "solve_s", "wall_s", "worker")


class LoopbackCluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, stopped at the end."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.file = folder / "scheduler.json"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.scheduler = self._start(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], "scheduler"
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self.file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]

    def _start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def add_worker(self) -> subprocess.Popen[bytes]:
        worker = self._start(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--nworkers", "1",
             "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
            f"worker-{len(self.workers)}",
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


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
