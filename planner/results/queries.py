"""Kept runs: list them, show one, query all with DuckDB, compare several side by side.

Queries need no database: each table name becomes one DuckDB view over the Parquet files of every
complete run, with a `run` column (the run's folder name) added; a `runs` view holds one row per
run with its kind, name, created time, status and summary numbers.

A query runs in a sandbox: it must be exactly one SELECT (or WITH ... SELECT) statement, and once
the views are made DuckDB's external access is switched off except for the run root and its
configuration is locked, so a query can neither write a file, attach a database, load an
extension nor read outside the runs it was asked about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from planner.errors import InputError, Problem
from planner.results.folders import (
    CASES,
    DEFAULT_ROOT,
    SWEEP_MANIFEST,
    SWEEP_TABLE,
    Run,
    read_run,
    scan_runs,
)
from planner.results.integrity import DamagedRun


@dataclass(frozen=True)
class Metric:
    """One headline number: a label, the summary key per run kind, and its unit."""

    label: str
    column: str  # column name in `planner runs list` and the `runs` view
    keys: Mapping[str, str]  # run kind -> summary.json key
    unit: str  # "{cur}" is replaced by the run's currency


# Headline numbers shown by `planner runs list` and compared by `planner compare`.
METRICS: tuple[Metric, ...] = (
    Metric("objective", "objective", {"site": "objective", "plan": "objective"}, "{cur}"),
    Metric("spend (net present cost)", "net_present_cost", {"plan": "net_present_cost"}, "{cur}"),
    Metric(
        "cost per MWh of IT energy", "cost_per_mwh_it", {"site": "cost_per_mwh_it"}, "{cur}/MWh"
    ),
    Metric(
        "cost per million served tokens",
        "cost_per_million_served_tokens",
        {"plan": "cost_per_million_served_tokens"},
        "{cur}/Mtok",
    ),
    Metric(
        "IT capacity", "it_capacity_mw", {"site": "it_capacity_mw", "plan": "it_capacity_mw"}, "MW"
    ),
    Metric(
        "grid peak import",
        "grid_peak_import_mw",
        {"site": "grid_peak_import_mw", "plan": "grid_peak_import_mw"},
        "MW",
    ),
    Metric("solar", "solar_mw", {"site": "solar_mw", "plan": "solar_mw"}, "MW"),
    Metric("battery power", "battery_mw", {"site": "battery_mw", "plan": "battery_mw"}, "MW"),
    Metric("battery energy", "battery_mwh", {"site": "battery_mwh", "plan": "battery_mwh"}, "MWh"),
    Metric(
        "unserved energy",
        "unserved_mwh",
        {"site": "unserved_it_mwh", "plan": "unserved_mwh"},
        "MWh",
    ),
    Metric("unserved tokens", "unserved_tokens", {"plan": "unserved_tokens"}, "tokens"),
    Metric(
        "unserved share",
        "unserved_share_fraction",
        {"plan": "unserved_share_fraction"},
        "fraction of tokens",
    ),
)


def metric_value(run: Run, metric: Metric) -> float | None:
    """The run's value of one headline metric, None when its kind has none."""
    key = metric.keys.get(run.kind)
    value = run.summary.get(key) if key else None
    return float(value) if isinstance(value, int | float) else None


def _unit(run: Run, metric: Metric) -> str:
    return metric.unit.replace("{cur}", str(run.summary.get("currency", "")))


def run_row(run: Run) -> dict[str, Any]:
    """One line of `planner runs list`: identity, status and headline numbers."""
    row: dict[str, Any] = {
        "run": run.run_id,
        "kind": run.kind,
        "name": run.name,
        "created": run.created,
        "status": run.status,
        "currency": run.summary.get("currency"),
    }
    for metric in METRICS:
        row[metric.column] = metric_value(run, metric)
    row["problem"] = None
    return row


def damaged_row(damaged: DamagedRun) -> dict[str, Any]:
    """The line of `planner runs list` for a damaged run: its folder, `damaged` and why."""
    row: dict[str, Any] = dict.fromkeys(("kind", "name", "created", "currency"))
    row.update(run=damaged.run_id, status="damaged")
    row.update({m.column: None for m in METRICS}, problem=f"{damaged.field}: {damaged.problem}")
    return {k: row[k] for k in ("run", "kind", "name", "created", "status", "currency",
                                *(m.column for m in METRICS), "problem")}  # fmt: skip


def run_detail(run: Run) -> dict[str, Any]:
    """Everything `planner runs show` prints: manifest, summary, tables with their row counts."""
    tables = []
    for table_name, path in run.table_files.items():
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        tables.append(
            {
                "table": table_name,
                "rows": meta.num_rows,
                "columns": list(pq.ParquetFile(path).schema_arrow.names),
            }
        )
    return {
        "run": run.run_id,
        "path": str(run.path),
        "kind": run.kind,
        "name": run.name,
        "created": run.created,
        "status": run.status,
        "summary": dict(run.summary),
        "tables": tables,
        "inputs": [dict(i) for i in run.inputs],
    }


