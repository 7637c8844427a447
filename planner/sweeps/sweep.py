"""Sweeps: many plans of one scenario, a grid of overrides and/or Monte Carlo samples, on Dask.

Each case is a full plan (`planner.plan.solve.plan_scenario`) of the scenario with its parameters
applied (`planner.plan.overrides`). Cases run as tasks on Dask distributed: a `LocalCluster` of
single-threaded worker processes by default, or any running scheduler by its address. A worker
solves its case, writes the run folder in its own temporary space and returns it packed; the
client unpacks it atomically into `DIR/cases/<case>/`, so workers need the scenario and profile
files at the same paths but no shared output folder.

A case's id hashes the scenario file's content, its parameters and the solve options, so a rerun
of the same sweep into the same folder skips every case whose run folder is complete and was
solved with its input files as they are now (`planner.results.inputs_check`), and solves the rest
(failed ones included). A case whose worker dies is resubmitted up to `retries` times, then
recorded as failed with the error; an input or infeasibility error is recorded at once (it would
fail again). The sweep's table (`sweep.parquet`, one row per case) and manifest (`sweep.json`) are
rewritten atomically after every case; docs/sweeps.md documents both. One sweep at a time may
write a folder (planner.sweeps.lock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import math
import os
import shutil
import socket
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.common import Backend
from planner.atomic import atomic_write, atomic_write_text, replace_dir, temp_sibling
from planner.dask_cluster import dask_client
from planner.errors import InputError, PlannerError, Problem
from planner.plan.overrides import ParamValue, apply_overrides, check_parameter, vary_problems
from planner.plan.scenario import UncertainIn, load_scenario
from planner.results.folders import (
    CASES,
    SWEEP_MANIFEST,
    SWEEP_TABLE,
    file_sha256,
    is_complete_run,
    to_json,
)
from planner.results.inputs_check import StaleRun, read_current_run
from planner.results.integrity import DamagedRun
from planner.sweeps.lock import sweep_lock
from planner.yamlio import read_yaml

if TYPE_CHECKING:
    from models.highs_warm import BasisStore

FAILED_SUFFIX = ".failed.json"
# A case's results (numbers a summary ranks and plots), then the table's other headline columns,
# in table order (docs/sweeps.md).
HEADLINE_RESULTS = (
    "net_present_cost", "cost_per_million_served_tokens", "unserved_tokens",
    "unserved_share_fraction", "served_mtok", "it_mw", "solar_mw", "battery_mwh", "battery_mw",
    "parts_installed",
)  # fmt: skip
HEADLINE = (
    "currency",
    "demand_met",
    *HEADLINE_RESULTS,
    "mip_gap",
    "build_s",
    "solve_s",
    "wall_s",
    "worker",
    "solve_start",
)
ID_COLUMNS = ("case", "status", "error", "attempts", "run")


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: the scenario, the grid (`vary`), Monte Carlo samples, solve options."""

    scenario: Path
    vary: Mapping[str, Sequence[ParamValue]] = field(default_factory=dict)
    samples: int = 0
    seed: int | None = None
    backend: Backend = "cvxpy"
    solver: str = "highs"
    mip_gap: float | None = None
    time_limit_s: float | None = None
    relax: bool = False
    overlays: tuple[Path, ...] = ()

    def options(self) -> dict[str, Any]:
        """The solve options every case shares (part of each case's id)."""
        return {
            "backend": self.backend,
            "solver": self.solver,
            "mip_gap": self.mip_gap,
            "time_limit_s": self.time_limit_s,
            "relax": self.relax,
            "overlays": [str(p) for p in self.overlays],
        }


@dataclass(frozen=True)
class SweepCase:
    """One plan of the sweep: its id and the parameter values it applies."""

    case: str
    params: dict[str, ParamValue]


@dataclass(frozen=True)
class SweepOutcome:
    """What one `run_sweep` call did: cases solved now, failed, and skipped as already done."""

    folder: Path
    done: int
    failed: int
    skipped: int


@dataclass(frozen=True)
class Sweep:
    """A sweep folder read back: its manifest, its table and its parameter names."""

    folder: Path
    meta: dict[str, Any]
    table: pd.DataFrame
    parameters: list[str]


