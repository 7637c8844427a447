"""`planner serving estimate`: documented JSON keys and user errors as exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app

KEYS = {
    "part",
    "workload",
    "precision",
    "parts_per_replica",
    "batch",
    "prefill_tokens_per_s_per_part",
    "decode_tokens_per_s_per_part",
    "output_tokens_per_s_per_part",
    "watts_per_part",
    "joules_per_output_token",
    "cost_per_million_output_tokens",
    "bound",
    "source",
    "error_band_fraction",
}


def _run(*args: str):
    return CliRunner().invoke(app, ["serving", "estimate", *args])


def test_estimate_json_has_the_documented_keys():
    result = _run(
        "--part",
        "h20",
        "--workload",
        "deepseek-v3",
        "--input-tokens",
        "1000",
        "--output-tokens",
        "300",
        "--tpot-ms",
        "100",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= KEYS
    assert data["part"] == "h20" and data["source"] == "model"
    assert data["tpot_ms"] <= 100
    assert data["parts_per_replica"] >= 8  # 671 B fp8 parameters need 8 x 96 GB
    assert data["bound"] in {"compute", "memory", "interconnect", "latency"}


def test_estimate_csv_is_one_row():
    result = _run("--part", "h100-sxm", "--workload", "llama-3.1-8b", "-f", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("part,workload,precision")


def test_workload_that_fits_no_replica_says_how_many_parts_it_needs():
    """405.85 B params x 2 B = 811.7 GB, plus one sequence's KV (1,300 tokens x 516,096 B) over
    the 90% kept for KV = 0.75 GB: 812.4 GB / 80 GB = 10.2, so 11 H100s."""
    result = _run(
        "--part",
        "h100-sxm",
        "--workload",
        "llama-3.1-405b",
        "--precision",
        "bf16",
        "--parts-per-replica",
        "4",
    )
    assert result.exit_code == 2
    assert "needs at least 11 parts" in result.output
    assert "Traceback" not in result.output


def test_unreachable_latency_target_exits_2_with_best_achievable():
    result = _run("--part", "h100-sxm", "--workload", "llama-2-70b", "--tpot-ms", "1")
    assert result.exit_code == 2
    assert "best achievable is TPOT" in result.output


@pytest.mark.parametrize("flag", ["--ttft-ms", "--tpot-ms"])
def test_a_latency_target_not_above_zero_names_the_flag_typed(flag):
    """The request holds its targets in seconds (ttft_s); the error speaks of the flag in ms."""
    result = _run("--part", "h100-sxm", "--workload", "llama-2-70b", flag, "0")
    assert result.exit_code == 2
    assert f"{flag}: the request needs a positive latency target" in result.output
    assert "_s:" not in result.output and "Traceback" not in result.output


def test_unknown_workload_suggests_a_name():
    result = _run("--part", "h100-sxm", "--workload", "llama-2-70")
    assert result.exit_code == 2
    assert "did you mean 'llama-2-70b'" in result.output


def test_a_part_without_link_figures_cannot_form_a_multi_part_replica():
    """bf16 Qwen3-235B (470 GB) needs three 192 GiB MI308Xs; their Infinity Fabric links are not
    published."""
    result = _run("--part", "mi308x", "--workload", "qwen3-235b-a22b", "--precision", "bf16")
    assert result.exit_code == 2
    assert "mi308x.yaml: scale_up_bandwidth" in result.output


def test_hardware_compare_adds_serving_columns_and_says_why_a_part_cannot_serve():
    result = CliRunner().invoke(
        app,
        [
            "hardware",
            "compare",
            "h100-sxm",
            "a100-sxm",
            "--workload",
            "llama-3.1-70b",
            "--precision",
            "fp8",
            "-f",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    h100, a100 = json.loads(result.stdout)
    assert h100["output_tokens_per_s_per_part"] > 0 and h100["serving_note"] is None
    assert h100["bound"] in {"compute", "memory", "interconnect"}
    assert "no dense fp8 throughput" in a100["serving_note"]


def test_hardware_compare_ranks_deepseek_parts_as_published_results_do():
    """`planner hardware compare --workload deepseek-r1` (1,000 in / 300 out, as many in flight
    as fit, each part at its best precision) orders the parts as published DeepSeek results:

    - GB200 level with B200 (within 15%): MLPerf Inference v5.1 closed, DeepSeek-R1 offline,
      4,024 tok/s per GB200 (72 x GB200 NVL72, 289,712) and 4,172 per B200 (8 x B200, 33,379),
      github.com/mlcommons/inference_results_v5.1 closed/NVIDIA/results/*/summary.html;
    - both above H200: TensorRT-LLM's DeepSeek-R1 blog, 4,548-5,393 tok/s per B200 against 1,436
      per H200 at maximum throughput (docs/source/blogs/Best_perf_practice_on_DeepSeek-R1_in_
      TensorRT-LLM.md);
    - Ascend 910C level with H800 (within 30%): Huawei's CloudMatrix384 paper (arXiv 2506.12708),
      1,943 decode tok/s per 910C under 50 ms TPOT against DeepSeek's own 1,850 per H800
      (open-infra-index day 6);
    - B200 above both, and both above H20: Ant Group's SGLang deployment, 675 tok/s per H20 under
      50 ms TPOT (lmsys.org blog 2025-09-19)."""
    parts = ["h20", "h800", "h200", "b200", "gb200", "ascend-910c"]
    result = CliRunner().invoke(
        app, ["hardware", "compare", *parts, "--workload", "deepseek-r1", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    rate = {p: r["output_tokens_per_s_per_part"] for p, r in zip(parts, rows, strict=True)}
    assert abs(rate["gb200"] / rate["b200"] - 1) <= 0.15
    assert min(rate["b200"], rate["gb200"]) > rate["h200"]
    assert 0.7 <= rate["ascend-910c"] / rate["h800"] <= 1.3
    assert rate["b200"] > max(rate["ascend-910c"], rate["h800"])
    assert min(rate["ascend-910c"], rate["h800"]) > rate["h20"]


def _h100_70b(*extra: str) -> dict:
    result = _run(
        "--part", "h100-sxm", "--workload", "llama-3.1-70b", "--precision", "fp8",
        "--input-tokens", "5000", "--output-tokens", "500", *extra, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_measured_row_answers_only_at_its_own_concurrency():
    """Issue 12's 17x case: without a concurrency the question is the offline maximum, which
    TensorRT-LLM's 2 x H100 row at 5000/500 answers (898 tok/s, 449 per part); the NIM row
    measured with one request in flight (26 per part) answers only concurrency 1."""
    offline = _h100_70b()
    assert offline["source"] == "measured" and offline["concurrency"] is None
    assert offline["measurement_id"] == "trtllm10-2xh100-llama33-70b-fp8-5000-500"
    assert offline["output_tokens_per_s_per_part"] == pytest.approx(449.0, rel=0.01)
    one = _h100_70b("--concurrency", "1")
    assert one["measurement_id"] == "nim18-2xh100-llama33-70b-fp8-c1" and one["batch"] == 1
    assert offline["output_tokens_per_s_per_part"] > 10 * one["output_tokens_per_s_per_part"]


def test_without_a_matching_row_the_model_answers_and_names_the_closest():
    eight = _h100_70b("--concurrency", "8")
    assert eight["source"] == "model" and eight["measurement_id"] is None
    assert eight["batch"] <= 8
    # nearest by |log| concurrency and lengths: NIM's row at 5 requests in flight (109 per part)
    assert eight["closest_measurement"].startswith("nim18-2xh100-llama33-70b-fp8-c5")
    assert "asked: fp8, 5000/500, concurrency 8" in eight["closest_measurement"]
    # the model at 8 in flight lies between the measured 5 in flight and the offline maximum
    assert 109 < eight["output_tokens_per_s_per_part"] < 449


def test_decode_only_speculative_and_layout_options_reach_the_model():
    """A DeepSeek-R1 decode instance on 16 x H20 with MTP (1 draft token at 85%), as Ant Group
    runs it on SGLang: decode-only, 1.85 tokens per cycle, the layout named; Ant Group's row at
    batch 8 per GPU matches these conditions (engine included) and answers (278 tok/s per GPU)."""
    result = _run(
        "--part", "h20", "--workload", "deepseek-r1", "--input-tokens", "4096",
        "--output-tokens", "1536", "--parts-per-replica", "16", "--concurrency", "128",
        "--decode-only", "--speculative-tokens", "1", "--acceptance", "0.85",
        "--parallel", "ep", "--engine", "sglang", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["decode_only"] is True and row["tokens_per_decode_step"] == pytest.approx(1.85)
    assert row["parallel"] == "DP16 attention + EP16 across scale-up domains"
    assert row["source"] == "measured"
    assert row["measurement_id"] == "sglang-antgroup-16xh20-dsr1-decode-ep16-bs8"
    assert row["output_tokens_per_s_per_part"] == pytest.approx(278.0)
    assert 0.7 * 278 < row["decode_tokens_per_s_per_part"] < 1.3 * 278  # the model's own
    half = _run("--part", "h20", "--workload", "deepseek-r1", "--speculative-tokens", "1")
    assert half.exit_code == 2 and "needs both" in half.output


def test_a_layout_that_cannot_be_built_exits_2_naming_parallel():
    """Expert parallelism needs experts ("tep" for a dense Llama), and "tep"'s all-reduces stay
    inside one scale-up domain (16 H200 are two HGX servers): each says so, exit 2, no
    traceback; "ep" across the two servers is served."""
    dense = _run(
        "--part", "h200", "--workload", "llama-3.1-70b", "--parallel", "tep",
        "--parts-per-replica", "2",
    )  # fmt: skip
    wide = _run(
        "--part", "h200", "--workload", "qwen3-235b-a22b", "--parallel", "tep",
        "--parts-per-replica", "16",
    )  # fmt: skip
    for result in (dense, wide):
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "--parallel" in result.output
    assert "llama-3.1-70b is dense" in dense.output and "use tp" in dense.output
    assert "scale-up domain (8 x h200)" in wide.output
    across = _run(
        "--part", "h200", "--workload", "qwen3-235b-a22b", "--parallel", "ep",
        "--parts-per-replica", "16", "--format", "json",
    )  # fmt: skip
    assert across.exit_code == 0, across.output
    assert json.loads(across.stdout)["parallel"].startswith("DP16 attention + EP16")


def test_a_measured_row_answers_only_in_its_own_layout_and_size():
    """TensorRT-LLM's Qwen3-235B row on 8 x H200 ran TP8 attention + EP8: asked for "tp" the
    model answers (naming the row as the closest), asked for "tep" on 8 parts the row answers."""
    base = (
        "--part", "h200", "--workload", "qwen3-235b-a22b", "--precision", "fp8",
        "--input-tokens", "1000", "--output-tokens", "1000", "--format", "json",
    )  # fmt: skip
    tp = json.loads(_run(*base, "--parallel", "tp").stdout)
    assert tp["source"] == "model"
    assert tp["closest_measurement"].startswith("trtllm10-8xh200-qwen3-235b-fp8-1000-1000")
    tep = json.loads(_run(*base, "--parallel", "tep", "--parts-per-replica", "8").stdout)
    assert tep["source"] == "measured" and tep["parallel"] == "TP8 attention + EP8"
    assert tep["measurement_id"] == "trtllm10-8xh200-qwen3-235b-fp8-1000-1000"


def test_a_model_too_large_for_any_replica_says_so_not_a_layout_error():
    """A prompt no replica of up to 1,024 parts can hold is a capacity error naming the parts
    it needs, whatever the layout (the layout error is only for an asked ep or tep)."""
    result = _run(
        "--part", "h200", "--workload", "llama-3.1-70b", "--input-tokens", "5000000000",
        "--output-tokens", "100",
    )  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "1024" in result.output and "expert parallelism" not in result.output


def test_a_measured_answer_keeps_the_models_own_rate_beside_it(tmp_path):
    """DeepSeek-R1 at 1,024 in flight on 8 x H200 (TensorRT-LLM's max-throughput row): the
    measured 1,436 tok/s per part answers, and `model_output_tokens_per_s_per_part` is what the
    model alone answers to the same question (the shipped rows less that one), so a planner sees
    both, and that the latencies beside the measured rate are the model's."""
    ask = (
        "--part", "h200", "--workload", "deepseek-r1", "--precision", "fp8",
        "--kv-precision", "bf16", "--input-tokens", "1024", "--output-tokens", "2048",
        "--concurrency", "1024", "--parts-per-replica", "8", "--parallel", "ep",
        "--format", "json",
    )  # fmt: skip
    shipped = _run(*ask)
    assert shipped.exit_code == 0, shipped.output
    measured = json.loads(shipped.stdout)
    assert measured["source"] == "measured"
    assert measured["output_tokens_per_s_per_part"] == pytest.approx(11489.2671 / 8)
    shipped_csv = (Path(__file__).parents[1] / "workload_profiles/measurements.csv").read_text()
    kept = [
        line
        for line in shipped_csv.splitlines()
        if "trtllm-dsr1blog-8xh200-fp8-maxtput" not in line
    ]
    fewer = tmp_path / "measurements.csv"
    fewer.write_text("\n".join(kept) + "\n")
    alone = _run(*ask, "--measurements", str(fewer))
    assert alone.exit_code == 0, alone.output
    model = json.loads(alone.stdout)
    assert model["source"] == "model"
    assert model["model_output_tokens_per_s_per_part"] == model["output_tokens_per_s_per_part"]
    assert measured["model_output_tokens_per_s_per_part"] == pytest.approx(
        model["output_tokens_per_s_per_part"], rel=1e-12
    )
    assert measured["tpot_ms"] == pytest.approx(model["tpot_ms"], rel=1e-12)
    assert measured["model_output_tokens_per_s_per_part"] > measured["output_tokens_per_s_per_part"]
    capped = json.loads(_run(*ask, "--power-cap", "0.7").stdout)  # both rates scale by the cap
    assert capped["output_tokens_per_s_per_part"] < measured["output_tokens_per_s_per_part"]
    assert capped["model_output_tokens_per_s_per_part"] / capped[
        "output_tokens_per_s_per_part"
    ] == pytest.approx(
        measured["model_output_tokens_per_s_per_part"] / measured["output_tokens_per_s_per_part"]
    )
