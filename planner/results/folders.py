"""Run folders: every solved site or plan lands as one folder of Parquet tables and JSON.

Layout of a run folder (documented in docs/results.md):

    runs/<name>-<YYYYmmddTHHMMSSZ>/
        tables/<table>.parquet   one file per table, units in column names
        resolved_inputs.json     the resolved assumptions, each figure with its source
        inputs/<file>            copies of the input files used (hashes in run.json)
        solver.log               the solver's log, when one was kept
        summary.json             headline numbers (objective, sizes, cost per unit)
        run.json                 manifest, written last: its presence marks a complete run

The folder is built under a hidden temporary name beside the target, flushed to disk (every file
and folder fsync'ed) and renamed into place only when complete, so an exception, Ctrl-C, a kill or
a power cut never leaves a folder that looks complete. run.json records each table's size and
SHA-256; a run whose files do not match (truncated, missing, unreadable) is reported as damaged
(`DamagedRun`) while every other run stays usable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import difflib
import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from planner.atomic import (
    recover_replaced_dirs,
    release_name,
    replace_dir,
    reserve_name,
    temp_sibling,
)
from planner.errors import InputError, Problem, UnknownName
from planner.results.integrity import DamagedRun, check_tables, read_json_object
from planner.results.integrity import sha256_of as file_sha256

if TYPE_CHECKING:
    from planner.sites.site import Site
    from planner.sites.sizing import SiteSizing

RunKind = Literal["site", "plan"]
RUN_KINDS: tuple[str, ...] = ("site", "plan")
FORMAT_VERSION = 1
MANIFEST = "run.json"
SUMMARY = "summary.json"
RESOLVED_INPUTS = "resolved_inputs.json"
SOLVER_LOG = "solver.log"
TABLES_DIR = "tables"
INPUTS_DIR = "inputs"
# Where runs go when no output folder or root is given: ./runs, or the PLANNER_RUNS folder.
DEFAULT_ROOT = Path(os.environ.get("PLANNER_RUNS", "runs"))

_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


# A sweep folder's layout (planner.sweeps writes it, `runs query` reads its table).
SWEEP_MANIFEST = "sweep.json"
SWEEP_TABLE = "sweep.parquet"
CASES = "cases"  # the sub-folder of the sweep's case runs


# --------------------------------------------------------------------------- writing


def run_folder_name(name: str, created: dt.datetime) -> str:
    """`<name>-<UTC timestamp>`, the name reduced to characters safe in a file name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "run"
    return f"{slug[:80]}-{created.astimezone(dt.UTC).strftime(_TIMESTAMP)}"


def default_run_dir(
    name: str, root: Path = DEFAULT_ROOT, created: dt.datetime | None = None
) -> Path:
    """`root/<name>-<timestamp>`, with `-2`, `-3`... appended if that folder already exists."""
    base = root / run_folder_name(name, created or dt.datetime.now(dt.UTC))
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def reserve_run_dir(name: str, root: Path, created: dt.datetime) -> Path:
    """Claim `root/<name>-<timestamp>` (or `-2`, `-3`...) for this writer alone.

    The claim is an exclusive create of a hidden `.<folder>.reserved` file, so two writers of one
    name in one second get two folders; the caller releases it once the folder is in place.
    """
    base = root / run_folder_name(name, created)
    n = 1
    while True:
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        if reserve_name(candidate):
            return candidate
        n += 1


