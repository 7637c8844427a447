"""Issue 12: attention projections and the output head at their own precision (docs/serving.md
S2, Precisions).

NVIDIA's NVFP4 DeepSeek-R1 checkpoints quantise only the MLP GEMMs; every MLA projection stays
BF16. The serving model reads those 11.4 B parameters at 2 bytes and multiplies them at the BF16
peak, and a checkpoint whose projections share the weights' precision is served as before. The
output head stays 16-bit in every quantised checkpoint; the input embedding is a lookup."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import Efficiency
from planner.serving.evidence import closest_measurement, published_projections, same_conditions
from planner.serving.measurements import load_measurements, shipped_measurements
from planner.serving.model import (
    ServingRequest,
    build_replica,
    estimate,
    sixteen_bit_peak,
    weights_held_bytes,
)
from planner.serving.precision import choose_precision
from planner.serving.step import decode_step, prefill_s, step_kernels
from planner.serving.workloads import WorkloadLibrary, load_workload

PEAKS = Efficiency(1.0, 1.0, 1.0, basis="test")
# One MLA block of DeepSeek-R1 (hidden 7168, 128 heads, q rank 1536, kv rank 512, head dims
# 128 nope + 64 rope, v 128): q down + norm + q up, kv down (latent + rope key) + norm + kv up,
# output projection.
MLA_BLOCK = (
    7168 * 1536 + 1536 + 1536 * 128 * 192
    + 7168 * 576 + 512 + 512 * 128 * 256
    + 128 * 128 * 7168
)  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def library() -> WorkloadLibrary:
    return WorkloadLibrary.load()


def test_deepseek_r1_projections_are_61_mla_blocks(library: WorkloadLibrary):
    """187,107,328 parameters a layer, 11.41 B over 61 layers; the NVFP4 checkpoint keeps them
    in bf16, the FP8 one in fp8."""
    r1 = library["deepseek-r1"]
    assert MLA_BLOCK == 187_107_328
    assert r1.attention_params == 61 * MLA_BLOCK
    assert r1.attention_precision_at("fp4") == "bf16"
    assert r1.attention_precision_at("fp8") == "fp8"
    assert library["llama-3.1-70b"].attention_precision_at("fp4") == "fp4"


def test_the_nvfp4_checkpoint_reads_and_multiplies_projections_in_bf16(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """8 x B200 under "ep", batch 64, one token each: a part holds every dense weight and runs
    its own 8 sequences (64 rows, no tile on Blackwell). The projections' kernel reads
    11.41 B x 2 bytes and does 2 x 8 x 11.41 B FLOPs x 4 (9,000 / 2,250 TFLOPS); the other dense
    weights read at half a byte and multiply at the FP4 rate."""
    part, r1 = catalogue["b200"], library["deepseek-r1"]
    request = ServingRequest(precision="fp4")
    chosen = choose_precision(part, r1, request, PEAKS)
    assert chosen.attention_precision == "bf16" and "attention projections at bf16" in chosen.basis
    replica = build_replica(part, r1, request, PEAKS, (8, "ep"), chosen)
    assert replica.projection_bytes_per_param == 2.0
    assert replica.projection_flop_scale == pytest.approx(4.0)
    rest, projections, head, *_ = step_kernels(r1, replica, 64, 1.0, 1000.0)
    p_p, table = 61 * MLA_BLOCK, 129_280 * 7168  # projections; head = input table (untied)
    assert r1.head_params == r1.input_embedding_params == table
    assert projections.bytes == pytest.approx(2.0 * p_p)
    assert projections.flops == pytest.approx(4.0 * 2.0 * 8 * p_p)
    assert head.bytes == pytest.approx(2.0 * table)  # the head stays 16-bit
    assert head.flops == pytest.approx(4.0 * 2.0 * 8 * table)
    assert rest.bytes == pytest.approx(0.5 * (r1.dense_params - p_p - 2 * table))
    assert rest.flops == pytest.approx(2.0 * 8 * (r1.dense_params - p_p - 2 * table))
    dense = r1.total_params - r1.routed_expert_params
    assert weights_held_bytes(r1, replica) == pytest.approx(
        0.5 * (8 * dense + r1.routed_expert_params) + 8 * 1.5 * (p_p + 2 * table)
    )


def test_projections_at_the_weights_precision_change_nothing(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """Asked at fp4, the projections share the weights' intensity: the split into two kernels
    gives the same step and prefill as a workload with no projections counted apart."""
    part, r1 = catalogue["b200"], library["deepseek-r1"]
    request = ServingRequest(precision="fp4", attention_precision="fp4")
    chosen = choose_precision(part, r1, request, PEAKS)
    assert chosen.attention_precision == "fp4" and "attention" not in chosen.basis
    whole = replace(r1, attention_params=0.0)
    for layout in ((8, "ep"), (8, "tp")):
        replica = build_replica(part, r1, request, PEAKS, layout, chosen)  # type: ignore[arg-type]
        for batch in (1, 64, 4096):
            split = decode_step(r1, replica, batch, 2000.0).total_s
            assert split == pytest.approx(decode_step(whole, replica, batch, 2000.0).total_s)
        assert prefill_s(r1, replica, 1024, 8192) == pytest.approx(
            prefill_s(whole, replica, 1024, 8192)
        )


def test_bf16_projections_make_the_b200_deepseek_run_slower(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """At TensorRT-LLM's max-throughput point (c7168, 1K/2K) the published checkpoint's BF16
    projections cost tokens/s against all-FP4; the estimate says which it used."""
    part, r1 = catalogue["b200"], library["deepseek-r1"]
    base = ServingRequest(
        input_tokens=1024, output_tokens=2048, precision="fp4", kv_precision="fp8",
        parts_per_replica=8, parallel="ep", max_batch=7168,
    )  # fmt: skip
    published = estimate(part, r1, base, PEAKS)
    all_fp4 = estimate(part, r1, replace(base, attention_precision="fp4"), PEAKS)
    assert published.attention_precision == "bf16" and all_fp4.attention_precision == "fp4"
    assert published.output_tokens_per_s_per_part < 0.9 * all_fp4.output_tokens_per_s_per_part


def test_a_row_matches_only_with_the_same_projections(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """SGLang's GB200 NVFP4 row ran the projections nearest FP8 (its attention_precision
    column): it answers a question asked at fp8 projections, not one at the checkpoint's bf16."""
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    m = rows["sglang-gb200p2-48xgb200-dsr1-nvfp4-decode-bs1408"]
    assert m.attention_precision == "fp8"
    part, r1 = catalogue["gb200"], library["deepseek-r1"]
    asked = m.request()
    est = estimate(part, r1, asked, PEAKS)
    published = published_projections(r1, m)
    assert est.attention_precision == "fp8" and same_conditions(m, est, asked, published)
    default = replace(asked, attention_precision=None)
    assert not same_conditions(m, estimate(part, r1, default, PEAKS), default, published)


