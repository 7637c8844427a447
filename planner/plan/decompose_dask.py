"""Benders subproblems on any Dask cluster (`planner plan --method decompose --scheduler ...`).

Each worker keeps the subproblems it has built (a module-level cache keyed by the run, living in
the worker process), so a subproblem is built once and re-solved warm from its last basis while
its worker lives. Subproblem k is sent to the worker `block_owners` names among those alive at
each round, with other workers allowed: a worker that dies costs the rebuild of its subproblems
on another worker, never the answer (an LP's optimal value does not depend on where it is solved).

The plan's inputs go to a worker once, with the first work it is given, scattered to it alone
and released once it holds them: no task depends on a replica the cluster may drop. (A
broadcast is not kept: Dask's memory manager drops a key's extra replicas while no task waits
on it, so a broadcast input could live on one worker only, and be lost with it.)
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from models.benders_inputs import Block
from models.benders_runner import SubproblemSet, block_owners
from models.benders_sub import Fleet, SubResult
from models.capacity import CapacityInputs, CapacitySolution

_SETS: dict[str, SubproblemSet] = {}  # in each worker process: run id -> its subproblems
RESUBMITS = 3  # a share of the work is sent again this often when its worker is lost
RESUBMIT_WAIT_S = 1.0  # before the first resubmission, doubled before each next: the scheduler
# learns of a lost worker when its connection drops, and a listed worker may be gone


class NoInputsHere(RuntimeError):
    """Work reached a worker that holds no subproblems of the run and was sent no inputs (it
    was moved off a lost worker): it is sent again with them."""


def _work_on_worker(
    run: str, x: CapacityInputs | None, blocks: list[Block], options: dict[str, Any], kind: str,
    work: dict[int, Fleet],
) -> tuple[str, dict[int, Any]]:  # fmt: skip
    """On a worker: solve ("solve") or read out ("operations") subproblems k at their fleets;
    returns the worker's address beside the answers."""
    from distributed import get_worker

    subproblems = _SETS.get(run)
    if subproblems is None:
        if x is None:
            raise NoInputsHere(run)
        subproblems = _SETS[run] = SubproblemSet(x, blocks, options)
    return get_worker().address, getattr(subproblems, kind)(work)


def _forget(run: str) -> None:
    """On a worker: drop a finished run's subproblems."""
    _SETS.pop(run, None)


class DaskRunner:
    """Subproblems on a Dask client's workers, each owned by one worker while it lives."""

    def __init__(
        self, client: Any, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]
    ):
        self.client, self.x, self.blocks, self.options = client, x, blocks, options
        self.run = uuid.uuid4().hex
        self.owners: dict[int, str] = {}
        self.holding: set[str] = set()  # workers known to hold this run's subproblem set

    def _workers(self) -> list[str]:
        """The workers the scheduler lists now. (Not `scheduler_info()`: the client refreshes
        that cache every 2 s without the worker list, and a refresh landing between its own
        fetch and its return gives an empty list on a live cluster.)"""
        return sorted(self.client.nthreads())

    def _owner(self, k: int, workers: list[str], table: list[int]) -> str:
        """Subproblem k's worker: the one that built it while it lives, else the one `table`
        (`block_owners` over the workers alive) names."""
        owner = self.owners.get(k)
        if owner not in workers:
            owner = self.owners[k] = workers[table[k]]
        return owner

    def _inputs_for(self, worker: str) -> Any:
        """None for a worker holding the run's set; else the inputs, scattered to it alone."""
        if worker in self.holding:
            return None
        return self.client.scatter(self.x, workers=[worker], hash=False)

    def _submit(
        self, kind: str, shares: dict[str, dict[int, Fleet]], errors: list[str]
    ) -> dict[str, Any]:
        """One task per worker's share, the inputs with it where the worker has none."""
        futures = {}
        for w, share in shares.items():
            try:
                inputs = self._inputs_for(w)
            except Exception as error:  # the worker left between the listing and now
                errors.append(f"{w}: {type(error).__name__}: {error}")
                continue
            futures[w] = self.client.submit(
                _work_on_worker, self.run, inputs, self.blocks, self.options, kind, share,
                workers=[w], allow_other_workers=True, pure=False,
            )  # fmt: skip
        return futures

    def _collect(
        self, futures: dict[str, Any], shares: dict[str, dict[int, Fleet]],
        merged: dict[int, Any], todo: dict[int, Fleet], errors: list[str],
    ) -> None:  # fmt: skip
        """Each share's answers into `merged` and out of `todo`; a lost share stays to do."""
        for w, future in futures.items():
            try:
                worker, answers = future.result()
            except Exception as error:  # a lost worker (KilledWorker, comm error): send again
                errors.append(f"{w}: {type(error).__name__}: {error}")
                self.holding.discard(w)
                continue
            merged.update(answers)
            self.holding.add(worker)
            for k in shares[w]:
                todo.pop(k)
                self.owners[k] = worker

    def _ask(self, kind: str, fleets: list[Fleet]) -> list[Any]:
        merged: dict[int, Any] = {}
        todo = dict(enumerate(fleets))
        errors: list[str] = []
        for attempt in range(RESUBMITS + 1):
            if attempt:
                time.sleep(RESUBMIT_WAIT_S * 2 ** (attempt - 1))
            workers = self._workers()
            if not workers:
                raise RuntimeError("the Dask cluster has no workers left")
            self.holding &= set(workers)
            shares: dict[str, dict[int, Fleet]] = {}
            table = block_owners(self.blocks, len(workers))
            for k, fleet in todo.items():
                shares.setdefault(self._owner(k, workers, table), {})[k] = fleet
            # the inputs scattered for this attempt are released with its futures
            self._collect(self._submit(kind, shares, errors), shares, merged, todo, errors)
            if not todo:
                return [merged[k] for k in range(len(fleets))]
        raise RuntimeError(
            f"{len(todo)} subproblems failed on every attempt: " + "; ".join(errors[-4:])
        )

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
