"""Where Benders subproblems run: in this process, or in worker processes that each own a fixed
share of the subproblems (built once, re-solved warm every round). A Dask cluster runner, for
`--scheduler tcp://...`, lives with the other Dask code (planner/plan/decompose_dask.py).
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from models.benders_inputs import Block
from models.benders_sub import Fleet, Subproblem, SubResult
from models.capacity import CapacityInputs, CapacitySolution


class SubproblemSet:
    """Some of the plan's subproblems, each built on first use and kept."""

    def __init__(self, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]):
        self.x, self.blocks, self.options = x, blocks, options
        self.built: dict[int, Subproblem] = {}

    def get(self, k: int) -> Subproblem:
        """Subproblem k, built now if this set has not built it yet."""
        if k not in self.built:
            self.built[k] = Subproblem(self.x, self.blocks[k], self.options)
        return self.built[k]

    def solve(self, work: dict[int, Fleet]) -> dict[int, SubResult]:
        """Each subproblem k at its fleet; one never solved starts from the basis of the last
        solved subproblem of its period (`Subproblem.start_from`)."""
        out = {}
        last: dict[int, Subproblem] = {}  # period -> the last subproblem of it solved here
        for k, fleet in work.items():
            sub = self.get(k)
            sibling = last.get(sub.block.year)
            if sibling is not None:
                sub.start_from(sibling)
            out[k] = sub.solve(fleet)
            last[sub.block.year] = sub
        return out

    def operations(self, work: dict[int, Fleet]) -> dict[int, CapacitySolution]:
        """Each subproblem k's full solution at its fleet."""
        return {k: self.get(k).operation(fleet) for k, fleet in work.items()}


class InProcessRunner:
    """Every subproblem in this process, one after another (tests, one core)."""

    def __init__(self, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]):
        self.set = SubproblemSet(x, blocks, options)

    def solve(self, fleets: list[Fleet]) -> list[SubResult]:
        """One result per fleet, in block order."""
        out = self.set.solve(dict(enumerate(fleets)))
        return [out[k] for k in range(len(fleets))]

    def operations(self, fleets: list[Fleet]) -> list[CapacitySolution]:
        """One full solution per fleet, in block order."""
        out = self.set.operations(dict(enumerate(fleets)))
        return [out[k] for k in range(len(fleets))]

    def close(self) -> None:
        """Nothing to stop."""


def _serve(
    conn: Connection, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]
) -> None:
    """A worker process: answer ("solve" | "operations", {k: fleet}) until told to stop."""
    subproblems = SubproblemSet(x, blocks, options)
    while True:
        kind, work = conn.recv()
        if kind == "stop":
            return
        try:
            conn.send(("ok", getattr(subproblems, kind)(work)))
        except Exception as error:  # reported to the parent, which raises it
            conn.send(("error", repr(error)))


class ProcessRunner:
    """`workers` processes, subproblem k owned by worker k mod workers for the whole run, so each
    is built once and re-solved warm from its last basis."""

    def __init__(
        self, x: CapacityInputs, blocks: list[Block], options: dict[str, Any], workers: int = 2
    ):
        ctx = multiprocessing.get_context("spawn")
        self.n = max(1, min(workers, len(blocks)))
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(self.n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, x, blocks, options), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def _ask(self, kind: str, fleets: list[Fleet]) -> list[Any]:
        for w, pipe in enumerate(self.pipes):
            pipe.send((kind, {k: f for k, f in enumerate(fleets) if k % self.n == w}))
        merged: dict[int, Any] = {}
        for pipe in self.pipes:
            status, answer = pipe.recv()
            if status != "ok":
                raise RuntimeError(f"a subproblem worker failed: {answer}")
            merged.update(answer)
        return [merged[k] for k in range(len(fleets))]

    def solve(self, fleets: list[Fleet]) -> list[SubResult]:
        """One result per fleet, in block order, solved in the workers in parallel."""
        return self._ask("solve", fleets)

    def operations(self, fleets: list[Fleet]) -> list[CapacitySolution]:
        """One full solution per fleet, in block order."""
        return self._ask("operations", fleets)

    def close(self) -> None:
        """Stop the workers."""
        for pipe in self.pipes:
            with contextlib.suppress(BrokenPipeError, OSError):
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