def _json_default(value: Any) -> Any:
    """JSON for the values a summary or resolved inputs hold: numpy, paths, dates, dataclasses."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _finite(value: Any) -> Any:
    """Replace NaN and infinities by None (JSON has no spelling for them), recursively."""
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_json(data: Any) -> str:
    """Stable, readable JSON: NaN and infinity as null, numpy and paths converted."""
    return json.dumps(_finite(data), indent=2, ensure_ascii=False, default=_json_default) + "\n"


def _check_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    for table_name, frame in tables.items():
        if not _TABLE_NAME.fullmatch(table_name):
            raise ValueError(f"table name {table_name!r} must match [a-z][a-z0-9_]*")
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table {table_name!r} is a {type(frame).__name__}, not a DataFrame")
        if "run" in frame.columns:
            raise ValueError(f"table {table_name!r} has a 'run' column; queries add that one")


def _copy_inputs(inputs_used: Sequence[Path], folder: Path) -> list[dict[str, Any]]:
    """Copy each input file into `folder`, returning its path, size and SHA-256."""
    folder.mkdir()
    records = []
    for source in inputs_used:
        source = Path(source)
        if not source.is_file():
            raise InputError.one(source, "", "input file not found.", "check the path.")
        sha = file_sha256(source)
        target = source.name
        if (folder / target).exists():  # two inputs with one name: keep both
            target = f"{sha[:8]}-{source.name}"
        shutil.copy2(source, folder / target)
        records.append(
            {
                "path": str(source.resolve()),
                "copy": f"{INPUTS_DIR}/{target}",
                "sha256": sha,
                "bytes": source.stat().st_size,
            }
        )
    return records


def _write_contents(
    tmp: Path,
    *,
    kind: RunKind,
    name: str,
    created: dt.datetime,
    status: str,
    summary: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    resolved_inputs: Mapping[str, Any],
    inputs_used: Sequence[Path],
    solver_log: str | None,
) -> None:
    """Fill the temporary folder; the manifest (run.json) goes last."""
    (tmp / TABLES_DIR).mkdir()
    table_records = {}
    for table_name, frame in tables.items():
        path = tmp / TABLES_DIR / f"{table_name}.parquet"
        frame.to_parquet(path, index=False, engine="pyarrow")
        table_records[table_name] = {
            "file": f"{TABLES_DIR}/{table_name}.parquet",
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "bytes": path.stat().st_size,
            "sha256": file_sha256(path),
        }
    inputs = _copy_inputs(inputs_used, tmp / INPUTS_DIR)
    (tmp / RESOLVED_INPUTS).write_text(to_json(resolved_inputs), encoding="utf-8")
    if solver_log is not None:
        (tmp / SOLVER_LOG).write_text(solver_log, encoding="utf-8")
    (tmp / SUMMARY).write_text(to_json(summary), encoding="utf-8")
    manifest = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "name": name,
        "created": created.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "status": status,
        "tables": table_records,
        "inputs": inputs,
        "solver_log": SOLVER_LOG if solver_log is not None else None,
    }
    (tmp / MANIFEST).write_text(to_json(manifest), encoding="utf-8")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_target(out: Path) -> None:
    """Refuse to replace a folder that holds something other than a run."""
    if out.is_dir() and not (out / MANIFEST).is_file() and any(out.iterdir()):
        raise InputError(
            Problem(
                str(out),
                "",
                "the folder exists, is not empty and is not a run folder; it will not be "
                "overwritten.",
                "choose a new output folder, or remove this one.",
                options=("out",),
            )
        )


def _target(out_dir: Path | None, name: str, root: Path, created: dt.datetime) -> Path:
    """Where the run goes: `out_dir` (checked), or a freshly reserved folder under `root`."""
    if out_dir is None:
        root.mkdir(parents=True, exist_ok=True)
        recover_replaced_dirs(root, is_complete_run)
        return reserve_run_dir(name, root, created)
    out = Path(out_dir)
    if not out.resolve().parent.is_dir():
        raise InputError.option(
            "out", f"folder '{out.resolve().parent}' does not exist.", "create it first."
        )
    recover_replaced_dirs(out.resolve().parent, is_complete_run)
    _check_target(out)
    return out


def write_run(  # noqa: PLR0913 - keyword-only: what goes in each of the run's files
    out_dir: Path | None = None,
    *,
    kind: RunKind,
    name: str,
    summary: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    resolved_inputs: Mapping[str, Any],
    inputs_used: Sequence[Path] = (),
    solver_log: str | None = None,
    root: Path = DEFAULT_ROOT,
    created: dt.datetime | None = None,
    durable: bool = True,
) -> Path:
    """Write one run folder atomically and return its path.

    `out_dir` None means `root/<name>-<timestamp>`, reserved exclusively (`-2`, `-3`... when
    taken). The folder is assembled in a hidden temporary folder beside the target, flushed to
    disk and put in place once run.json (the completion marker) is written, replacing an existing
    run at `out_dir` in one atomic exchange (planner.atomic.replace_dir); on any exception or
    KeyboardInterrupt the temporary folder is removed and an existing run at `out_dir` is left
    untouched. `summary["status"]` (default "optimal") is copied into the manifest. `durable`
    False skips the flush to disk, for a scratch folder that is packed and written durably by
    its reader (a sweep case on its worker).
    """
    if kind not in RUN_KINDS:
        raise ValueError(f"kind must be one of {RUN_KINDS}, not {kind!r}")
    _check_tables(tables)
    created = created or dt.datetime.now(dt.UTC)
    out = _target(out_dir, name, Path(root), created)
    tmp = temp_sibling(out)
    try:
        tmp.mkdir()
        _write_contents(
            tmp,
            kind=kind,
            name=name,
            created=created,
            status=str(summary.get("status", "optimal")),
            summary=summary,
            tables=tables,
            resolved_inputs=resolved_inputs,
            inputs_used=inputs_used,
            solver_log=solver_log,
        )
        replace_dir(tmp, out, flush=durable)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if out_dir is None:
            release_name(out)
    return out


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Run:
    """A complete run folder as read back: manifest, summary, and its tables on demand."""

    path: Path
    kind: str
    name: str
    created: str
    status: str
    summary: Mapping[str, Any]
    table_files: Mapping[str, Path]
    inputs: tuple[Mapping[str, Any], ...]

    @property
    def run_id(self) -> str:
        """The folder name: how `planner runs` and the `run` column of queries name a run."""
        return self.path.name

    def table(self, table_name: str) -> pd.DataFrame:
        """One table of this run as a DataFrame."""
        if table_name not in self.table_files:
            raise UnknownName(f"table of run {self.run_id}", table_name, list(self.table_files))
        return pd.read_parquet(self.table_files[table_name])

    def has_table(self, table_name: str) -> bool:
        """Whether the run wrote a table of this name."""
        return table_name in self.table_files

    def resolved_inputs(self) -> dict[str, Any]:
        """The resolved assumptions written with the run."""
        return json.loads((self.path / RESOLVED_INPUTS).read_text(encoding="utf-8"))

    def solver_log(self) -> str | None:
        """HiGHS's own log of the solve, when the run kept one."""
        path = self.path / SOLVER_LOG
        return path.read_text(encoding="utf-8") if path.is_file() else None


