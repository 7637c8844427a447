"""A run records every file its figures rest on, and a sweep reuses a case's run only while
those files are unchanged (planner.results.inputs_check)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.plan.scenario import find_scenario
from planner.results.folders import read_run
from planner.results.inputs_check import StaleRun, changed_input, read_current_run
from planner.sweeps.sweep import SweepSpec, read_sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent
TINY = find_scenario("scenarios/tiny/sweep_one_site.yaml")  # H20 serving qwen3-30b-a3b


def plan_into(scenario: Path, out: Path) -> Path:
    result = CliRunner().invoke(app, ["plan", str(scenario), "--relax", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_a_plan_records_the_workload_and_serving_tables_its_rates_rest_on(tmp_path: Path) -> None:
    """The served workload's profile, the calibration table, the precisions table and the
    software stacks set every token rate: a run that did not record them could not say which
    table it was solved with (before, only the part, server and rule files were recorded)."""
    run = read_run(plan_into(TINY, tmp_path / "run"))
    paths = {Path(str(i["path"])).resolve() for i in run.inputs}
    for needed in (
        "workload_profiles/qwen3-30b-a3b.yaml",
        "workload_profiles/serving/calibration.yaml",
        "workload_profiles/serving/precisions.yaml",
        "hardware_profiles/software_stacks.yaml",
        "hardware_profiles/nvidia/h20.yaml",
    ):
        assert (ROOT / needed).resolve() in paths, needed
    assert changed_input(run) is None
    capped = read_run(
        plan_into(find_scenario("scenarios/tiny/power_capped_grid.yaml"), tmp_path / "c")
    )
    capped_paths = {Path(str(i["path"])).resolve() for i in capped.inputs}
    assert (ROOT / "workload_profiles/serving/power_caps.yaml").resolve() in capped_paths
    flexible = read_run(
        plan_into(find_scenario("scenarios/tiny/flexible_connection.yaml"), tmp_path / "f")
    )
    flexible_paths = {Path(str(i["path"])).resolve() for i in flexible.inputs}
    assert (
        ROOT / "scenarios/sites/duke_energy_carolinas_load_2024.yaml"
    ).resolve() in flexible_paths


def test_a_plan_records_its_demand_csv_and_day_shape_files(tmp_path: Path) -> None:
    """Demand read from a CSV and a day shape read from a file (shipped or the user's) set the
    load the plan serves: the run records each, and editing the CSV makes the run stale."""
    scenario = tmp_path / "tiny.yaml"
    text = TINY.read_text()
    flat = (
        "      tokens_per_day: 1.0e+10\n"
        "      growth: {kind: exponential, annual_growth_fraction: 0.0}\n"
    )
    assert flat in text
    text = text.replace(flat, "      growth: {kind: csv, file: chat.csv}\n      shape: day.csv\n")
    scenario.write_text(text)
    (tmp_path / "chat.csv").write_text("period,tokens_per_day\n2026,1.0e10\n2027,1.0e10\n")
    hours = "".join(f"{h},{1 + (h >= 8)},1\n" for h in range(24))
    (tmp_path / "day.csv").write_text("hour,weekday,weekend\n" + hours)
    folder = plan_into(scenario, tmp_path / "run")
    paths = {Path(str(i["path"])).resolve() for i in read_run(folder).inputs}
    assert {(tmp_path / "chat.csv").resolve(), (tmp_path / "day.csv").resolve()} <= paths
    (tmp_path / "chat.csv").write_text("period,tokens_per_day\n2026,2.0e10\n2027,2.0e10\n")
    with pytest.raises(StaleRun, match=r"chat\.csv"):
        read_current_run(folder)
    shipped = scenario.read_text().replace("shape: day.csv", "shape: azure-conv-2024")
    scenario.write_text(shipped)
    paths = {
        Path(str(i["path"])).resolve() for i in read_run(plan_into(scenario, tmp_path / "s")).inputs
    }
    assert (ROOT / "demand_shapes/azure-conv-2024.yaml").resolve() in paths


def test_a_run_is_current_until_an_input_changes(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.yaml"
    shutil.copy(TINY, scenario)
    folder = plan_into(scenario, tmp_path / "run")
    assert read_current_run(folder).summary
    scenario.write_text(scenario.read_text() + "\n# edited\n")
    with pytest.raises(StaleRun, match=r"tiny\.yaml"):
        read_current_run(folder)
    scenario.unlink()
    assert changed_input(read_run(folder)) == str(scenario)


def test_a_sweep_solves_a_case_again_when_a_profile_it_read_has_changed(tmp_path: Path) -> None:
    """The case's id (scenario, parameters, options) is unchanged, but the workload profile the
    overlay holds was edited after the first run: the second run solves it again, and a third,
    with nothing changed, skips it."""
    overlay = tmp_path / "overlay"
    (overlay / "workload_profiles").mkdir(parents=True)
    profile = overlay / "workload_profiles" / "qwen3-30b-a3b.yaml"
    shutil.copy(ROOT / "workload_profiles" / "qwen3-30b-a3b.yaml", profile)
    spec = SweepSpec(TINY, vary={"demand.scale": [1.0]}, relax=True, overlays=(overlay,))
    out = tmp_path / "sweep"
    first = run_sweep(spec, out, workers=1)
    assert (first.done, first.skipped) == (1, 0)
    run = read_run(out / "cases" / str(read_sweep(out).table["run"].iloc[0]))
    assert profile.resolve() in {Path(str(i["path"])).resolve() for i in run.inputs}
    profile.write_text(profile.read_text() + "\n# edited after the first run\n")
    second = run_sweep(spec, out, workers=1)
    assert (second.done, second.skipped) == (1, 0)
    third = run_sweep(spec, out, workers=1)
    assert (third.done, third.skipped) == (0, 1)
