"""Validation against published measurements, calibration overlays and measured overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.evidence import Evidence
from planner.serving.measurements import load_measurements, shipped_measurements
from planner.serving.model import ServingRequest, estimate
from planner.serving.validation import validate
from planner.serving.workloads import WorkloadLibrary


@pytest.fixture(scope="module")
def world():
    catalogue = Catalogue.load()
    workloads = {w.id: w for w in WorkloadLibrary.load()}
    return catalogue, workloads, load_stacks()


@pytest.fixture(scope="module")
def report(world):
    """The shipped rows fitted, left out one by one and part by part (about a minute)."""
    catalogue, workloads, stacks = world
    return validate(load_measurements(shipped_measurements()), catalogue, workloads, stacks)


@pytest.mark.slow
def test_the_shipped_set_covers_the_parts_that_matter(report):
    """Issue 12: at least 60 modelled rows across at least 8 parts, Ascend 910C, H20 and H800
    among them, and at least 10 at batch 1 or low concurrency."""
    modelled = [r for r in report.rows if r.error_fraction is not None]
    parts = {r.part for r in modelled}
    assert len(modelled) >= 60 and len(parts) >= 8
    assert {"ascend-910c", "h20", "h800"} <= parts
    assert sum(r.low_concurrency for r in modelled) >= 10


@pytest.mark.slow
def test_validation_figures_as_the_docs_state_them(report):
    """docs/serving.md, Validation: in-sample median |error| 6.5%, leave-one-out 8.6%,
    leave-one-part-out 12.5% (target 15%: met; 6.7%, 8.5% and 11.3% before item 41 let a batch
    stop at whole rounds of the attention groups and parts), guarded so a drift shows; the fit
    is the same on every machine (tests/test_serving_calibration_determinism.py). The +-40%
    bound is NOT met by 9 in-scope rows (named in docs/serving.md): a ratchet, so none is
    added. Item 41's refit added one (AMD's batch-128 Llama 3.1 70B row with the MI300X hidden,
    +39% -> +80%: the hidden part's ROCm figures rest on the MI325X alone and moved with the
    weakly identified defaults; in-sample it stayed at +18%), and took the leave-one-part-out
    median from 11.3 to 12.5%, most of it the MI300X's own rows (median 14 -> 23%)."""
    assert report.median("error_fraction") <= 0.0655
    assert report.median("loo_error_fraction") <= 0.0865
    assert report.median("lopo_error_fraction") <= 0.1255
    beyond = [
        r.id for r in report.rows if r.lopo_error_fraction and abs(r.lopo_error_fraction) > 0.4
    ]
    assert len(beyond) <= 9, beyond
    ascend = [i for i in beyond if i.startswith("sglang-ascend")]
    assert len(ascend) <= 2, ascend  # 14 before the dies, engines and all-to-all (issue 12)


@pytest.mark.slow
def test_the_shipped_error_bands_are_the_held_out_misses(report, world):
    """calibration.yaml's error bands are what `calibrate` writes from this fit: leave-one-part-
    out and the shipped test set scored at the fit, by family and kind (fitted.py)."""
    from planner.serving.calibration_io import error_bands
    from planner.serving.measurements import shipped_test_measurements
    from planner.serving.validation import predict

    catalogue, workloads, stacks = world
    tests = load_measurements(shipped_test_measurements())
    tested = predict(tests, catalogue, workloads, stacks, params=report.fit.params)
    table = stacks.calibration
    bands = error_bands(report, table.family_of, tested)
    assert {k: float(f"{b.value:.3g}") for k, b in bands.items()} == {
        k: f.value for k, f in table.error_bands.items()
    }
    assert bands["hopper-moe"].row == "trtllmdev-8xh200-dsr1-fp8-1024-1024"


@pytest.mark.slow
def test_low_concurrency_rows_and_deepseek_on_h200_hold_when_their_part_is_hidden(report):
    """Issue 12 targets: every batch-1 / low-concurrency row within +-30% in-sample (63 of 63,
    worst 23%, since item 40; 62 of 63 after item 37, the 910C's 18K-prompt row at +30.9%),
    and with its part hidden at least 10 (57 of 63 are, as before item 41; a ratchet);
    DeepSeek-R1 on 8 x H200 at maximum throughput with the H200 hidden: +23.1% (+23.0% before
    item 41; the shipped table's in-sample figure, +26.2%, is outside the +-25% asked:
    tests/test_serving_step.py). A ratchet."""
    low = [r for r in report.rows if r.low_concurrency and r.error_fraction is not None]
    assert max(abs(r.error_fraction) for r in low) <= 0.24
    assert sum(abs(r.error_fraction) <= 0.30 for r in low) == len(low) == 63
    held = [r for r in low if r.lopo_error_fraction is not None]
    assert sum(abs(r.lopo_error_fraction) <= 0.30 for r in held) >= 57
    r1 = next(r for r in report.rows if r.id == "trtllm-dsr1blog-8xh200-fp8-maxtput-c1024")
    assert r1.lopo_error_fraction is not None and abs(r1.lopo_error_fraction) <= 0.235


