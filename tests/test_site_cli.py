"""`planner site size`: JSON, --out, plain-words infeasibility, exit codes, backends agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.results.folders import read_run

SITES = Path(__file__).resolve().parent.parent / "scenarios" / "sites"
GUANGDONG = SITES / "guangdong_zhongshan.yaml"
CAROLINA = SITES / "north_carolina_greensboro.yaml"

JSON_KEYS = {
    "site",
    "currency",
    "status",
    "objective",
    "solar_mw",
    "battery_mwh",
    "battery_mw",
    "grid_peak_import_mw",
    "cost_per_mwh_it",
    "backend",
    "solver",
    "build_s",
    "solve_s",
    "hours",
    "n_steps",
    "it_energy_mwh",
    "facility_energy_mwh",
    "grid_import_mwh",
    "solar_share_fraction",
    "battery_equivalent_full_cycles",
    "emissions_t",
    "costs",
    "flexibility",
    "unknown_figures",
}


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["site", "size", *args])


def size_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def guangdong_rep12() -> dict[str, Any]:
    return size_json(str(GUANGDONG), "--hours", "rep:12")


def modified_site(tmp_path: Path, edit: Any, source: Path = GUANGDONG) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(data)
    shutil.copy(SITES / "north_carolina_it_load.csv", tmp_path / "north_carolina_it_load.csv")
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_json_keys_and_cost_breakdown(guangdong_rep12: dict[str, Any]) -> None:
    data = guangdong_rep12
    assert set(data) == JSON_KEYS
    assert data["status"] == "optimal" and data["backend"] == "cvxpy" and data["solver"] == "highs"
    assert data["hours"] == "rep:12" and data["n_steps"] == 288 and data["currency"] == "CNY"
    costs = data["costs"]
    total = sum(v for k, v in costs.items() if k != "export_revenue") - costs["export_revenue"]
    assert total == pytest.approx(data["objective"], rel=1e-9)
    assert data["cost_per_mwh_it"] == pytest.approx(data["objective"] / data["it_energy_mwh"])
    # IT energy over the year: 85 MW x mean profile 1.0004 x 8,760 h (deferral keeps daily sums)
    assert data["it_energy_mwh"] == pytest.approx(85 * 1.000417 * 8_760, rel=1e-5)
    assert data["solar_mw"] <= 60 + 1e-6
    assert data["battery_mwh"] >= 30 - 1e-6  # 1 h backup x 30 MW critical load
    assert data["grid_peak_import_mw"] <= 130 + 1e-6
    assert 0 < data["solar_share_fraction"] < 1
    assert data["battery_equivalent_full_cycles"] <= 365 + 1e-6  # the cycle limit
    flex = data["flexibility"]
    assert flex["deferrable_fraction"] == 0.2
    # freedom to move load can only lower the optimum
    assert flex["value_of_flexibility"] >= -1e-6 * data["objective"]
    assert flex["objective_without_deferral"] == pytest.approx(
        data["objective"] + flex["value_of_flexibility"]
    )


def test_table_output_is_a_readable_summary() -> None:
    result = run(str(CAROLINA), "--hours", "rep:12")
    assert result.exit_code == 0, result.output
    for words in ("annual cost", "USD/year", "battery energy", "value of flexibility"):
        assert words in result.stdout


def test_out_writes_a_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = run(str(CAROLINA), "--hours", "rep:12", "--out", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temp folders left
    run_folder = read_run(out)
    stdout = json.loads(result.stdout)
    assert run_folder.summary["objective"] == pytest.approx(stdout["objective"])
    dispatch = pd.read_parquet(out / "tables" / "dispatch.parquet")
    assert len(dispatch) == 12 * 24
    log = (out / "solver.log").read_text(encoding="utf-8")
    assert log.count("Running HiGHS") == 2  # the sizing and the same site without deferral


def test_schema_error_exit_2_and_nothing_written(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["grid"]["import_cap"]["value"] = "130 MWh"
        data["grid"]["colour"] = "blue"

    out = tmp_path / "out"
    result = run(str(modified_site(tmp_path, edit)), "--out", str(out))
    assert result.exit_code == 2
    assert "site.yaml: grid.colour: Extra inputs are not permitted" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_csv_exit_2(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["load"]["it_load"]["csv"]["file"] = "gone.csv"

    out = tmp_path / "out"
    result = run(str(modified_site(tmp_path, edit, CAROLINA)), "--out", str(out))
    assert result.exit_code == 2
    assert "load.it_load.csv.file: CSV file" in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hours", "weekly"], "'weekly' is not a time resolution"),
        (["--backend", "gurobipy"], "'gurobipy' is not a backend"),
    ],
)
def test_bad_options_exit_2(args: list[str], words: str) -> None:
    result = run(str(GUANGDONG), *args)
    assert result.exit_code == 2
    assert words in result.output


def test_grid_cap_shortfall_explained(tmp_path: Path) -> None:
    """No solar, no battery, no deferral, 100 MW import: facility load 85 x p_h x 1.25 MW
    exceeds 100 MW when p_h > 0.941, i.e. hours 7-22 (16 a day), by up to 106.25 x 1.10 - 100 =
    16.875 MW; the daily excess is 106.25 x 16.99 - 16 x 100 = 205.19 MWh, x 365 = 74,893 MWh."""

    def edit(data: dict[str, Any]) -> None:
        data["grid"]["import_cap"]["value"] = "100 MW"
        data["load"]["deferrable_fraction"]["value"] = 0
        data.pop("solar")
        data.pop("battery")

    out = tmp_path / "out"
    result = run(str(modified_site(tmp_path, edit)), "--hours", "rep:4", "--out", str(out))
    assert result.exit_code == 2
    assert (
        "load exceeds grid import cap 100 MW + no solar + no battery by up to 16.9 MW in "
        "about 5,840 hours of the year (4 representative days); 74,893 MWh of facility load a "
        "year go unserved" in result.output.replace("\n", " ")
    )
    assert "Traceback" not in result.output
    assert not out.exists()


def test_shortfall_with_deferrable_load_is_in_mw_not_the_largest_slack_hour(
    tmp_path: Path,
) -> None:
    """Deferral 0.2, no solar, no battery, 100 MW import: a day's facility load is
    85 x sum(p_h) x 1.25 = 85 x 24.01 x 1.25 = 2,551.06 MWh against 2,400 MWh the grid can bring,
    so 151.06 MWh a day go unserved, 6.29 MW over the day's 24 hours; the load that cannot move
    peaks at 0.8 x 85 x 1.10 x 1.25 = 93.5 MW, under the cap, so 6.3 MW is the shortfall. The
    solver books a day's slack in any hour it likes: the old message quoted 151.1 MW."""

    def edit(data: dict[str, Any]) -> None:
        data["grid"]["import_cap"]["value"] = "100 MW"
        data.pop("solar")
        data.pop("battery")

    out = tmp_path / "out"
    result = run(str(modified_site(tmp_path, edit)), "--hours", "rep:4", "--out", str(out))
    text = " ".join(result.output.split())
    assert result.exit_code == 2
    assert (
        "load exceeds grid import cap 100 MW + no solar + no battery by up to 6.3 MW on about "
        "365 days of the year (4 representative days): the worst day lacks 151 MWh, 6.3 MW over "
        "its 24 hours, as deferrable load may move within its day; 55,138 MWh of facility load "
        "a year go unserved" in text
    )
    assert "151.1 MW" not in text
    assert not out.exists()


