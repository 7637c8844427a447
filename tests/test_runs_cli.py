"""`planner runs list|show|query` and `planner compare` on two known runs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.results.folders import write_run

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two site runs with hand-made tables, an incomplete folder and a hidden temp folder."""
    root = tmp_path_factory.mktemp("runs")
    write_run(
        kind="site",
        name="small",
        summary={
            "status": "optimal",
            "currency": "USD",
            "objective": 1000.0,
            "cost_per_mwh_it": 50.0,
            "solar_mw": 10.0,
            "battery_mwh": 40.0,
            "unserved_it_mwh": 0.0,
        },
        tables={
            "dispatch": pd.DataFrame(
                {"step": [0, 1, 2], "weight_h": [1.0, 2.0, 1.0], "grid_import_mw": [5.0, 6.0, 7.0]}
            ),
            "costs": pd.DataFrame(
                {"item": ["energy", "solar_capex"], "cost_per_year": [600.0, 400.0]}
            ),
        },
        resolved_inputs={},
        root=root,
        created=T0,
    )
    write_run(
        kind="site",
        name="large",
        summary={
            "status": "optimal",
            "currency": "USD",
            "objective": 2500.0,
            "cost_per_mwh_it": 45.0,
            "solar_mw": 30.0,
            "battery_mwh": 100.0,
            "unserved_it_mwh": 2.0,
        },
        tables={
            "dispatch": pd.DataFrame(
                {"step": [0, 1], "weight_h": [1.0, 1.0], "grid_import_mw": [20.0, 30.0]}
            ),
            "costs": pd.DataFrame({"item": ["energy"], "cost_per_year": [2500.0]}),
        },
        resolved_inputs={},
        root=root,
        created=T0 + dt.timedelta(minutes=5),
    )
    (root / "broken-run").mkdir()
    (root / "broken-run" / "summary.json").write_text("{}", encoding="utf-8")
    (root / ".large.tmp-x").mkdir()
    return root


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> object:
    code, out, err = _run(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_query_sums_weighted_energy_per_run(root: Path) -> None:
    rows = _json(
        "runs",
        "query",
        "SELECT r.name, sum(d.grid_import_mw * d.weight_h) AS import_mwh "
        "FROM dispatch d JOIN runs r USING (run) GROUP BY r.name ORDER BY r.name",
        "--root",
        str(root),
    )
    assert rows == [
        {"name": "large", "import_mwh": 50.0},
        {"name": "small", "import_mwh": 5.0 + 12.0 + 7.0},
    ]


def test_query_views_span_all_runs_with_a_run_column(root: Path) -> None:
    rows = _json(
        "runs",
        "query",
        "SELECT count(DISTINCT run) AS runs, sum(cost_per_year) AS total FROM costs",
        "--root",
        str(root),
    )
    assert rows == [{"runs": 2, "total": 3500.0}]
    (row,) = _json(
        "runs",
        "query",
        "SELECT json_extract(summary, '$.solar_mw')::DOUBLE AS solar FROM runs WHERE name='large'",
        "--root",
        str(root),
    )
    assert row == {"solar": 30.0}


def test_list_shows_complete_runs_only_with_headline_numbers(root: Path) -> None:
    rows = _json("runs", "list", "--root", str(root))
    assert [r["name"] for r in rows] == ["small", "large"]
    assert rows[0]["run"] == "small-20260101T000000Z"
    assert rows[1]["objective"] == 2500.0 and rows[1]["unserved_mwh"] == 2.0
    assert rows[0]["cost_per_million_served_tokens"] is None
    code, out, _ = _run("runs", "list", "--root", str(root))
    assert code == 0 and "small" in out and "broken-run" not in out


def test_list_of_an_empty_root_says_so(tmp_path: Path) -> None:
    code, out, err = _run("runs", "list", "--root", str(tmp_path))
    assert code == 0 and out == "" and "no complete runs" in err


def test_show_lists_tables_and_summary(root: Path) -> None:
    detail = _json("runs", "show", "small", "--root", str(root))
    assert detail["summary"]["objective"] == 1000.0
    assert {t["table"]: t["rows"] for t in detail["tables"]} == {"dispatch": 3, "costs": 2}
    code, out, _ = _run("runs", "show", "large", "--root", str(root), "--format", "csv")
    assert code == 0 and "table dispatch" in out


def test_compare_gives_values_and_differences_against_the_first(root: Path) -> None:
    data = _json("compare", "small", "large", "--root", str(root))
    assert [r["name"] for r in data["runs"]] == ["small", "large"]
    metrics = {m["metric"]: m for m in data["metrics"]}
    assert metrics["objective"]["values"] == [1000.0, 2500.0]
    assert metrics["objective"]["differences_to_first"] == [0.0, 1500.0]
    assert metrics["objective"]["unit"] == "USD"
    assert metrics["cost per MWh of IT energy"]["differences_to_first"] == [0.0, -5.0]
    assert metrics["battery energy"]["differences_to_first"] == [0.0, 60.0]
    assert metrics["unserved energy"]["values"] == [0.0, 2.0]
    assert "cost per million tokens" not in metrics  # no site run has it
    code, out, _ = _run("compare", "small", "large", "--root", str(root))
    assert code == 0 and "1,500" in out


def test_bad_sql_is_exit_2_naming_the_views(root: Path) -> None:
    code, out, err = _run("runs", "query", "SELECT * FROM fleet", "--root", str(root))
    assert code == 2 and out == ""
    assert "fleet" in err and "views available: costs, dispatch, runs" in err
    assert "Traceback" not in err


def test_unknown_run_is_exit_2_with_a_suggestion(root: Path) -> None:
    code, _, err = _run("compare", "smal", "large", "--root", str(root))
    assert code == 2 and "did you mean" in err and "Traceback" not in err
    code, _, err = _run("runs", "show", str(root / "broken-run"), "--root", str(root))
    assert code == 2 and "not a complete run folder" in err


def test_query_without_runs_is_exit_2(tmp_path: Path) -> None:
    code, _, err = _run("runs", "query", "SELECT 1", "--root", str(tmp_path))
    assert code == 2 and "no complete run" in err


def test_report_command_writes_one_file_and_refuses_a_missing_folder(
    root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    code, _, err = _run("report", "small", "large", "--root", str(root), "--out", str(out))
    assert code == 0, err
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'data-chart="costs-0"' in html
    code, _, err = _run(
        "report", "small", "--root", str(root), "--out", str(tmp_path / "x" / "r.html")
    )
    assert code == 2 and "does not exist" in err


def test_tables_with_different_columns_union_by_name(tmp_path: Path) -> None:
    for name, frame in (
        ("old", pd.DataFrame({"year": [2027], "units_count": [5.0]})),
        ("new", pd.DataFrame({"year": [2027], "units_count": [7.0], "site": ["nc"]})),
    ):
        write_run(
            kind="plan",
            name=name,
            summary={"objective": 1.0},
            tables={"fleet": frame},
            resolved_inputs={},
            root=tmp_path,
        )
    rows = _json(
        "runs",
        "query",
        "SELECT sum(units_count) AS units, count(site) AS with_site FROM fleet",
        "--root",
        str(tmp_path),
    )
    assert rows == [{"units": 12.0, "with_site": 1}]


def test_a_run_named_twice_is_compared_once(root: Path) -> None:
    data = _json("compare", "small", "small", "large", "--root", str(root))
    assert [r["name"] for r in data["runs"]] == ["small", "large"]
