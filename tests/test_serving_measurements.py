"""Validation against published measurements, calibration overlays and measured overrides."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.evidence import Evidence
from planner.serving.measurements import (
    calibrate,
    load_measurements,
    shipped_measurements,
    validate,
)
from planner.serving.model import ServingRequest, estimate
from planner.serving.workloads import WorkloadLibrary


@pytest.fixture(scope="module")
def world():
    catalogue = Catalogue.load()
    workloads = {w.id: w for w in WorkloadLibrary.load()}
    return catalogue, workloads, load_stacks()


@pytest.fixture(scope="module")
def report(world):
    catalogue, workloads, stacks = world
    return validate(load_measurements(shipped_measurements()), catalogue, workloads, stacks)


def test_shipped_set_meets_the_validation_target(report):
    """Issue 3 target on the shipped set (parts with measurements carry calibrated `serving:`
    blocks): median |error| <= 20%, no row beyond +-50%. Leave-one-out (a stack-level fit without
    the row, i.e. how an unmeasured part of that stack fares) is held to median <= 20%; its worst
    row (B200 fp4 MoE, +54%) is guarded at 60% so the real figure cannot drift unseen."""
    assert len(report.rows) >= 30
    assert all(r.error_fraction is not None for r in report.rows), [r.note for r in report.rows]
    assert report.median_abs_error_fraction <= 0.20
    assert report.max_abs_error_fraction <= 0.50
    assert report.loo_median_abs_error_fraction <= 0.20
    assert report.loo_max_abs_error_fraction <= 0.60


def test_calibrated_parts_meet_the_validation_target(world, tmp_path: Path):
    """Target (issue 3) with each measured part calibrated: median |error| <= 20%, no row beyond
    +-50%, fitted factors in (0, 1]."""
    catalogue, workloads, stacks = world
    rows = load_measurements(shipped_measurements())
    results = calibrate(rows, catalogue, workloads, stacks, tmp_path, shipped_measurements())
    for c in results:
        assert 0 < c.efficiency.flop_fraction <= 1 and 0 < c.efficiency.bandwidth_fraction <= 1
    calibrated = validate(rows, Catalogue.load([tmp_path]), workloads, stacks, leave_one_out=False)
    assert calibrated.median_abs_error_fraction <= 0.20
    assert calibrated.max_abs_error_fraction <= 0.50


def test_shipped_rows_cover_both_rooflines_and_several_vendors(report, world):
    catalogue = world[0]
    assert {r.bound for r in report.rows} >= {"compute", "memory"}
    assert {catalogue[r.part].vendor for r in report.rows} >= {"nvidia", "amd"}


def test_calibrate_writes_an_overlay_that_loads_and_changes_the_estimate(world, tmp_path: Path):
    catalogue, workloads, stacks = world
    rows = load_measurements(shipped_measurements())
    results = calibrate(rows, catalogue, workloads, stacks, tmp_path, shipped_measurements())
    by_part = {c.part: c for c in results}
    assert {"h100-sxm", "h200", "mi300x", "b200"} <= set(by_part)
    for c in results:
        assert 0 < c.efficiency.flop_fraction <= 1 and 0 < c.efficiency.bandwidth_fraction <= 1
    b200 = by_part["b200"]
    assert b200.overlay_path == tmp_path / "hardware_profiles" / "nvidia" / "b200.yaml"
    written = yaml.safe_load(b200.overlay_path.read_text())
    assert written["serving"]["flop_efficiency_fraction"]["confidence"] == "measured"
    assert written["serving"]["interconnect_efficiency_fraction"]["confidence"] == "estimate"
    h100_written = yaml.safe_load(by_part["h100-sxm"].overlay_path.read_text())
    assert h100_written["serving"]["flop_efficiency_fraction"]["confidence"] == "measured"

    # MI300X rows are all compute-bound: the bandwidth share is not identified and says so.
    mi300x = yaml.safe_load(by_part["mi300x"].overlay_path.read_text())["serving"]
    assert mi300x["flop_efficiency_fraction"]["confidence"] == "measured"
    assert mi300x["bandwidth_efficiency_fraction"]["confidence"] == "estimate"
    assert "not identified" in mi300x["bandwidth_efficiency_fraction"]["note"]

    overlaid = Catalogue.load([tmp_path])
    part = overlaid["b200"]
    assert part.flop_efficiency_fraction == pytest.approx(b200.efficiency.flop_fraction, abs=1e-4)
    request = ServingRequest(
        input_tokens=274, output_tokens=274, precision="fp4", kv_precision="fp8"
    )
    stack_only = replace(
        catalogue["b200"],
        flop_efficiency_fraction=None,
        bandwidth_efficiency_fraction=None,
        interconnect_efficiency_fraction=None,
    )
    before = estimate(
        stack_only, workloads["llama-2-70b"], request, efficiency_for(stack_only, stacks)
    )
    after = estimate(part, workloads["llama-2-70b"], request, efficiency_for(part, stacks))
    assert after.efficiency.basis.startswith("part profile serving block")
    assert after.tokens_per_s < before.tokens_per_s  # the stack default over-predicts B200
    assert abs(after.tokens_per_s / 11264.4 - 1) < abs(before.tokens_per_s / 11264.4 - 1)


def test_a_matching_measurement_overrides_the_model(world):
    catalogue, workloads, stacks = world
    part, workload = catalogue["h200"], workloads["llama-2-70b"]
    request = ServingRequest(input_tokens=291, output_tokens=291, precision="fp8")
    evidence = Evidence.load(None, catalogue, workloads, stacks)
    est = evidence.apply(
        estimate(part, workload, request, efficiency_for(part, stacks)), part, request
    )
    assert est.source == "measured"
    assert est.measurement_id == "mlperf41-nvidia-8xh200-llama2-offline"
    assert est.tokens_per_s == pytest.approx(31302.7 / 8)
    other = ServingRequest(input_tokens=2000, output_tokens=500, precision="fp8")
    modelled = evidence.apply(
        estimate(part, workload, other, efficiency_for(part, stacks)), part, other
    )
    assert modelled.source == "model"
    assert modelled.error_band_fraction is not None and modelled.error_band_fraction > 0
    assert "nvidia" in modelled.error_band_basis


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(text)
    return path


def test_bad_measurement_rows_name_file_line_and_field(tmp_path: Path):
    header = shipped_measurements().read_text().splitlines()
    head = next(line for line in header if line.startswith("id,"))
    row = (
        "r1,h200,llama-2-70b,offline,fp9,,8,,,-5,291,,,1000,s,NVIDIA,x,2024,https://x,t,measured,n"
    )
    path = _write(tmp_path, head + "\n" + row + "\n")
    with pytest.raises(InputError) as info:
        load_measurements(path)
    text = str(info.value)
    assert f"{path}: line 2, precision: 'fp9' is not a serving precision" in text
    assert "line 2, input_tokens: -5 is not a whole number > 0" in text


def test_missing_column_is_reported(tmp_path: Path):
    path = _write(tmp_path, "id,part\nx,h200\n")
    with pytest.raises(InputError) as info:
        load_measurements(path)
    assert "missing columns" in str(info.value)


def test_cli_validate_json_and_calibrate_then_estimate_with_profiles(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["serving", "validate", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["median_abs_error_pct"] <= 20
    assert {"id", "error_pct", "loo_error_pct", "bound"} <= set(data["rows"][0])

    # Calibrate on the B200's Qwen3 rows only: a different fit from the shipped serving block.
    lines = [x for x in shipped_measurements().read_text().splitlines() if not x.startswith("#")]
    subset = tmp_path / "b200_qwen3.csv"
    subset.write_text("\n".join([lines[0], *(x for x in lines[1:] if ",b200,qwen3" in x)]) + "\n")
    out = tmp_path / "overlay"
    result = runner.invoke(
        app, ["serving", "calibrate", str(subset), "--out", str(out), "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    args = [
        "serving",
        "estimate",
        "--part",
        "b200",
        "--workload",
        "llama-2-70b",
        "--precision",
        "fp4",
        "--input-tokens",
        "2000",
        "--output-tokens",
        "500",
        "-f",
        "json",
    ]
    base = json.loads(runner.invoke(app, args).stdout)
    tuned = json.loads(runner.invoke(app, [*args, "--profiles", str(out)]).stdout)
    assert tuned["output_tokens_per_s_per_part"] != base["output_tokens_per_s_per_part"]
    assert tuned["efficiency_basis"].startswith("part profile serving block")


def test_cli_bad_csv_exits_2_without_traceback(tmp_path: Path):
    path = _write(tmp_path, "id,part\nx,h200\n")
    result = CliRunner().invoke(app, ["serving", "validate", str(path)])
    assert result.exit_code == 2
    assert "missing columns" in result.output
    assert "Traceback" not in result.output


def test_rows_for_unknown_parts_are_kept_with_a_note(world, tmp_path: Path):
    catalogue, workloads, stacks = world
    head = next(
        line for line in shipped_measurements().read_text().splitlines() if line.startswith("id,")
    )
    row = "r1,tpu-v9,llama-2-70b,offline,fp8,,8,,,300,300,,,1000,s,X,x,2024,https://x,t,measured,n"
    rows = load_measurements(_write(tmp_path, head + "\n" + row + "\n"))
    report = validate(rows, catalogue, workloads, stacks)
    assert report.rows[0].error_fraction is None
    assert "part 'tpu-v9' is not in the catalogue" in report.rows[0].note
    assert report.median_abs_error_fraction is None
