"""Data-parallel attention in groups of a devices under "ep" (docs/serving.md S1-S2): SGLang's
--tp-size n --dp-size n/a, as SGLang's Ascend deployments of DeepSeek-R1 launch it. Each group
splits its attention projections and heads over its a devices; the MLPs, experts and output
head stay as under wholly data-parallel attention."""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.serving.efficiency import Efficiency
from planner.serving.measurements import load_measurements, shipped_measurements
from planner.serving.model import (
    ServingRequest,
    build_replica,
    estimate,
    weights_held_bytes,
)
from planner.serving.precision import choose_precision
from planner.serving.step import collective_s, step_kernels
from planner.serving.workloads import WorkloadLibrary

PEAKS = Efficiency(1.0, 1.0, 1.0, basis="test", layer_floor_s=30e-6, collective_latency_s=6e-6)
BATCH, CONTEXT = 16, 3000.0


@pytest.fixture(scope="module")
def h200_r1():
    """DeepSeek-R1 fp8 on 8 x H200, "ep", attention groups of 1 and of 2."""
    part = Catalogue.load()["h200"]
    workload = {w.id: w for w in WorkloadLibrary.load()}["deepseek-r1"]
    replicas = {}
    for a in (1, 2):
        request = ServingRequest(
            2000, 2000, precision="fp8", parts_per_replica=8, attention_tensor_parallel=a
        )
        chosen = choose_precision(part, workload, request, PEAKS)
        replicas[a] = build_replica(part, workload, request, PEAKS, (8, "ep"), chosen)
    return part, workload, replicas


def test_a_group_of_two_halves_the_projections_and_doubles_the_latent_each_part_reads(h200_r1):
    """16 sequences on 8 parts: alone each part attends over its 2; in pairs each pair attends over
    4 with half the heads. The projections (11.41 B parameters, MLA) read and multiply half per
    part for twice the rows; MLA's one latent is read whole by both parts of a pair (2 x 2
    sequences' cache where alone 2); the projections' and heads' FLOPs are the same per part;
    the other dense matrices, the experts and the head are untouched."""
    _, workload, r = h200_r1
    one, two = (step_kernels(workload, r[a], BATCH, 1.0, CONTEXT) for a in (1, 2))
    rest, projections, head, experts, attention = range(5)
    for k in (rest, head, experts):
        assert two[k] == one[k]
    assert two[projections].bytes == pytest.approx(one[projections].bytes / 2)
    assert one[projections].bytes == pytest.approx(workload.attention_params * 1.0)  # fp8
    # FLOPs: 2 rows x P_p alone, 4 rows x P_p / 2 in pairs (no GEMM tile in these fractions)
    assert two[projections].flops == pytest.approx(one[projections].flops)
    assert one[projections].flops == pytest.approx(2 * 2 * workload.attention_params)
    kv = r[1].kv_bytes_per_token * CONTEXT  # one sequence's latent cache (fp8 beside fp8 weights)
    assert one[attention].bytes == pytest.approx(2 * kv)
    assert two[attention].bytes == pytest.approx(4 * kv * 2 / 2)  # MLA: a copy per part
    assert two[attention].flops == pytest.approx(one[attention].flops)


def test_a_group_sums_its_heads_once_a_layer_and_holds_one_copy_of_the_projections(h200_r1):
    """Each layer's attention output is summed over the pair: 61 all-reduces of 4 tokens x 7,168
    x 2 B over 2 parts, alpha + 2 x 1/2 x 57,344 B / (900 GB/s / 2 x e_ic 1.0) each. The eight
    parts hold 4 copies of the projections in place of 8: 4 x 11.41 B x 1 B less."""
    part, workload, r = h200_r1
    link = part.scale_up_bandwidth_bytes_per_s / 2.0
    all_reduce = 6e-6 + 2 * (1 / 2) * 4 * 7168 * 2.0 / link
    added = collective_s(workload, r[2], BATCH) - collective_s(workload, r[1], BATCH)
    assert added == pytest.approx(61 * all_reduce, rel=1e-9)
    saved = weights_held_bytes(workload, r[1]) - weights_held_bytes(workload, r[2])
    assert saved == pytest.approx(4 * workload.attention_params * 1.0)
    assert r[2].kv_replication == 2 and r[1].kv_replication == 1  # MLA: the latent per part
    assert r[2].describe() == "DP4 attention (TP2 each) + EP8"
    assert r[1].describe() == "DP8 attention + EP8"


def test_the_ascend_rows_launched_with_attention_groups_carry_them():
    """SGLang's Ascend DeepSeek-R1 rows whose launch lines set --dp-size below --tp-size."""
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    want = {
        "sglang-ascend-8x910c-dsr1-w4a8-mixed-3500-1500-c144": 4,
        "sglang-ascend-32x910c-dsr1-w8a8-pd-6000-1600-c32": 2,
        "sglang-ascend-32x910c-dsr1-w8a8-pd-3500-1500-c32": 2,
    }
    assert {i: m.attention_tp for i, m in rows.items() if m.attention_tp} == want
    m = rows["sglang-ascend-32x910c-dsr1-w8a8-pd-6000-1600-c32"]
    part = Catalogue.load()[m.part]
    workload = {w.id: w for w in WorkloadLibrary.load()}[m.workload]
    est = estimate(part, workload, m.request(), PEAKS)
    assert est.parallel.startswith("DP16 attention (TP2 each) + EP32")  # 32 dies in pairs


def test_groups_that_do_not_divide_the_replica_exit_2_naming_the_flag():
    result = CliRunner().invoke(
        app,
        [
            *("serving", "estimate", "--part", "ascend-910c", "--workload", "deepseek-r1"),
            *("--parallel", "ep", "--attention-tp", "3", "--parts-per-replica", "8"),
        ],
    )
    assert result.exit_code == 2
    assert "attention groups of 3 devices" in result.output and "--attention-tp" in result.output
    assert "Traceback" not in result.output
    assert math.gcd(3, 16) == 1  # 8 x 910C are 16 dies: no group of 3 divides them
