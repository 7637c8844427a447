"""`planner bench`: build, solve and total time against HiGHS alone."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.options import FormatOpt
from cli.render import OutputFormat, emit, err_console
from planner.atomic import atomic_write_text
from planner.bench import plan as bench_plan
from planner.bench import site as harness
from planner.errors import InputError

TABLE_COLUMNS = (
    "model", "backend", "solver", "method", "size", "hours", "sites", "build_s", "solve_s",
    "total_s", "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective", "status",
)  # fmt: skip
PLAN_TABLE_COLUMNS = (
    "model", "backend", "method", "size", "parts", "years", "sites", "hours", "build_s",
    "solve_s", "total_s", "highs_alone_s", "ratio_to_highs", "peak_rss_mb", "objective",
    "mip_gap", "status",
)  # fmt: skip
DEFAULT_SIZES = {"site": "168,2190,8760", "plan": "grid"}
DEFAULT_METHODS = {"site": "joint,apart", "plan": "lp"}


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """['solver=ipm', 'run_crossover=off', 'time_limit=60'] -> HiGHS options with typed values."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InputError.one(
                "--option", "", f"'{pair}' is not KEY=VALUE.", "write e.g. --option solver=ipm."
            )
        options[key.strip()] = _typed(text.strip())
    return options


def _typed(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def bench(
    model: Annotated[
        str, typer.Option(help="Model to benchmark: site (site energy) or plan (capacity plan).")
    ] = "site",
    sizes: Annotated[
        str | None,
        typer.Option(
            help="site: hours from 1 January (24..8760) or rep:N representative days "
            "[168,2190,8760]; plan: pPyYsS (parts, years, sites of flagship 1 resized, e.g. "
            "p5y5s5) or 'grid' [grid]."
        ),
    ] = None,
    sites: Annotated[
        str | None,
        typer.Option(help="site only: independent sites per problem, e.g. 1,5,10 [1]."),
    ] = None,
    backends: Annotated[str, typer.Option(help="Modelling layers: cvxpy, pyomo.")] = "cvxpy,pyomo",
    solvers: Annotated[str, typer.Option(help="Solvers (HiGHS alone is the floor).")] = "highs",
    methods: Annotated[
        str | None,
        typer.Option(
            help="site: joint (one LP) and/or apart (one LP per site, in parallel) "
            "[joint,apart]; plan: lp (relaxation), milp (to a 0.5% gap, or --option "
            "mip_gap=...), lp-decompose, milp-decompose (Benders on 2 processes) [lp]."
        ),
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", help="Solver option KEY=VALUE; repeatable.")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Also write the rows and the machine to this JSON file.")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Seconds allowed to each child step.")] = 3600,
    repeats: Annotated[
        int, typer.Option(min=1, help="Runs of each case and floor; the fastest is kept.")
    ] = 1,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Benchmark the optimisation models: build, solve and total seconds, HiGHS alone on the
    same LP (from an MPS file), their ratio, peak memory. Each case runs in fresh processes."""
    if model not in DEFAULT_SIZES:
        raise InputError.one(
            "--model", "", f"'{model}' has no benchmark.", "use --model site or --model plan."
        )
    options = parse_options(option or [])
    chosen_backends = harness.parse_choices(backends, "backends", harness.BACKENDS)
    size_text = sizes or DEFAULT_SIZES[model]
    method_text = methods or DEFAULT_METHODS[model]
    if model == "plan":
        if sites is not None:
            raise InputError.one(
                "--sites", "", "a plan size names its sites.", "write e.g. --sizes p5y5s10."
            )
        cases = bench_plan.plan_cases(
            sizes=bench_plan.parse_plan_sizes(size_text),
            backends=chosen_backends,
            solvers=_tokens(solvers),
            methods=harness.parse_choices(method_text, "methods", bench_plan.PLAN_METHODS),
            options=options,
        )
    else:
        cases = harness.cases(
            sizes=harness.parse_sizes(size_text),
            sites=harness.parse_sites(sites or "1"),
            backends=chosen_backends,
            solvers=_tokens(solvers),
            methods=harness.parse_choices(method_text, "methods", harness.METHODS),
            options=options,
        )
    console = err_console()

    def progress(row: dict[str, Any]) -> None:
        if console.is_terminal:  # one line per case on stderr; silent when piped
            console.print(
                f"{row['model']} {row['backend']} {row['method']} {row['size']} x {row['sites']}: "
                f"total {row['total_s'] or float('nan'):.2f} s, {row['status']}"
            )

    machine = harness.machine()
    rows = harness.run(cases, on_row=progress, timeout_s=timeout_s, repeats=repeats)
    if record is not None:
        write_record(record, rows, machine, options)
    emit(
        rows,
        fmt,
        title="Benchmarks (seconds; ratio = total / HiGHS alone)",
        columns=PLAN_TABLE_COLUMNS if model == "plan" else TABLE_COLUMNS,
    )


def _finite(value: Any) -> Any:
    """NaN and infinity become null: JSON has no such numbers."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def _tokens(text: str) -> list[str]:
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not tokens:
        raise InputError.one("--solvers", "", "lists nothing.", "write e.g. --solvers highs.")
    return tokens


def write_record(
    path: Path, rows: list[dict[str, Any]], machine: dict[str, Any], options: dict[str, Any]
) -> None:
    """Rows plus the machine and the command, written atomically (temp file, then rename)."""
    record = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["planner", *sys.argv[1:]]),
        "machine": machine,
        "solver_options": options,
        "rows": [{k: _finite(v) for k, v in row.items()} for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