# --------------------------------------------------------------------------- DuckDB


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_path(path: Path) -> str:
    """A file path as a DuckDB string literal, absolute (the sandbox compares absolute paths)."""
    return _sql_string(str(Path(path).resolve()))


def _runs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: identity plus every scalar of its summary, and the summary as JSON."""
    records = []
    for run in runs:
        record: dict[str, Any] = {
            "run": run.run_id,
            "kind": run.kind,
            "name": run.name,
            "created": run.created,
            "status": run.status,
        }
        for key, value in run.summary.items():
            if key not in record and isinstance(value, int | float | str | None):
                record[key] = value
        record["summary"] = json.dumps(run.summary)
        records.append(record)
    return pd.DataFrame.from_records(records)


def sweep_folders(root: Path) -> list[Path]:
    """`root` itself when it is a sweep folder, else the sweep folders directly under it."""
    if (root / SWEEP_MANIFEST).is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / SWEEP_MANIFEST).is_file())


def scan_under(root: Path) -> tuple[list[Run], list[DamagedRun]]:
    """Runs under `root` and the case runs of every sweep folder there, whole and damaged
    (sizes checked, not checksums: `planner.results.folders.scan_runs`)."""
    runs, damaged = scan_runs(root)
    for folder in sweep_folders(root):
        more, bad = scan_runs(folder / CASES)
        runs, damaged = runs + more, damaged + bad
    return runs, damaged


def runs_under(root: Path) -> list[Run]:
    """Whole runs under `root` and the case runs of every sweep folder there."""
    return scan_under(root)[0]


def checked_runs(root: Path) -> tuple[list[Run], list[DamagedRun]]:
    """Runs under `root` checked whole with their checksums, and the damaged ones."""
    runs, damaged = scan_under(root)
    whole = []
    for run in runs:
        try:
            whole.append(read_run(run.path, checksums=True))
        except DamagedRun as exc:
            damaged.append(exc)
    return whole, damaged


def _add_sweep_view(con: duckdb.DuckDBPyConnection, sweeps: Sequence[Path]) -> None:
    """A `sweep` view: every sweep's table (one row per case) with a `sweep` column."""
    files = [f for f in (s / SWEEP_TABLE for s in sweeps) if f.is_file()]
    if not files:
        return
    selects = [
        f"SELECT {_sql_string(f.parent.name)} AS sweep, * FROM read_parquet({_sql_path(f)})"
        for f in files
    ]
    con.execute('CREATE VIEW "sweep" AS ' + " UNION ALL BY NAME ".join(selects))


def connect(runs: Sequence[Run], sweeps: Sequence[Path] = ()) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per table name across `runs`, a `runs` view, and a
    `sweep` view over the tables of `sweeps` (each case's `run` joins its run's tables)."""
    con = duckdb.connect(":memory:")
    by_table: dict[str, list[tuple[str, Path]]] = {}
    for run in runs:
        for table_name, path in run.table_files.items():
            by_table.setdefault(table_name, []).append((run.run_id, path))
    for table_name, files in sorted(by_table.items()):
        selects = [
            f"SELECT {_sql_string(run_id)} AS run, * FROM read_parquet({_sql_path(path)})"
            for run_id, path in files
        ]
        con.execute(f'CREATE VIEW "{table_name}" AS ' + " UNION ALL BY NAME ".join(selects))
    frame = _runs_frame(runs)
    if not frame.empty and "runs" not in by_table:
        con.register("_runs_frame", frame)
        con.execute('CREATE TABLE "runs" AS SELECT * FROM _runs_frame')
        con.unregister("_runs_frame")
    if "sweep" not in by_table:
        _add_sweep_view(con, sweeps)
    return con


def view_names(runs: Sequence[Run], sweeps: Sequence[Path] = ()) -> list[str]:
    """The views a query can use: `runs`, every table name of any run, and `sweep`."""
    names = {"runs", *(t for r in runs for t in r.table_files)}
    return sorted(names | ({"sweep"} if sweeps else set()))


def check_one_select(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but exactly one SELECT (or WITH ... SELECT, FROM ..., VALUES) statement.

    DuckDB's own parser decides, so a `;` inside a string or a comment is no second statement.
    """
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError.option(
            "sql", f"DuckDB could not parse the query: {_first_line(exc)}", "fix the SQL."
        ) from None
    kinds = [s.type.name for s in statements]
    if kinds == ["SELECT"]:
        return
    found = "no statement" if not kinds else f"{len(kinds)} statement(s): {', '.join(kinds)}"
    raise InputError.option(
        "sql",
        "a query over the runs is exactly one SELECT (or WITH ... SELECT) statement; "
        f"this query has {found}. Queries only read the runs: no COPY, ATTACH, INSTALL, SET, "
        "CREATE, INSERT or PRAGMA.",
        "write one SELECT; to save a result, ask for CSV output and redirect it to a file.",
        options=("format",),
    )


