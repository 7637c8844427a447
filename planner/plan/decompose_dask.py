"""Benders subproblems on any Dask cluster (`planner plan --method decompose --scheduler ...`).

Each worker keeps the subproblems it has built (a module-level cache keyed by the run, living in
the worker process), so a subproblem is built once and re-solved warm from its last basis while
its worker lives. Subproblem k is sent to the worker `block_owners` names among those alive at
each round, with other workers allowed: a worker that dies costs the rebuild of its subproblems
on another worker, never the answer (an LP's optimal value does not depend on where it is solved).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from models.benders_inputs import Block
from models.benders_runner import SubproblemSet, block_owners
from models.benders_sub import Fleet, SubResult
from models.capacity import CapacityInputs, CapacitySolution

_SETS: dict[str, SubproblemSet] = {}  # in each worker process: run id -> its subproblems
RESUBMITS = 3  # a share of the work is sent again this often when its worker is lost


def _work_on_worker(
    run: str, x: CapacityInputs, blocks: list[Block], options: dict[str, Any], kind: str,
    work: dict[int, Fleet],
) -> dict[int, Any]:  # fmt: skip
    """On a worker: solve ("solve") or read out ("operations") subproblems k at their fleets."""
    subproblems = _SETS.get(run)
    if subproblems is None:
        subproblems = _SETS[run] = SubproblemSet(x, blocks, options)
    return getattr(subproblems, kind)(work)


def _forget(run: str) -> None:
    """On a worker: drop a finished run's subproblems."""
    _SETS.pop(run, None)


class DaskRunner:
    """Subproblems on a Dask client's workers, each owned by one worker while it lives."""

    def __init__(
        self, client: Any, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]
    ):
        self.client, self.blocks, self.options = client, blocks, options
        self.run = uuid.uuid4().hex
        self.owners: dict[int, str] = {}
        self.x = client.scatter(x, broadcast=True, hash=False)

    def _workers(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    def _owner(self, k: int, workers: list[str], table: list[int]) -> str:
        """Subproblem k's worker: the one that built it while it lives, else the one `table`
        (`block_owners` over the workers alive) names."""
        owner = self.owners.get(k)
        if owner not in workers:
            owner = self.owners[k] = workers[table[k]]
        return owner

    def _ask(self, kind: str, fleets: list[Fleet]) -> list[Any]:
        merged: dict[int, Any] = {}
        todo = dict(enumerate(fleets))
        for _attempt in range(RESUBMITS + 1):
            workers = self._workers()
            if not workers:
                raise RuntimeError("the Dask cluster has no workers left")
            shares: dict[str, dict[int, Fleet]] = {}
            table = block_owners(self.blocks, len(workers))
            for k, fleet in todo.items():
                shares.setdefault(self._owner(k, workers, table), {})[k] = fleet
            futures = {
                w: self.client.submit(
                    _work_on_worker,
                    self.run,
                    self.x,
                    self.blocks,
                    self.options,
                    kind,
                    share,
                    workers=[w],
                    allow_other_workers=True,
                    pure=False,
                )
                for w, share in shares.items()
            }
            for w, future in futures.items():
                try:
                    merged.update(future.result())
                except Exception:  # a lost worker (KilledWorker, comm error): send it again
                    continue
                for k in shares[w]:
                    todo.pop(k)
            if not todo:
                return [merged[k] for k in range(len(fleets))]
        raise RuntimeError(f"{len(todo)} subproblems failed on every attempt")

    def solve(self, fleets: list[Fleet]) -> list[SubResult]:
        """One result per fleet, in block order, solved on the cluster's workers."""
        return self._ask("solve", fleets)

    def operations(self, fleets: list[Fleet]) -> list[CapacitySolution]:
        """One full solution per fleet, in block order."""
        return self._ask("operations", fleets)

    def close(self) -> None:
        """Drop this run's subproblems from every worker."""
        with contextlib.suppress(Exception):  # a worker gone at the end has nothing to drop
            self.client.run(_forget, self.run)