def test_backup_reserve_shortfall_explained(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["battery"]["max_energy"] = {
            "value": "20 MWh",
            "source": "example",
            "confidence": "estimate",
            "note": "a container yard that fits 20 MWh",
        }

    result = run(str(modified_site(tmp_path, edit)), "--hours", "rep:2")
    assert result.exit_code == 2
    assert (
        "the backup reserve of 1 h x 30 MW critical load needs 30 MWh; the battery is capped at "
        "20 MWh: short by up to 10.0 MWh in about 8,760 hours of the year" in result.output
    )


def test_backends_agree_on_a_shipped_site(guangdong_rep12: dict[str, Any]) -> None:
    pyomo = size_json(str(GUANGDONG), "--hours", "rep:12", "--backend", "pyomo")
    assert pyomo["backend"] == "pyomo"
    assert pyomo["objective"] == pytest.approx(guangdong_rep12["objective"], rel=1e-6)
    flex, flex_pyomo = guangdong_rep12["flexibility"], pyomo["flexibility"]
    assert flex_pyomo["objective_without_deferral"] == pytest.approx(
        flex["objective_without_deferral"], rel=1e-6
    )


def test_representative_days_bill_the_annual_peak_for_12_months() -> None:
    data = size_json(str(CAROLINA), "--hours", "rep:12")
    assert data["costs"]["demand_charges"] == pytest.approx(
        3_630 * 12 * data["grid_peak_import_mw"], rel=1e-6
    )
    assert data["unknown_figures"][0].startswith("grid.emission_t_per_mwh is unknown")


def test_write_mps_hands_the_same_lp_to_highs_alone(tmp_path: Path) -> None:
    from models.mps import solve_mps

    mps = tmp_path / "site.mps"
    result = run(str(CAROLINA), "--hours", "rep:4", "--write-mps", str(mps), "--format", "json")
    assert result.exit_code == 0, result.output
    alone = solve_mps(mps)
    assert alone.objective == pytest.approx(json.loads(result.stdout)["objective"], rel=1e-6)