def is_complete_run(folder: Path) -> bool:
    """A folder claims to be a complete run when it is not a temporary one and holds its
    manifest (whether it is whole is `read_run`'s to check)."""
    return folder.is_dir() and not folder.name.startswith(".") and (folder / MANIFEST).is_file()


def read_run(folder: Path, *, checksums: bool = True) -> Run:
    """Read a complete run folder, checking it is whole.

    A folder without run.json is not a run (InputError). One with run.json whose manifest or
    summary cannot be read, or whose tables are missing, of the wrong size or (with `checksums`)
    of the wrong SHA-256, raises `DamagedRun` naming the folder and the file.
    """
    folder = Path(folder)
    if not is_complete_run(folder):
        raise InputError.one(
            folder,
            MANIFEST,
            "is not a complete run folder (no run.json: not a run, or its writing was cut short).",
            "give a folder listed by `planner runs list`, or write the run again.",
        )
    manifest = read_json_object(folder, MANIFEST)
    summary = read_json_object(folder, SUMMARY)
    tables = check_tables(folder, manifest, checksums)
    inputs = manifest.get("inputs", [])
    inputs = [i for i in inputs if isinstance(i, Mapping)] if isinstance(inputs, list) else []
    return Run(
        path=folder,
        kind=str(manifest.get("kind", "")),
        name=str(manifest.get("name", folder.name)),
        created=str(manifest.get("created", "")),
        status=str(manifest.get("status", "")),
        summary=summary,
        table_files=tables,
        inputs=tuple(inputs),
    )


def recover(root: Path) -> None:
    """Undo or finish rewrites a kill cut short under `root` (planner.atomic); a root this
    process may not write is left as it is."""
    with contextlib.suppress(OSError):
        recover_replaced_dirs(Path(root), is_complete_run)


def scan_runs(root: Path = DEFAULT_ROOT) -> tuple[list[Run], list[DamagedRun]]:
    """Every run directly under `root` (oldest first) and every damaged one, by size checks.

    Recovers interrupted rewrites first. Temporary folders and folders without run.json are
    neither. SHA-256 is not checked here (it reads every byte); `read_run` checks it.
    """
    root = Path(root)
    if not root.is_dir():
        return [], []
    recover(root)
    runs, damaged = [], []
    for folder in sorted(root.iterdir()):
        if not is_complete_run(folder):
            continue
        try:
            runs.append(read_run(folder, checksums=False))
        except DamagedRun as exc:
            damaged.append(exc)
    return sorted(runs, key=lambda r: (r.created, r.run_id)), damaged


def list_runs(root: Path = DEFAULT_ROOT) -> list[Run]:
    """Every whole run directly under `root`, oldest first (damaged and temporary skipped)."""
    return scan_runs(root)[0]


