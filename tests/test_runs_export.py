"""`planner runs export RUN --xlsx FILE --csv DIR`: a real plan run, opened back with openpyxl."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.results.workbook import column_unit

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def plan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    code, _, err = run("plan", str(TINY), "--relax", "--out", str(out), "--format", "json")
    assert code == 0, err
    return out


def test_units_come_from_the_column_names() -> None:
    assert column_unit("it_power_mw", "CNY") == "MW"
    assert column_unit("soc_mwh", "CNY") == "MWh"
    assert column_unit("price_per_mwh", "USD") == "USD/MWh"
    assert column_unit("cost_per_million_served_tokens", "USD") == "USD/Mtok"
    assert column_unit("capex", "USD") == "USD"
    assert column_unit("discounted_spend", "USD") == "USD"  # present values are money
    assert column_unit("unserved_fraction", "USD") == "fraction"
    assert column_unit("part", "USD") is None


def test_the_workbook_holds_every_table_with_units_and_the_sourced_assumptions(
    plan_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.xlsx"
    code, _, err = run("runs", "export", str(plan_run), "--xlsx", str(out))
    assert code == 0, err
    book = openpyxl.load_workbook(out, read_only=True)
    tables = sorted(p.stem for p in (plan_run / "tables").glob("*.parquet"))
    assert book.sheetnames[0] == "summary"
    assert book.sheetnames[1 : 1 + len(tables)] == tables
    assert "assumptions" in book.sheetnames
    dispatch = [c.value for c in next(book["dispatch"].iter_rows(max_row=1))]
    assert "it_power_mw [MW]" in dispatch and "soc_mwh [MWh]" in dispatch
    frame = pd.read_parquet(plan_run / "tables" / "dispatch.parquet")
    assert book["dispatch"].max_row == len(frame) + 1  # every row, one header
    # The headline figure is the run's own, with its currency.
    summary = json.loads((plan_run / "summary.json").read_text())
    rows = {r[0]: (r[1], r[2]) for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    value, unit = rows["net_present_cost"]
    assert value == pytest.approx(summary["net_present_cost"]) and unit == summary["currency"]
    # Every assumption names its source and confidence.
    header = [c.value for c in next(book["assumptions"].iter_rows(max_row=1))]
    assert {"field", "value", "source", "confidence"} <= set(header)
    for row in book["assumptions"].iter_rows(min_row=2, values_only=True):
        record = dict(zip(header, row, strict=True))
        assert record["source"] and record["confidence"], record


def test_the_csv_folder_has_one_file_per_sheet(plan_run: Path, tmp_path: Path) -> None:
    code, _, err = run("runs", "export", str(plan_run), "--csv", str(tmp_path / "csv"))
    assert code == 0, err
    names = {p.stem for p in (tmp_path / "csv").glob("*.csv")}
    assert {"summary", "dispatch", "purchases", "assumptions"} <= names
    fleet = pd.read_csv(tmp_path / "csv" / "fleet.csv")
    assert "it_power_mw [MW]" in fleet.columns


def test_export_mistakes_exit_2_and_write_nothing(plan_run: Path, tmp_path: Path) -> None:
    code, _, err = run("runs", "export", str(plan_run))
    assert code == 2 and "--xlsx" in err
    missing = tmp_path / "no" / "such" / "plan.xlsx"
    code, _, err = run("runs", "export", str(plan_run), "--xlsx", str(missing))
    assert code == 2 and "does not exist" in err and not missing.parent.exists()
    code, _, err = run("runs", "export", "no-such-run", "--root", str(tmp_path), "--xlsx", "x.xlsx")
    assert code == 2 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
