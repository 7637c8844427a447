"""`planner runs query` runs in a sandbox (one SELECT, reads the run root only); docs queries run.

Every `planner runs query` line in docs/results.md, docs/sweeps.md and docs/cli.md is extracted
and run against a root of hand-made runs and one sweep folder, so a sandbox too tight for the
documentation fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.results.folders import CASES, write_run
from planner.sweeps.sweep import write_sweep_files

REPO = Path(__file__).resolve().parents[1]
DOCS = ("docs/results.md", "docs/sweeps.md", "docs/cli.md")
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _site_run(root: Path, name: str, imports_mw: list[float], minutes: int) -> Path:
    return write_run(
        kind="site",
        name=name,
        summary={
            "status": "optimal",
            "currency": "USD",
            "objective": 1000.0 + minutes,
            "costs": {"energy": 600.0 + minutes},
        },
        tables={
            "dispatch": pd.DataFrame(
                {"step": range(len(imports_mw)), "weight_h": 2.0, "grid_import_mw": imports_mw}
            ),
            "costs": pd.DataFrame({"item": ["energy"], "cost_per_year": [600.0 + minutes]}),
        },
        resolved_inputs={},
        root=root,
        created=T0 + dt.timedelta(minutes=minutes),
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two site runs (import 3 and 10 MW over two 2-hour steps) and one sweep of two cases."""
    root = tmp_path_factory.mktemp("runs")
    _site_run(root, "small", [1.0, 2.0], 0)
    _site_run(root, "large", [4.0, 6.0], 5)
    sweep = root / "sweep-demo-00000000"
    (sweep / CASES).mkdir(parents=True)
    rows = []
    for i, capex in enumerate((100.0, 200.0)):
        case = f"case{i}"
        write_run(
            sweep / CASES / case,
            kind="plan",
            name="demo",
            summary={"objective": 1.0},
            tables={"fleet": pd.DataFrame({"year": [2027], "units_count": [8.0 - i]})},
            resolved_inputs={},
        )
        rows.append({"case": case, "status": "ok", "run": case,
                     "battery.capex_per_mwh": capex, "battery_mwh": 50.0 - 10 * i})  # fmt: skip
    write_sweep_files(sweep, {"parameters": ["battery.capex_per_mwh"]}, rows)
    return root


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def documented_queries() -> list[tuple[str, list[str]]]:
    """(doc file, argv after `planner`) of every `planner runs query` command in the docs."""
    found = []
    for doc in DOCS:
        text = (REPO / doc).read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if re.match(r"\s*planner runs query ", line):
                found.append((doc, shlex.split(line.strip())[1:]))
    return found


def _with_root(argv: list[str], root: Path) -> list[str]:
    """The documented command pointed at the fixture's root (its sweep for a sweep query)."""
    argv = list(argv)
    if "--root" in argv:
        i = argv.index("--root")
        del argv[i : i + 2]
    sql = next(a for a in argv[2:] if not a.startswith("-"))
    target = root / "sweep-demo-00000000" if "FROM sweep" in sql else root
    return [*argv, "--root", str(target), "--format", "json"]


def test_the_docs_hold_the_queries_this_test_runs() -> None:
    docs = {doc for doc, _ in documented_queries()}
    assert docs == set(DOCS) and len(documented_queries()) >= 5


@pytest.mark.parametrize(
    "argv", [a for _, a in documented_queries()], ids=[d for d, _ in documented_queries()]
)
def test_every_documented_query_runs_and_returns_rows(root: Path, argv: list[str]) -> None:
    code, out, err = _run(*_with_root(argv, root))
    assert code == 0, err
    assert len(json.loads(out)) >= 1


def test_documented_import_query_gives_hand_worked_energy(root: Path) -> None:
    sql = "SELECT run, sum(grid_import_mw * weight_h) AS import_mwh FROM dispatch GROUP BY run"
    code, out, err = _run("runs", "query", sql, "--root", str(root), "--format", "json")
    assert code == 0, err
    by_run = {r["run"].split("-")[0]: r["import_mwh"] for r in json.loads(out)}
    assert by_run == {"small": 2.0 * (1.0 + 2.0), "large": 2.0 * (4.0 + 6.0)}


def test_sweep_view_joins_case_tables(root: Path) -> None:
    sql = (
        's."battery.capex_per_mwh" AS capex, f.units_count FROM sweep s '
        "JOIN fleet f USING (run) ORDER BY 1"
    )
    code, out, err = _run("runs", "query", "SELECT " + sql, "--root", str(root), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [
        {"capex": 100.0, "units_count": 8.0},
        {"capex": 200.0, "units_count": 7.0},
    ]


HOSTILE = {
    "copy to a file": "COPY (SELECT 1) TO 'x.csv'",
    "copy over run.json": "COPY (SELECT 1) TO '{run}/run.json' (FORMAT csv)",
    "attach": "ATTACH '{root}/evil.db'",
    "read outside": "SELECT * FROM read_text('/etc/hostname')",
    "read csv outside": "SELECT * FROM read_csv('/etc/passwd')",
    "glob outside": "SELECT * FROM glob('/etc/*')",
    "escape by ..": "SELECT * FROM read_text('{root}/../../../../etc/hostname')",
    "two statements": "SELECT 1; SELECT 2",
    "select then copy": "SELECT 1; COPY (SELECT 1) TO '{root}/y.csv'",
    "set": "SET enable_external_access = true",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "pragma": "PRAGMA version",
    "create": "CREATE TABLE t AS SELECT 1",
    "copy through query()": "SELECT * FROM query('COPY (SELECT 1) TO ''{root}/z.csv''')",
    "remote file": "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "empty": "  ;  ",
}


@pytest.mark.parametrize("sql", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_query_is_exit_2_and_changes_nothing(
    root: Path, sql: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run = next(p for p in root.iterdir() if p.name.startswith("small-"))
    manifest = (run / "run.json").read_bytes()
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    code, out, err = _run("runs", "query", sql.format(root=root, run=run), "--root", str(root))
    assert code == 2, out
    assert out == "" and "Traceback" not in err and "SQL" in err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert (run / "run.json").read_bytes() == manifest
    assert list(tmp_path.iterdir()) == []


def test_a_refused_statement_says_what_is_allowed(root: Path) -> None:
    code, _, err = _run("runs", "query", "COPY (SELECT 1) TO 'x.csv'", "--root", str(root))
    assert code == 2 and "exactly one SELECT" in err and "COPY" in err
    code, _, err = _run(
        "runs", "query", "SELECT * FROM read_text('/etc/hostname')", "--root", str(root)
    )
    assert code == 2 and "outside the runs" in err and "/etc/hostname" in err


def test_a_query_may_read_files_inside_the_root(root: Path) -> None:
    sql = f"SELECT count(*) AS n FROM glob('{root}/*/run.json')"
    code, out, err = _run("runs", "query", sql, "--root", str(root), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == [{"n": 2}]


def test_relative_root_is_sandboxed_too(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root.parent)
    code, out, err = _run(
        "runs", "query", "SELECT count(*) AS n FROM costs", "--root", root.name, "--format", "json"
    )
    assert code == 0, err
    assert json.loads(out) == [{"n": 2}]
