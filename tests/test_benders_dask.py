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