def test_a_row_as_published_answers_a_question_that_names_its_precision(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """A row with no projections' column ran the checkpoint as published (bf16 projections
    for DeepSeek-R1 at fp4): asking for bf16, or its twin fp16, is the same question, asking
    for fp4 is not; unasked, it matches."""
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    m = rows["trtllm-dsr1blog-8xb200-fp4-maxtput-c7168-kvfp8"]
    assert m.attention_precision is None
    part, r1 = catalogue["b200"], library["deepseek-r1"]
    published = published_projections(r1, m)
    assert published == "bf16"
    for asked_at, matches in ((None, True), ("bf16", True), ("fp16", True), ("fp4", False)):
        asked = replace(m.request(), attention_precision=asked_at)
        est = estimate(part, r1, asked, PEAKS)
        assert same_conditions(m, est, asked, published) is matches, asked_at
    assert not same_conditions(m, estimate(part, r1, m.request(), PEAKS), m.request())


def test_a_card_with_a_wrong_key_names_the_field(tmp_path: Path, library: WorkloadLibrary):
    text = library["deepseek-r1"].path.read_text(encoding="utf-8")
    bad = tmp_path / "deepseek-r1.yaml"
    bad.write_text(text.replace("  fp4: {value: bf16", "  fp5: {value: bf16", 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_workload(bad)
    assert "attention_precision.fp5" in str(err.value)


def test_cli_reports_and_checks_the_projections_precision():
    runner = CliRunner()
    args = ["serving", "estimate", "--part", "b200", "--workload", "deepseek-r1"]
    args += ["--precision", "fp4", "--concurrency", "64", "-f", "json"]
    got = runner.invoke(app, args)
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["attention_precision"] == "bf16"
    bad = runner.invoke(app, [*args, "--attention-precision", "fp3"])
    assert bad.exit_code == 2 and "--attention-precision" in bad.output and "fp3" in bad.output


@pytest.mark.parametrize(("text", "field"), [("fp32", "value"), ("fp6", "value")])
def test_a_card_projection_precision_must_be_served(
    tmp_path: Path, library: WorkloadLibrary, text: str, field: str
):
    """A card's projections at a format no stack serves is the card's error, not a crash."""
    card = library["deepseek-r1"].path.read_text(encoding="utf-8")
    bad = tmp_path / "deepseek-r1.yaml"
    bad.write_text(card.replace("  fp4: {value: bf16", f"  fp4: {{value: {text}", 1), "utf-8")
    with pytest.raises(InputError) as err:
        load_workload(bad)
    assert f"attention_precision.fp4.{field}" in str(err.value)


def test_fp16_weights_multiply_their_head_at_the_fp16_peak(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """On a part whose fp16 and bf16 peaks differ (Ascend 910B), fp16 weights' head runs at the
    fp16 peak: a head scale of 1."""
    part = catalogue["ascend-910b"]
    assert part.peak("fp16") != part.peak("bf16")
    request = ServingRequest(precision="fp16")
    chosen = choose_precision(part, library["qwen3-32b"], request, PEAKS)
    replica = build_replica(part, library["qwen3-32b"], request, PEAKS, (8, "tp"), chosen)
    assert replica.head_flop_scale == pytest.approx(1.0)


def test_the_fewest_parts_count_the_head_and_projections_as_held(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """DeepSeek-R1 fp8 on H20: 7 parts do not hold it once the 16-bit head and input table are
    counted, so the error asks for more than 7."""
    with pytest.raises(InputError) as err:
        estimate(
            catalogue["h20"], library["deepseek-r1"],
            ServingRequest(precision="fp8", parts_per_replica=7), PEAKS,
        )  # fmt: skip
    assert "needs at least 7 parts" not in str(err.value)


def test_a_part_without_the_cards_projection_precision_names_the_checkpoint(
    catalogue: Catalogue, library: WorkloadLibrary
):
    """The B30A lists no bf16 peak: DeepSeek-R1 at fp4 (projections bf16 as published) cannot
    be served there, and the error says the card's checkpoint chose bf16, not the user; asked at
    fp4 projections the precision is chosen."""
    part, r1 = catalogue["b30a"], library["deepseek-r1"]
    assert part.peak("bf16") is None and part.peak("fp16") is None
    request = ServingRequest(1000, 1000, precision="fp4")
    with pytest.raises(InputError) as err:
        estimate(part, r1, request, PEAKS)
    assert "published fp4 checkpoint keeps its attention projections at bf16" in str(err.value)
    assert "peak_dense.bf16" in str(err.value)
    chosen = choose_precision(part, r1, replace(request, attention_precision="fp4"), PEAKS)
    assert chosen.attention_precision == "fp4" and chosen.weights == "fp4"


def test_asked_projections_must_be_a_precision_the_stack_serves():
    """ROCm serves fp8 and 16-bit weights, not int8: int8 projections on an MI300X are refused
    with the stack's table named (exit 2), as int8 weights are."""
    result = CliRunner().invoke(
        app,
        ["serving", "estimate", "--part", "mi300x", "--workload", "llama-3.1-70b",
         "--attention-precision", "int8"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "stacks.rocm.weights" in result.output
    assert "does not serve int8 attention projections" in result.output


def test_the_closest_row_names_its_projections(catalogue: Catalogue, library: WorkloadLibrary):
    """A model answer points at the nearest row; where that row ran its projections apart from
    the weights, the pointer says so (SGLang's GB200 NVFP4 row: fp4 weights, fp8 projections)."""
    rows = load_measurements(shipped_measurements())
    request = ServingRequest(1000, 300, precision="fp4", max_batch=2000, parts_per_replica=48)
    est = estimate(catalogue["gb200"], library["deepseek-r1"], request, PEAKS)
    nearest = closest_measurement(rows, est, request)
    assert nearest is not None
    assert nearest.startswith(
        "sglang-gb200p2-48xgb200-dsr1-nvfp4-decode-bs1408 (fp4, projections fp8,"
    )


def test_the_head_multiplies_at_its_own_16_bit_peak(catalogue: Catalogue):
    """On the B300, int8 is cut to 150 TOPS beside 2,250 TFLOPS of bf16: an int8 checkpoint's
    16-bit head multiplies at bf16's peak, 15x faster than its weights (scale 150 / 2,250), as
    its projections would; on the H100 the bf16 head of fp8 weights costs 2x (1,979 / 989.5)."""
    b300, h100 = catalogue["b300"], catalogue["h100-sxm"]
    int8, bf16 = b300.peak("int8"), b300.peak("bf16")
    assert int8 is not None and bf16 is not None
    assert sixteen_bit_peak(b300, int8, "int8") == bf16
    assert int8 / sixteen_bit_peak(b300, int8, "int8") == pytest.approx(150 / 2250)
    fp8 = h100.peak("fp8")
    assert fp8 is not None
    assert fp8 / sixteen_bit_peak(h100, fp8, "fp8") == pytest.approx(2.0, rel=0.01)