def sandbox(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """Lock `con` down once its views exist: no external access except reading under `root`
    (the run folders), no extension installed or loaded, and the configuration locked so the
    query cannot undo any of it."""
    allowed = str(Path(root).resolve()).rstrip("/") + "/"
    con.execute(f"SET allowed_directories = [{_sql_string(allowed)}]")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def refuse_damaged(damaged: Sequence[DamagedRun], root: Path) -> None:
    """A query over a root with damaged runs stops and names them (nothing is left out silently)."""
    if not damaged:
        return
    names = "; ".join(f"{d.run_id} ({d.field}: {d.problem})" for d in damaged)
    raise InputError(
        Problem(
            str(root),
            "",
            f"{len(damaged)} run(s) here are damaged, so a query over all runs would be "
            f"incomplete: {names}",
            "move the damaged folders out of this root (or delete them) and write those runs "
            "again, or skip the damaged runs to query the others.",
            options=("skip_damaged",),
        )
    )


def query_runs(
    sql: str, root: Path = DEFAULT_ROOT, *, skip_damaged: bool = False
) -> tuple[pd.DataFrame, list[DamagedRun]]:
    """Run one SELECT over every whole run under `root` (and the cases and tables of the
    sweeps there), sandboxed to reading those runs. Returns the result and the damaged runs
    left out; with damaged runs and not `skip_damaged`, an InputError naming them."""
    runs, damaged = checked_runs(root)
    sweeps = sweep_folders(root)
    if not skip_damaged:
        refuse_damaged(damaged, root)
    if not runs and not sweeps:
        raise InputError(
            Problem(
                str(root),
                "",
                "holds no complete run to query.",
                "write a run first, or name the root folder that holds the runs.",
                options=("root",),
            )
        )
    return run_query(sql, root, runs, sweeps), damaged


def run_query(sql: str, root: Path, runs: Sequence[Run], sweeps: Sequence[Path]) -> pd.DataFrame:
    """`sql` on the views of `runs` and `sweeps`, in the sandbox of `root`."""
    con = connect(runs, sweeps)
    try:
        check_one_select(con, sql)
        sandbox(con, root)
        return con.execute(sql).df()
    except duckdb.PermissionException as exc:
        raise InputError.option(
            "sql",
            f"the query reaches outside the runs under {root}: {_first_line(exc)}",
            f"query the views (a query may read only the run folders under {root}): "
            f"{', '.join(view_names(runs, sweeps))}.",
        ) from None
    except duckdb.Error as exc:
        raise InputError.option(
            "sql",
            f"DuckDB could not run the query: {_first_line(exc)}",
            f"views available: {', '.join(view_names(runs, sweeps))} (each with a 'run' column).",
        ) from None
    finally:
        con.close()


# --------------------------------------------------------------------------- comparison


def _difference(value: float | None, base: float | None) -> float | None:
    return value - base if value is not None and base is not None else None


def _currency(run: Run) -> str:
    return str(run.summary.get("currency", ""))


def unique_runs(runs: Sequence[Run]) -> list[Run]:
    """The runs in order, a run named twice kept once (rows and labels are keyed by run id)."""
    seen: dict[str, Run] = {}
    for run in runs:
        seen.setdefault(run.run_id, run)
    return list(seen.values())


def compare_runs(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per headline metric: each run's value, then each run's difference to the first.

    Columns: metric, unit, `<run id>` per run, `<run id> - <first id>` per later run. Metrics no
    run has are left out; money differences between runs in different currencies are None.
    """
    runs = unique_runs(runs)
    if not runs:
        return []
    first = runs[0]
    rows = []
    for metric in METRICS:
        values = [metric_value(r, metric) for r in runs]
        if all(v is None for v in values):
            continue
        units = {_unit(r, metric) for r, v in zip(runs, values, strict=True) if v is not None}
        row: dict[str, Any] = {"metric": metric.label, "unit": " | ".join(sorted(units))}
        for run, value in zip(runs, values, strict=True):
            row[run.run_id] = value
        money = "{cur}" in metric.unit
        for run, value in zip(runs[1:], values[1:], strict=True):
            same_unit = not money or _currency(run) == _currency(first)
            row[f"{run.run_id} - {first.run_id}"] = (
                _difference(value, values[0]) if same_unit else None
            )
        rows.append(row)
    return rows


def compare_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """What `planner compare` shows: the headline metrics, then for plans the parts bought, IT
    capacity, battery, spend and unserved share year by year (planner.results.plan_compare)."""
    from planner.results.plan_compare import plan_comparison_rows

    runs = unique_runs(runs)
    return [*compare_runs(runs), *plan_comparison_rows(runs)]


def compare_json(runs: Sequence[Run]) -> dict[str, Any]:
    """The stable JSON of `planner compare`: runs in order, metrics with values and differences."""
    runs = unique_runs(runs)
    metrics = []
    first = runs[0].run_id if runs else ""
    for row in compare_rows(runs):
        values = [row[r.run_id] for r in runs]
        differences = [0.0 if values[0] is not None else None]
        differences += [row[f"{r.run_id} - {first}"] for r in runs[1:]]
        metrics.append(
            {
                "metric": row["metric"],
                "unit": row["unit"],
                "values": values,
                "differences_to_first": differences,
            }
        )
    return {
        "runs": [{"run": r.run_id, "kind": r.kind, "name": r.name} for r in runs],
        "metrics": metrics,
    }
