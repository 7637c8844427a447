"""Benders subproblems on a real Dask scheduler with two workers started by hand (`dask
scheduler`, `dask worker` on loopback): the plan equals the local processes' one, and a worker
killed mid-run costs its subproblems' rebuild elsewhere, not the answer (issue 19)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import LoopbackCluster

from models.capacity import CapacityInputs
from planner.plan.decompose import solve_decomposed
from planner.plan.resolve import resolve
from planner.plan.scenario import load_scenario

TINY = Path(__file__).resolve().parent.parent / "scenarios" / "tiny"
GAP = 1e-4


def inputs(name: str) -> CapacityInputs:
    return resolve(load_scenario(TINY / f"{name}.yaml"), relax=False).inputs


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LoopbackCluster]:
    loop = LoopbackCluster(tmp_path, dict(os.environ))
    try:
        loop.add_worker()
        loop.add_worker()
        loop.wait_for_workers(2)
        yield loop
    finally:
        loop.stop()


class KillAtRound:
    """A progress sink that kills the first worker when the decomposition reports round n."""

    def __init__(self, cluster: LoopbackCluster, round_n: int):
        self.cluster, self.round_n, self.killed_at = cluster, round_n, None

    def phase(self, name: str, detail: str = "") -> None:
        if self.killed_at is None and detail.startswith(f"round {self.round_n} "):
            self.cluster.workers[0].kill()
            self.cluster.workers[0].wait(timeout=30)
            self.killed_at = self.round_n


def test_a_dask_cluster_returns_the_local_plan_and_survives_a_killed_worker(
    cluster: LoopbackCluster,
) -> None:
    x = inputs("flexible_connection")  # 3 subproblems, about 30 rounds, all three phases
    local, _ = solve_decomposed(x, mip_gap=GAP)
    on_dask, _ = solve_decomposed(x, mip_gap=GAP, scheduler=cluster.address)
    assert on_dask.objective == pytest.approx(local.objective, rel=2 * GAP)
    assert on_dask.servers_bought.sum() == pytest.approx(local.servers_bought.sum(), rel=0.05)

    killer = KillAtRound(cluster, 3)
    survived, history = solve_decomposed(x, mip_gap=GAP, scheduler=cluster.address, progress=killer)
    assert killer.killed_at == 3, "the worker was killed mid-run"
    assert len(history.iterations) > 3, "rounds went on after the kill"
    assert survived.objective == pytest.approx(local.objective, rel=2 * GAP)
    assert survived.status.value == "optimal"


def test_the_runner_survives_every_worker_it_started_with_being_replaced(
    cluster: LoopbackCluster,
) -> None:
    """Both workers that built the subproblems are killed and a new one joins: the next round
    rebuilds them there from inputs sent again (a broadcast input would have died with them)
    and answers what one process does."""
    from distributed import Client

    from models.benders_runner import InProcessRunner
    from planner.plan.decompose_dask import DaskRunner
    from tests.test_benders import master_fleets

    x = inputs("flexible_connection")
    parts, (fleets, roomier) = master_fleets(x)
    with Client(cluster.address, timeout=30) as client:
        runner = DaskRunner(client, x, parts, {"threads": 1})
        first = runner.solve(fleets)
        cluster.add_worker()
        cluster.wait_for_workers(3)
        for worker in cluster.workers[:2]:
            worker.kill()
            worker.wait(timeout=30)
        got = runner.solve(roomier)
        runner.close()
    here = InProcessRunner(x, parts, {"threads": 1})
    assert [r.value for r in first] == pytest.approx(
        [r.value for r in here.solve(fleets)], rel=1e-9
    )
    assert [r.value for r in got] == pytest.approx([r.value for r in here.solve(roomier)], rel=1e-9)


def test_the_runner_sees_every_live_worker_while_the_client_refreshes_its_cache(
    cluster: LoopbackCluster,
) -> None:
    """The client refreshes its cached scheduler identity (without the worker list) on a timer;
    listing workers from that cache read an empty list on a live two-worker cluster when a
    refresh landed mid-call, and a plan failed with "no workers left" (CI, stop 42). Here the
    timer runs every millisecond and every listing must still name both workers."""
    import dask
    from distributed import Client

    from planner.plan.decompose_dask import DaskRunner

    x = inputs("flexible_connection")
    every_ms = {"distributed.client.scheduler-info-interval": "1ms"}
    with dask.config.set(every_ms), Client(cluster.address, timeout=30) as client:
        runner = DaskRunner(client, x, [], {"threads": 1})
        seen = {len(runner._workers()) for _ in range(400)}
    assert seen == {2}