def find_run(ref: str | Path, root: Path = DEFAULT_ROOT, option: str = "run") -> Run:
    """A run named by its folder path, its folder name under `root`, or its name (latest wins);
    checked whole, checksums included (DamagedRun otherwise). `option` is the parameter that
    named it, for the message."""
    path = Path(ref)
    if path.is_dir():
        return read_run(path)
    runs, damaged = scan_runs(root)
    for bad in damaged:
        if bad.run_id == str(ref):
            raise bad
    by_id = [r for r in runs if r.run_id == str(ref)]
    by_name = [r for r in runs if r.name == str(ref)]
    match = by_id or by_name
    if not match:
        known = sorted({*(r.run_id for r in runs), *(r.name for r in runs)})
        close = difflib.get_close_matches(str(ref), known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else "."
        raise InputError(
            Problem(
                str(root),
                option,
                f"no complete run is named '{ref}'{hint}",
                f"name one of the complete runs kept under {root}, or give a run folder's path.",
                option=True,
            )
        )
    return read_run(match[-1].path)


# --------------------------------------------------------------------------- site adapter


def site_resolved_inputs(site: Site) -> dict[str, Any]:
    """A site's assumptions: each figure's field, value as written, source and confidence."""
    from planner.yamlio import read_yaml

    raw = read_yaml(site.path)
    assumptions = []
    for field_name, prov in site.provenance.items():
        figure = _lookup(raw, field_name)
        value = figure.get("value") if isinstance(figure, Mapping) else None
        if isinstance(figure, Mapping) and "file" in figure:
            value = f"{figure['file']}:{figure.get('column', '')}"
        assumptions.append(
            {
                "field": field_name,
                "value": value,
                "source": prov.source.title if prov.source else None,
                "url": prov.source.url if prov.source else None,
                "confidence": prov.confidence,
                "note": prov.note,
            }
        )
    scalars = {
        f.name: getattr(site, f.name)
        for f in dataclasses.fields(site)
        if isinstance(getattr(site, f.name), int | float | str)
    }
    return {
        "kind": "site",
        "file": str(site.path),
        "values": scalars,
        "assumptions": assumptions,
        "unknowns": list(site.unknowns),
    }


def _lookup(raw: Any, dotted: str) -> Any:
    node = raw
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def site_run_tables(sizing: SiteSizing) -> dict[str, pd.DataFrame]:
    """The site run's tables: hourly `dispatch`, `sizes` per asset, annual `costs` per item."""
    from planner.sites.sizing import dispatch_table

    sol = sizing.solution
    sizes = pd.DataFrame(
        {
            "asset": ["solar", "battery", "grid_connection", "it"],
            "power_mw": [
                sol.solar_mw,
                sol.battery_mw,
                float(sol.grid_import_mw.max()),
                sizing.site.it_capacity_mw,
            ],
            "energy_mwh": [math.nan, sol.battery_mwh, math.nan, math.nan],
        }
    )
    cost_items = dataclasses.asdict(sol.costs) if sol.costs is not None else {}
    costs = pd.DataFrame(
        {
            "item": list(cost_items),
            "cost_per_year": [-v if k == "export_revenue" else v for k, v in cost_items.items()],
            "currency": sizing.site.currency,
        }
    )
    return {"dispatch": dispatch_table(sizing), "sizes": sizes, "costs": costs}


def site_run_summary(sizing: SiteSizing) -> dict[str, Any]:
    """`planner.sites.site.summary` plus the unserved IT energy (MWh a year) for comparisons."""
    from planner.sites.sizing import summary

    data = dict(summary(sizing))
    sol, w = sizing.solution, sizing.inputs.weight_h
    data["unserved_it_mwh"] = float(w @ sol.unserved_it_mw)
    data["it_capacity_mw"] = sizing.site.it_capacity_mw
    return data


def write_site_run(
    sizing: SiteSizing, out_dir: Path | None = None, *, root: Path = DEFAULT_ROOT
) -> Path:
    """Write a solved site as a run folder (kind "site"); returns the folder."""
    site = sizing.site
    inputs_used = [site.path, *_csv_files(site.path)]
    return write_run(
        out_dir,
        kind="site",
        name=site.name,
        summary=site_run_summary(sizing),
        tables=site_run_tables(sizing),
        resolved_inputs=site_resolved_inputs(site),
        inputs_used=inputs_used,
        solver_log=sizing.solver_log,
        root=root,
    )


def _csv_files(site_path: Path) -> list[Path]:
    """CSV files a site YAML names (`file:` keys), resolved beside it."""
    from planner.yamlio import read_yaml

    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if isinstance(node.get("file"), str):
                candidate = (site_path.parent / node["file"]).resolve()
                if candidate.is_file() and candidate not in found:
                    found.append(candidate)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(read_yaml(site_path))
    return found