@pytest.mark.slow
def test_rows_the_model_cannot_reproduce_say_why(report):
    """Rows without a published acceptance rate, and the four out-of-scope rows with their
    reason; nothing else is left out."""
    notes = {r.id: r.note for r in report.rows if r.error_fraction is None}
    assert "unpublished acceptance" in notes["trtllm-dsr1blog-8xh200-fp8-minlat-c1"]
    out = {i for i, n in notes.items() if "out of scope:" in n}
    assert out == {
        "sglang-ascend-16x910c-qwen3-235b-w8a8-mixed-2000-2000-c768",
        "moreh-40xmi300x-dsr1-fp8-pd-512-512-sharegpt",
        "moreh-40xmi300x-dsr1-fp8-pd-1000-1000-sharegpt",
        "moreh-40xmi300x-dsr1-fp8-pd-2000-2000-sharegpt",
    }
    assert (
        "DP attention imbalance"
        in notes["sglang-ascend-16x910c-qwen3-235b-w8a8-mixed-2000-2000-c768"]
    )
    assert len(notes) == 7  # 3 unpublished acceptances + 4 out of scope


@pytest.mark.slow
def test_the_shipped_table_is_the_fit_of_the_shipped_rows(report, world):
    """calibration.yaml must be refitted whenever the rows or the model change: every modelled
    row estimated with the shipped table, as a plan reads it, is within 2.5% of the fresh fit's
    figure (the median within 0.3%). Predictions, not the parameters, are compared: the default
    fractions and floor are a hub the families hang on, weakly identified, and moved 11% between
    builds of the numerical libraries (docs/serving.md, item 14) while the rows' figures moved at
    most 1.9% (median 0.17%); the refitted table is within 0.02%."""
    catalogue, workloads, stacks = world
    shifts = []
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    for row in report.rows:
        if row.model_tokens_per_s_per_part is None or row.error_fraction is None:
            continue
        m = rows[row.id]
        part = catalogue[m.part]
        eff = efficiency_for(part, stacks, m.engine)
        shipped = estimate(part, workloads[m.workload], m.request(), eff)
        shifts.append(
            abs(shipped.output_tokens_per_s_per_part / row.model_tokens_per_s_per_part - 1)
        )
    assert len(shifts) == len([r for r in report.rows if r.error_fraction is not None])
    assert max(shifts) <= 0.025, max(shifts)
    assert sorted(shifts)[len(shifts) // 2] <= 0.003


def test_calibrate_writes_a_table_that_loads_and_changes_the_estimate(world, tmp_path: Path):
    """Calibrating on the B200 rows alone gives a different blackwell fit; with --profiles the
    overlay table replaces the shipped one."""
    from planner.serving.calibration_io import write_calibration

    catalogue, workloads, stacks = world
    rows = [m for m in load_measurements(shipped_measurements()) if m.part == "b200"]
    report = validate(rows, catalogue, workloads, stacks, leave_out=False)
    path = write_calibration(report, stacks.calibration, tmp_path, "b200-only.csv")
    assert path == tmp_path / "workload_profiles" / "serving" / "calibration.yaml"
    written = yaml.safe_load(path.read_text())
    assert written["families"]["blackwell"]["flop_efficiency_fraction"]["confidence"] == "measured"
    assert "hopper" not in written["stacks"] or "flop" not in written["families"]["hopper"]
    overlaid = load_stacks([tmp_path])
    part = catalogue["b200"]
    request = ServingRequest(274, 274, precision="fp4", kv_precision="fp8")
    before = estimate(part, workloads["llama-2-70b"], request, efficiency_for(part, stacks))
    after = estimate(part, workloads["llama-2-70b"], request, efficiency_for(part, overlaid))
    assert after.tokens_per_s != before.tokens_per_s
    assert str(tmp_path) in str(overlaid.calibration.path)


def test_a_matching_measurement_overrides_the_model(world):
    catalogue, workloads, stacks = world
    part, workload = catalogue["h200"], workloads["llama-2-70b"]
    request = ServingRequest(input_tokens=222, output_tokens=291, precision="fp8")
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
    assert "hopper" in modelled.error_band_basis


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.csv"
    path.write_text(text)
    return path


def test_bad_measurement_rows_name_file_line_and_field(tmp_path: Path):
    header = shipped_measurements().read_text().splitlines()
    head = next(line for line in header if line.startswith("id,"))
    row = (
        "r1,h200,llama-2-70b,offline,fp9,,8,,,,2,1.5,-5,291,,,1000,s,NVIDIA,x,2024,https://x,t,x,n"
    )
    path = _write(tmp_path, head + "\n" + row + "\n")
    with pytest.raises(InputError) as info:
        load_measurements(path)
    text = str(info.value)
    assert f"{path}: line 2, precision: 'fp9' is not a serving precision" in text
    assert "line 2, input_tokens: -5 is not a whole number > 0" in text
    assert "line 2, acceptance_fraction: is the acceptance of speculative tokens" in text


def test_missing_column_is_reported(tmp_path: Path):
    path = _write(tmp_path, "id,part\nx,h200\n")
    with pytest.raises(InputError) as info:
        load_measurements(path)
    assert "missing columns" in str(info.value)


def test_cli_validate_json_and_calibrate_then_estimate_with_profiles(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(app, ["serving", "validate", "--in-sample-only", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["median_abs_error_pct"] <= 15
    assert {"id", "error_pct", "loo_error_pct", "lopo_error_pct", "parallel"} <= set(
        data["rows"][0]
    )
    kinds = [row["validation"] for row in data["summary"]]
    assert kinds == ["in-sample", "leave-one-out", "leave-one-part-out"]
    assert data["summary"][2]["median_abs_error_pct"] is None  # not computed in-sample only

    # Calibrate on the B200's Qwen3 rows only: a different fit from the shipped table.
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
    assert tuned["efficiency_basis"].startswith("calibration table")
    assert str(out) in tuned["efficiency_basis"]


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
    row = "r1,tpu-v9,llama-2-70b,offline,fp8,,8,,,,,,300,300,,,1000,s,X,x,2024,https://x,t,m,n"
    rows = load_measurements(_write(tmp_path, head + "\n" + row + "\n"))
    report = validate(rows, catalogue, workloads, stacks)
    assert report.rows[0].error_fraction is None
    assert "part 'tpu-v9' is not in the catalogue" in report.rows[0].note
    assert report.median_abs_error_fraction is None


def test_cli_validate_table_prints_the_three_figures():
    """The table format ends with the summary: in-sample, leave-one-out, leave-one-part-out."""
    result = CliRunner().invoke(app, ["serving", "validate", "--in-sample-only"])
    assert result.exit_code == 0, result.output
    summary = result.stdout[result.stdout.index("|error| summary") :]
    for label in ("in-sample", "leave-one-out", "leave-one-part-out"):
        assert label in summary
    assert "median_abs_error_pct" in summary and "low_concurrency_rows" in summary


# trtllm-bench's own limits for the TensorRT-LLM 1.0 Qwen3-235B rows (TP8 attention + EP8), by
# hand from calc_engine_setting / finetune_setting (tensorrt_llm/bench/build/tuning.py) at
# kv_cache_free_gpu_mem_fraction 0.90 (docs/serving.md, Validation): (max_batch_size,
# max_num_tokens) of the one tensor-parallel engine (its KV formula replicates the 4 KV heads
# over the 8 ranks, as TP attention does).
TRTLLM_BENCH_LIMITS = {
    "trtllm10-8xh200-qwen3-235b-fp8-128-2048": (2304, 2432),
    "trtllm10-8xh200-qwen3-235b-fp8-1000-1000": (2304, 4608),
    "trtllm10-8xh200-qwen3-235b-fp8-5000-500": (896, 9216),
    "trtllm10-8xh100-qwen3-235b-fp8-128-2048": (1024, 2048),
    "trtllm10-8xh100-qwen3-235b-fp8-1000-1000": (1280, 2304),
    "trtllm10-8xb200-qwen3-235b-fp4-1000-1000": (3328, 6656),
    "trtllm10-8xb200-qwen3-235b-fp4-5000-500": (1280, 13312),
}


def test_trtllm_bench_heuristic_limits_do_not_bind_the_tensor_parallel_rows(world):
    """The batch trtllm-bench sets by heuristic is a condition of these rows; it lies above what
    the KV cache holds, and its token budget admits a whole prompt beside the decode tokens
    every step (chunked prefill off), so neither limit cuts the modelled batch."""
    catalogue, workloads, stacks = world
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    for row_id, (max_batch, max_tokens) in TRTLLM_BENCH_LIMITS.items():
        m = rows[row_id]
        part = catalogue[m.part]
        est = estimate(part, workloads[m.workload], m.request(), efficiency_for(part, stacks))
        assert est.parallel == "TP8 attention + EP8"
        assert est.batch < max_batch, row_id
        assert est.batch + m.input_tokens <= max_tokens, row_id
