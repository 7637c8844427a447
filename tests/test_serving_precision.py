"""Precision per part (docs/serving.md, Precisions): each stack serves some formats, each workload
is published in some; the model serves at the best both allow and says so."""

from __future__ import annotations

import pytest

from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import efficiency_for, load_stacks
from planner.serving.model import ServingRequest, estimate
from planner.serving.precision import choose_precision
from planner.serving.workloads import WorkloadLibrary


@pytest.fixture(scope="module")
def world():
    return Catalogue.load(), WorkloadLibrary.load(), load_stacks()


def _chosen(world, part_id: str, workload_id: str, **request: object):
    catalogue, library, stacks = world
    part = catalogue[part_id]
    return choose_precision(
        part, library[workload_id], ServingRequest(**request), efficiency_for(part, stacks)
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("part", "workload", "weights", "kv", "compute"),
    [
        ("h100-sxm", "llama-3.1-70b", "fp8", "fp8", "fp8"),  # FP8 on Hopper
        ("h20", "qwen3-235b-a22b", "fp8", "fp8", "fp8"),
        ("b200", "llama-3.1-70b", "fp8", "fp8", "fp8"),  # fp4 is published but only if asked
        ("a100-sxm", "llama-3.1-70b", "int8", "fp8", "int8"),  # W8A8 on Ampere (no fp8)
        ("mi300x", "deepseek-r1", "fp8", "fp8", "fp8"),
        ("ascend-910c", "deepseek-r1", "int8", "bf16", "int8"),  # W8A8 at its INT8 peak
        ("ascend-910c", "qwen3-8b", "bf16", "bf16", "bf16"),  # not published in int8
        ("zhenwu-ppu", "qwen3-235b-a22b", "int8", "bf16", "bf16"),  # BF16/INT8 on T-Head
    ],
)
def test_the_best_precision_both_allow(world, part, workload, weights, kv, compute):
    chosen = _chosen(world, part, workload)
    assert (chosen.weights, chosen.kv, chosen.compute_precision) == (weights, kv, compute)


def test_deepseek_is_served_on_ascend_and_the_estimate_says_how(world):
    """DeepSeek-R1 at W8A8 INT8 on the 910C (Huawei's CloudMatrix384 format), at the 1,504 TOPS
    INT8 peak of its two dies; on the Zhenwu PPU, which lists no INT8 peak, INT8 weights are
    multiplied at its BF16 peak, and the estimate says so."""
    catalogue, library, stacks = world
    part = catalogue["ascend-910c"]
    est = estimate(part, library["deepseek-r1"], ServingRequest(), efficiency_for(part, stacks))
    assert est.precision == "int8" and est.tokens_per_s > 0
    assert "multiplied at" not in est.precision_basis
    assert "deepseek-r1's serving precisions" in est.precision_basis
    ppu = catalogue["zhenwu-ppu"]
    other = estimate(ppu, library["qwen3-235b-a22b"], ServingRequest(), efficiency_for(ppu, stacks))
    assert other.precision == "int8" and "multiplied at bf16" in other.precision_basis


def test_an_asked_precision_the_stack_does_not_serve_names_the_table(world):
    with pytest.raises(InputError) as info:
        _chosen(world, "mi300x", "llama-3.1-70b", precision="int8")
    text = str(info.value)
    assert "precisions.yaml: stacks.rocm.weights" in text
    assert "does not serve int8" in text


def test_a_workload_no_format_of_which_the_part_serves_is_an_input_error(world):
    """Hanguang 800 multiplies int8 only; Qwen3-8B is published in bf16 and fp8."""
    with pytest.raises(InputError) as info:
        _chosen(world, "hanguang-800", "qwen3-8b")
    assert "cannot serve qwen3-8b at any precision it is published in (bf16, fp8)" in str(
        info.value
    )


def test_four_bit_is_served_when_asked(world):
    chosen = _chosen(world, "b200", "llama-3.1-70b", precision="fp4")
    assert chosen.weights == "fp4" and chosen.basis == "asked"
