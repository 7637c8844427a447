"""Where Benders subproblems run: in this process, or in worker processes that each own a fixed
share of the subproblems (built once, re-solved warm every round). A Dask cluster runner, for
`--scheduler tcp://...`, lives with the other Dask code (planner/plan/decompose_dask.py).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

from models.benders_inputs import Block, subproblem_inputs
from models.benders_sub import Fleet, Subproblem, SubResult, compile_block
from models.benders_template import DayTemplate, day_variants, make_template
from models.capacity import CapacityInputs, CapacitySolution

TEMPLATE_PEERS = 4  # a template costs three probe builds: made only where it saves a build
# Workers yield the CPU to the parent: the master's interior point (one thread) is each round's
# critical path and the lookahead's pass runs beside it. On p20y10s20d12 (2 processes, 2 cores)
# the master took 57-78 s at rounds 3-6 in place of 70-86 s and the pass beside it 56-63 s in
# place of 42-48 s; the sixth round ended at 648 s in place of 689 s (docs/benchmarks.md).
WORKER_NICENESS = 10


class SubproblemSet:
    """Some of the plan's subproblems, each built on first use and kept; days of a period that
    differ only in hours and sun are stamped from a template (models/benders_template.py)."""

    def __init__(self, x: CapacityInputs, blocks: list[Block], options: dict[str, Any]):
        self.x, self.blocks, self.options = x, blocks, options
        self.built: dict[int, Subproblem] = {}
        self.templates: list[DayTemplate] = []
        self.refused: list[CapacityInputs] = []  # first days whose template failed its check

    def get(self, k: int, peers: tuple[int, ...] = ()) -> Subproblem:
        """Subproblem k, built now if this set has not built it yet (`peers`: the other blocks
        this set is about to build, which decide whether a template is worth its probes)."""
        if k not in self.built:
            self.built[k] = self._build(k, peers)
        return self.built[k]

    def build(self, keys: list[int]) -> None:
        """Build the subproblems `keys` ahead of their first solve, as that solve would (the same
        peers); a block whose build fails is left unbuilt, to fail again, reported, when solved."""
        peers = tuple(keys)
        for k in keys:
            with contextlib.suppress(Exception):
                self.get(k, peers)

    def _build(self, k: int, peers: tuple[int, ...]) -> Subproblem:
        """Block k stamped from a template that fits it, or compiled by Pyomo (and made the
        template of the peers it would fit)."""
        block = self.blocks[k]
        x = subproblem_inputs(self.x, block)
        for template in self.templates:
            if template.fits(x):
                return Subproblem(self.x, block, self.options, template.compiled(x))
        compiled = compile_block(x)
        if self._worth_a_template(k, x, peers):
            made = make_template(x, compiled)
            if made is None:
                self.refused.append(x)
            else:
                self.templates.append(made)
        return Subproblem(self.x, block, self.options, compiled)

    def _worth_a_template(self, k: int, x: CapacityInputs, peers: tuple[int, ...]) -> bool:
        """Whether at least `TEMPLATE_PEERS` unbuilt peers would be stamped from x's template,
        and no template of x's kind has failed its check."""
        if any(day_variants(x, r) for r in self.refused):
            return False
        year = self.blocks[k].year
        fits = 0
        for j in peers:
            if j == k or j in self.built or self.blocks[j].year != year:
                continue
            fits += day_variants(x, subproblem_inputs(self.x, self.blocks[j]))
            if fits >= TEMPLATE_PEERS:
                return True
        return False

    def solve(self, work: dict[int, Fleet]) -> dict[int, SubResult]:
        """Each subproblem k at its fleet; one never solved starts from the basis of the last
        solved subproblem of its period (`Subproblem.start_from`)."""
        out = {}
        last: dict[int, Subproblem] = {}  # period -> the last subproblem of it solved here
        peers = tuple(work)
        for k, fleet in work.items():
            sub = self.get(k, peers)
            sibling = last.get(sub.block.year)
            if sibling is not None:
                sub.start_from(sibling)
            out[k] = sub.solve(fleet)
            last[sub.block.year] = sub
        return out

    def operations(self, work: dict[int, Fleet]) -> dict[int, CapacitySolution]:
        """Each subproblem k's full solution at its fleet."""
        peers = tuple(work)
        return {k: self.get(k, peers).operation(fleet) for k, fleet in work.items()}


def block_owners(blocks: list[Block], n: int) -> list[int]:
    """Which of n workers owns each block: each period's blocks cut into n runs of consecutive
    days, so one worker holds days alike (a period's weekdays, say) and stamps them from one
    template where blocks dealt round-robin would need a template per kind in every worker;
    the runs turn by one worker each period, so each worker gets as many of each kind (the
    weekdays, busier, solve slower: on p20y10s20d12 a pass took 45 s in place of 25 s when
    one worker held every period's weekdays)."""
    owner = [0] * len(blocks)
    by_year: dict[int, list[int]] = {}
    for k, block in enumerate(blocks):
        by_year.setdefault(block.year, []).append(k)
    for turn, ks in enumerate(by_year.values()):
        for i, k in enumerate(ks):
            owner[k] = (i * n // len(ks) + turn) % n
    return owner


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
    """A worker process: answer ("solve" | "operations", {k: fleet}) until told to stop, at a
    lower CPU priority than the parent (`WORKER_NICENESS`, where the system has one)."""
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    subproblems = SubproblemSet(x, blocks, options)
    while True:
        kind, work = conn.recv()
        if kind == "stop":
            return
        if kind == "build":  # no answer: the first solve waits behind it in the pipe
            subproblems.build(work)
            continue
        try:
            conn.send(("ok", getattr(subproblems, kind)(work)))
        except Exception as error:  # reported to the parent, which raises it
            conn.send(("error", repr(error)))


class ProcessRunner:
    """`workers` processes, each subproblem owned by the worker `block_owners` names for the
    whole run, so each is built once and re-solved warm from its last basis. Each worker builds
    its subproblems as soon as it starts, while the parent solves the first master (on
    p20y10s20d12 that master takes about 40 s and the builds most of the first pass's 95 s)."""

    def __init__(
        self, x: CapacityInputs, blocks: list[Block], options: dict[str, Any], workers: int = 2
    ):
        ctx = multiprocessing.get_context("spawn")
        self.n = max(1, min(workers, len(blocks)))
        self.owner = block_owners(blocks, self.n)
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(self.n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, x, blocks, options), daemon=True)
            proc.start()
            child.close()  # the worker's end lives in the worker: its exit is the pipe's end
            self.pipes.append(parent)
            self.procs.append(proc)
        for w, pipe in enumerate(self.pipes):  # built while the parent solves its first master
            pipe.send(("build", [k for k in range(len(blocks)) if self.owner[k] == w]))

    def _ask(self, kind: str, fleets: list[Fleet]) -> list[Any]:
        """Each worker's share of `fleets`, answered in block order. Every worker's answer is
        read before any failure is raised, so a caller that carries on after one (the integer
        phases do) is not handed the failed round's answers; a worker that died raises too."""
        try:
            for w, pipe in enumerate(self.pipes):
                pipe.send((kind, {k: f for k, f in enumerate(fleets) if self.owner[k] == w}))
            answers = [pipe.recv() for pipe in self.pipes]
        except (EOFError, OSError) as error:
            raise RuntimeError(f"a subproblem worker stopped: {error!r}") from error
        merged: dict[int, Any] = {}
        for status, answer in answers:
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