def draw(dist: UncertainIn, rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` draws from one declared distribution (normal draws clipped to low/high if given)."""
    if dist.distribution == "uniform":  # UncertainIn has checked each needs its fields
        assert dist.low is not None and dist.high is not None
        return rng.uniform(dist.low, dist.high, n)
    if dist.distribution == "triangular":
        assert dist.low is not None and dist.mode is not None and dist.high is not None
        return rng.triangular(dist.low, dist.mode, dist.high, n)
    if dist.distribution == "lognormal":
        assert dist.median is not None and dist.sigma is not None
        return rng.lognormal(math.log(dist.median), dist.sigma, n)
    assert dist.mean is not None and dist.sd is not None
    values = rng.normal(dist.mean, dist.sd, n)
    lo = -np.inf if dist.low is None else dist.low
    hi = np.inf if dist.high is None else dist.high
    return np.clip(values, lo, hi)


def samples(dists: Sequence[UncertainIn], n: int, seed: int | None) -> list[dict[str, float]]:
    """`n` Monte Carlo samples of every declared parameter, independent draws, reproducible by
    seed (each parameter draws from its own stream, so adding one leaves the others' draws)."""
    root = np.random.SeedSequence(seed)
    streams = root.spawn(len(dists))
    columns = {
        d.parameter: draw(d, np.random.default_rng(s), n)
        for d, s in zip(dists, streams, strict=True)
    }
    return [{k: float(v[i]) for k, v in columns.items()} for i in range(n)]


def case_id(scenario_sha256: str, params: Mapping[str, ParamValue], options: Mapping) -> str:
    """A stable id: the hash of the scenario's content, the parameters and the solve options."""
    key = json.dumps(
        {"scenario": scenario_sha256, "params": dict(params), "options": dict(options)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _check_spec(spec: SweepSpec, data: Mapping[str, Any], dists: Sequence[UncertainIn]) -> None:
    path = spec.scenario
    problems = [
        p for name in spec.vary if (p := check_parameter(name, path, data, "vary", option=True))
    ]
    problems += [
        p
        for i, d in enumerate(dists)
        if (p := check_parameter(d.parameter, path, data, f"uncertainty[{i}].parameter"))
    ]
    problems += vary_problems(spec.vary, spec.overlays)
    if spec.samples and not dists:
        problems.append(
            Problem(
                str(path),
                "uncertainty",
                f"{spec.samples} Monte Carlo samples are asked for but the scenario declares "
                "no distributions.",
                "add an `uncertainty:` list to the scenario (docs/sweeps.md), or ask for no "
                "samples.",
                options=("samples",),
            )
        )
    if not spec.vary and not spec.samples:
        problems.append(
            Problem(
                "",
                "vary",
                "nothing to sweep.",
                "vary a parameter over values (name=a,b), or draw Monte Carlo samples.",
                option=True,
                options=("samples",),
            )
        )
    if problems:
        raise InputError(problems)


def plan_cases(spec: SweepSpec) -> tuple[list[SweepCase], list[UncertainIn]]:
    """Every case of the sweep: the grid's cross product, times the Monte Carlo samples."""
    scenario = load_scenario(spec.scenario)  # a scenario that does not load is reported here
    # A parameter on the grid is not sampled: its grid values replace its distribution.
    declared = scenario.raw.uncertainty if spec.samples else []
    dists = [d for d in declared if d.parameter not in spec.vary]
    _check_spec(spec, read_yaml(spec.scenario), declared)
    sha = file_sha256(spec.scenario)
    grid = [
        dict(zip(spec.vary, combo, strict=True)) for combo in itertools.product(*spec.vary.values())
    ]
    draws = samples(dists, spec.samples, spec.seed) if spec.samples else [{}]
    cases = []
    for point in grid:
        for i, sample in enumerate(draws):
            params: dict[str, ParamValue] = {**point, **sample}
            if spec.samples:
                params["sample"] = float(i)
            cases.append(SweepCase(case_id(sha, params, spec.options()), params))
    return cases, dists


def headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A case's headline results from its plan summary: totals over sites in the last period."""
    periods = list(summary.get("served_mtok_by_year", {}))
    last = periods[-1] if periods else None
    sites = [r for r in summary.get("sites", []) if str(r["year"]) == str(last)]
    installed = [r for r in summary.get("installed", []) if str(r["year"]) == str(last)]
    served_mtok = float(sum(summary.get("served_mtok_by_year", {}).values()))
    unserved = float(summary.get("unserved_tokens") or 0.0)
    return {
        "currency": summary.get("currency"),
        "demand_met": summary.get("demand_met"),
        "net_present_cost": summary.get("net_present_cost"),
        "cost_per_million_served_tokens": summary.get("cost_per_million_served_tokens"),
        "unserved_tokens": unserved,
        "unserved_share_fraction": summary.get("unserved_share_fraction"),
        "served_mtok": served_mtok,
        "it_mw": float(sum(r["it_mw"] for r in sites)),
        "solar_mw": float(sum(r["solar_mw"] for r in sites)),
        "battery_mwh": float(sum(r["battery_mwh"] for r in sites)),
        "battery_mw": float(sum(r["battery_mw"] for r in sites)),
        "parts_installed": float(sum(r["count"] for r in installed)),
        "mip_gap": summary.get("mip_gap"),
        "build_s": summary.get("build_s"),
        "solve_s": summary.get("solve_s"),
    }


def _pack(folder: Path) -> bytes:
    buffer = io.BytesIO()
    # level 1: the parquet tables are compressed already, the rest is small JSON
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


# A worker's bases of the LPs it solved, by layout: the next case with the same layout starts
# from one (models/highs_warm.py). One store per worker process, kept between its cases.
_WORKER_BASES: BasisStore | None = None


def worker_bases() -> BasisStore:
    """This process's store of LP bases (created on first use, on the worker)."""
    global _WORKER_BASES
    if _WORKER_BASES is None:
        from models.cvxpy_import import import_cvxpy

        import_cvxpy()  # first, and without scipy.stats (0.4-0.6 s of a worker's start)
        from models.highs_warm import BasisStore

        _WORKER_BASES = BasisStore()
    return _WORKER_BASES


def solve_case(spec: SweepSpec, params: Mapping[str, ParamValue]) -> dict[str, Any]:
    """Solve one case and return its packed run folder, or its error (runs on a Dask worker).

    The worker reuses what does not change between cases: the profile libraries while their
    files are unchanged (planner.plan.libraries), and, for an LP solved with HiGHS, the basis of
    its previous case of the same layout as a warm start (`solve_start` says which).
    Errors of the user's inputs or an infeasible plan come back as `error`; anything else too,
    with its type, so one broken case never stops a sweep. Time is the worker's wall clock.
    """
    from planner.plan.libraries import cached_libraries  # import on the worker, not at load
    from planner.plan.solve import resolve, solve_plan, summary
    from planner.results.plan_run import write_plan_run

    start = time.perf_counter()
    worker = socket.gethostname() + f":{os.getpid()}"
    bases = worker_bases()
    try:
        scenario, regime = apply_overrides(spec.scenario, params)
        resolved = resolve(
            scenario,
            overlays=spec.overlays,
            regime=regime,
            relax=spec.relax,
            libraries=cached_libraries(spec.overlays),
        )
        warm_before = bases.warm
        result = solve_plan(
            resolved,
            backend=spec.backend,
            solver=spec.solver,
            mip_gap=spec.mip_gap,
            time_limit_s=spec.time_limit_s,
            bases=bases,
        )
        data = summary(result)
        data["sweep_params"] = dict(params)
        with tempfile.TemporaryDirectory(prefix="planner-case-") as tmp:
            # a scratch copy: the client writes the case durably when it unpacks it
            folder = write_plan_run(Path(tmp) / "case", result, data, durable=False)
            packed = _pack(folder)
    except PlannerError as exc:
        return {"error": str(exc), "worker": worker}
    except Exception as exc:  # a bug in one case is recorded, not fatal to the sweep
        return {"error": f"{type(exc).__name__}: {exc}", "worker": worker}
    return {
        "run": packed,
        "worker": worker,
        "wall_s": time.perf_counter() - start,
        "solve_start": "warm" if bases.warm > warm_before else "cold",
    }


def _unpack(packed: bytes, target: Path, adjust: Callable[[Path], None]) -> None:
    """Unpack a case's run folder beside `target`, let `adjust` edit it there, then put it in
    place atomically and durably (planner.atomic.replace_dir)."""
    tmp = temp_sibling(target)
    try:
        tmp.mkdir()
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links and escapes
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - our own worker packed it
                tar.extractall(tmp)
        adjust(tmp)
        replace_dir(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _case_row(folder: Path, case: SweepCase, parameters: Sequence[str]) -> dict[str, Any]:
    """The table row of one case, read from its run folder or its failure record."""
    run_dir = folder / CASES / case.case
    failed = folder / CASES / f"{case.case}{FAILED_SUFFIX}"
    row: dict[str, Any] = dict.fromkeys((*ID_COLUMNS, *parameters, *HEADLINE))
    row.update(case=case.case, **{p: case.params.get(p) for p in parameters})
    try:
        summary = read_current_run(run_dir).summary if is_complete_run(run_dir) else None
    except (DamagedRun, StaleRun) as exc:  # solved again by the next run of the sweep
        row.update(status="pending", error=str(exc))
        return row
    if summary is not None:
        extra = summary.get("sweep_case", {})
        row.update(headline(summary), status="ok", run=case.case, attempts=extra.get("attempts"))
        row.update(worker=extra.get("worker"), wall_s=extra.get("wall_s"))
        row.update(solve_start=extra.get("solve_start"))
    elif failed.is_file():
        record = json.loads(failed.read_text())
        row.update(status="failed", error=record["error"], attempts=record["attempts"])
        row.update(worker=record.get("worker"))
    else:
        row.update(status="pending")
    return row


def sweep_table(rows: Sequence[Mapping[str, Any]], parameters: Sequence[str]) -> pd.DataFrame:
    """One row per case with its parameters and headline results (docs/sweeps.md)."""
    table = pd.DataFrame(list(rows), columns=[*ID_COLUMNS, *parameters, *HEADLINE])
    for column in parameters:
        if all(isinstance(v, float) for v in table[column]):
            table[column] = table[column].astype(float)
    return table


def _manifest(spec: SweepSpec, cases: Sequence[SweepCase], dists: Sequence[UncertainIn]) -> dict:
    return {
        "kind": "sweep",
        "scenario": read_yaml(spec.scenario).get("name"),  # validated by plan_cases
        "scenario_path": str(spec.scenario),
        "scenario_sha256": file_sha256(spec.scenario),
        "parameters": parameter_names(spec, dists),
        "vary": {k: list(v) for k, v in spec.vary.items()},
        "distributions": {d.parameter: d.model_dump(mode="json", exclude_none=True) for d in dists},
        "samples": spec.samples,
        "seed": spec.seed,
        "options": spec.options(),
        "cases": [asdict(c) for c in cases],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def parameter_names(spec: SweepSpec, dists: Sequence[UncertainIn]) -> list[str]:
    """The table's parameter columns: the grid's names, then the sampled ones and `sample`."""
    names = list(spec.vary) + [d.parameter for d in dists]
    return [*names, "sample"] if spec.samples else names


def write_sweep_files(
    folder: Path, manifest: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> pd.DataFrame:
    """Rewrite sweep.json and sweep.parquet (atomically) from the rows of every case."""
    table = sweep_table(rows, manifest["parameters"])
    atomic_write_text(folder / SWEEP_MANIFEST, to_json(manifest) + "\n")
    atomic_write(folder / SWEEP_TABLE, lambda p: table.to_parquet(p, index=False))
    return table


def read_sweep(folder: Path) -> Sweep:
    """A sweep folder read back; an input error when the folder is not one."""
    folder = Path(folder)
    manifest, table_file = folder / SWEEP_MANIFEST, folder / SWEEP_TABLE
    if not manifest.is_file() or not table_file.is_file():
        raise InputError.one(
            folder,
            "",
            f"is not a sweep folder (no {SWEEP_MANIFEST} and {SWEEP_TABLE}).",
            "give the folder a sweep wrote.",
        )
    meta = json.loads(manifest.read_text())
    return Sweep(folder, meta, pd.read_parquet(table_file), list(meta["parameters"]))


def default_sweep_dir(spec: SweepSpec, root: Path) -> Path:
    """`root/sweep-<scenario file stem>-<hash of the spec>`: the same sweep finds its folder."""
    key = json.dumps(
        {"vary": dict(spec.vary), "samples": spec.samples, "seed": spec.seed, **spec.options()},
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    return root / f"sweep-{spec.scenario.stem}-{digest}"


def _record_failure(folder: Path, case: str, error: str, attempts: int, worker: Any) -> None:
    record = {"case": case, "error": error, "attempts": attempts, "worker": worker}
    atomic_write_text(folder / CASES / f"{case}{FAILED_SUFFIX}", to_json(record) + "\n")


def _record_success(folder: Path, case: str, reply: Mapping[str, Any], attempts: int) -> None:
    def add_case_record(run_dir: Path) -> None:
        summary_file = run_dir / "summary.json"
        summary = json.loads(summary_file.read_text())
        summary["sweep_case"] = {
            "case": case,
            "attempts": attempts,
            "worker": reply.get("worker"),
            "wall_s": reply.get("wall_s"),
            "solve_start": reply.get("solve_start"),
        }
        summary_file.write_text(to_json(summary) + "\n")

    _unpack(reply["run"], folder / CASES / case, add_case_record)
    (folder / CASES / f"{case}{FAILED_SUFFIX}").unlink(missing_ok=True)


def _lost_worker_error(exc: BaseException) -> bool:
    """True when a case failed because its worker died or went away (worth another try)."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return isinstance(exc, KilledWorker | CommClosedError | OSError)


class _Ledger:
    """The rows of every case, kept in memory; the sweep's table is rewritten (atomically) as
    each case finishes, so a killed sweep's table is never behind its case folders by more than
    the case being recorded."""

    def __init__(self, folder: Path, manifest: dict[str, Any], cases: Sequence[SweepCase]):
        self.folder, self.manifest = folder, manifest
        self.parameters = manifest["parameters"]
        self.rows = {c.case: _case_row(folder, c, self.parameters) for c in cases}
        self.cases = {c.case: c for c in cases}

    def refresh(self, case: str) -> None:
        """Re-read one case's row from its folder and rewrite the table."""
        self.rows[case] = _case_row(self.folder, self.cases[case], self.parameters)
        self.write()

    def write(self) -> None:
        write_sweep_files(self.folder, self.manifest, list(self.rows.values()))


def run_sweep(
    spec: SweepSpec,
    out: Path,
    *,
    scheduler: str = "local",
    workers: int = 2,
    retries: int = 2,
    on_progress: Callable[[int, int, int], None] | None = None,
) -> SweepOutcome:
    """Run every case not yet finished in `out`; return how many were solved, failed, skipped.

    `on_progress(done, failed, remaining)` is called once the cases are submitted and after
    each result. The folder is locked for the whole call (a second sweep into it is refused,
    planner.sweeps.lock). Finished cases are on disk as soon as they return and the table is
    rewritten after each, so an interrupted sweep leaves a readable, current folder and a rerun
    picks up where it stopped.
    """
    cases, dists = plan_cases(spec)
    folder = Path(out)
    with sweep_lock(folder):
        ledger = _Ledger(folder, _manifest(spec, cases, dists), cases)
        todo = [c for c in cases if ledger.rows[c.case]["status"] != "ok"]
        if not todo:
            ledger.write()
            return SweepOutcome(folder=folder, done=0, failed=0, skipped=len(cases))
        with dask_client(scheduler, workers) as client:  # nothing written until one answers
            (folder / CASES).mkdir(exist_ok=True)
            try:
                ledger.write()
                done, failed = _run_cases(client, spec, todo, ledger, retries, on_progress)
            finally:
                ledger.write()
    return SweepOutcome(folder=folder, done=done, failed=failed, skipped=len(cases) - len(todo))


def _run_cases(
    client: Any,
    spec: SweepSpec,
    todo: Sequence[SweepCase],
    ledger: _Ledger,
    retries: int,
    on_progress: Callable[[int, int, int], None] | None,
) -> tuple[int, int]:
    """Submit `todo`, record each result as it arrives (resubmitting a case whose worker died,
    up to `retries` times); return (solved, failed)."""
    from distributed import as_completed

    folder = ledger.folder
    attempts = dict.fromkeys((c.case for c in todo), 1)

    def submit(case: SweepCase) -> Any:
        key = f"case-{case.case}-{attempts[case.case]}-{os.getpid()}"
        return client.submit(solve_case, spec, case.params, key=key, pure=False)

    done = failed = 0
    futures = {submit(c): c for c in todo}
    if on_progress is not None:
        on_progress(0, 0, len(todo))
    queue = as_completed(list(futures))
    for future in queue:
        case = futures.pop(future)
        try:
            reply = future.result()
        except Exception as exc:
            if _lost_worker_error(exc) and attempts[case.case] <= retries:
                attempts[case.case] += 1
                again = submit(case)
                futures[again] = case
                queue.add(again)
                continue
            reply = {"error": f"{type(exc).__name__}: {exc}", "worker": None}
        if "run" in reply:
            _record_success(folder, case.case, reply, attempts[case.case])
            done += 1
        else:
            _record_failure(folder, case.case, reply["error"], attempts[case.case], reply["worker"])
            failed += 1
        ledger.refresh(case.case)
        if on_progress is not None:
            on_progress(done, failed, len(todo) - done - failed)
    return done, failed
