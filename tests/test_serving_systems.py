"""Issue 12 serving systems: dies as devices, serving engines, prefill/decode-disaggregated
systems, the stack's own all-to-all, chunked prefill, the batch cap per part, latency targets by
scenario, accelerator-only watts and the system's scale-up domain (docs/serving.md S1-S8)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.serving.efficiency import Efficiency, efficiency_for, load_stacks
from planner.serving.measurements import load_measurements, shipped_measurements
from planner.serving.model import (
    Disaggregation,
    ServingRequest,
    build_replica,
    estimate,
    weights_held_bytes,
)
from planner.serving.precision import choose_precision
from planner.serving.step import all_to_all_s, prefill_s
from planner.serving.workloads import WorkloadLibrary

PEAKS = Efficiency(1.0, 1.0, 1.0, basis="test")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture(scope="module")
def library() -> WorkloadLibrary:
    return WorkloadLibrary.load()


@pytest.fixture(scope="module")
def stacks():
    return load_stacks()


def test_a_910c_package_is_two_devices(catalogue: Catalogue, library: WorkloadLibrary):
    """8 x 910C run DeepSeek-R1 as 16 dies (SGLang launches --tp 16 on an 8-card server): each
    die has half the package's INT8 peak (752 TOPS) and HBM (1.6 TB/s), holds the dense weights
    (data-parallel attention) and 256 / 16 experts; weights held = 16 x 17.1 B + 653.9 B at 1 B,
    the head and the input table (0.93 B each) at 2 B on every die."""
    part, workload = catalogue["ascend-910c"], library["deepseek-r1"]
    request = ServingRequest(precision="int8")
    chosen = choose_precision(part, workload, request, PEAKS)
    replica = build_replica(part, workload, request, PEAKS, (8, "ep"), chosen)
    assert replica.parts == 16 and replica.describe() == "DP16 attention + EP16"
    assert replica.flops_per_s == pytest.approx(752e12)
    assert replica.bandwidth_bytes_per_s == pytest.approx(1.6e12)
    dense = workload.total_params - workload.routed_expert_params
    sixteen_bit = workload.head_params + workload.input_embedding_params
    assert weights_held_bytes(workload, replica) == pytest.approx(
        16 * (dense + sixteen_bit) + workload.routed_expert_params
    )
    est = estimate(part, workload, replace(request, parts_per_replica=8, parallel="ep"), PEAKS)
    assert est.parts_per_replica == 8  # rates and watts stay per package


def test_an_engine_scales_fractions_up_to_one_and_floors_down(catalogue: Catalogue, stacks):
    """SGLang on CANN: its fitted speed factor s multiplies the reference (CloudMatrix-Infer)
    fractions, capped at 1, and divides the launch floor; an engine without a factor is an
    input error that names the ones there are."""
    part = catalogue["ascend-910c"]
    table = stacks.calibration
    s = table.engine_speeds["cann/sglang"].value
    reference = efficiency_for(part, stacks)
    sglang = efficiency_for(part, stacks, "sglang")
    assert reference.engine == "cloudmatrix-infer" and sglang.engine == "sglang"
    assert sglang.flop_fraction == pytest.approx(min(1.0, reference.flop_fraction * s))
    assert sglang.bandwidth_fraction == pytest.approx(min(1.0, reference.bandwidth_fraction * s))
    assert sglang.layer_floor_s == pytest.approx(reference.layer_floor_s / s)
    with pytest.raises(InputError) as info:
        efficiency_for(part, stacks, "tgi")
    assert "engines.cann/tgi" in str(info.value) and "sglang" in str(info.value)


def test_the_ascend_all_to_all_costs_its_measured_fixed_time(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """DeepEP-Ascend's dispatch or combine costs 60 us beyond its bytes (calibration.yaml,
    derived from its low-latency table): with no tokens, one MoE layer is 2 x 60 us."""
    part, workload = catalogue["ascend-910c"], library["deepseek-r1"]
    eff = efficiency_for(part, stacks)
    assert eff.all_to_all_latency_s == pytest.approx(60e-6)
    request = ServingRequest(precision="int8")
    chosen = choose_precision(part, workload, request, eff)
    replica = build_replica(part, workload, request, eff, (8, "ep"), chosen)
    assert all_to_all_s(workload, replica, 0.0) == pytest.approx(120e-6)


def test_prefill_reads_the_weights_once_per_chunk(catalogue: Catalogue, library: WorkloadLibrary):
    """Qwen3-8B bf16 on one H100 at a boundless peak (memory-bound prefill): a 1,024-token prompt
    in 8,192-token chunks reads 1/8 of the weights read per pass (7.57 B: the 0.62 B input table
    is looked up), 7.57 B x 2 B / 8 / 3.35 TB/s = 565 us; read whole (chunk = prompt) it costs
    eight times that."""
    part, workload = catalogue["h100-sxm"], library["qwen3-8b"]
    request = ServingRequest(1024, 100, precision="bf16")
    chosen = choose_precision(part, workload, request, PEAKS)
    replica = replace(
        build_replica(part, workload, request, PEAKS, (1, "tp"), chosen), flops_per_s=1e30
    )
    chunked = prefill_s(workload, replica, 1024, 8192)
    expected = (workload.dense_params - workload.input_embedding_params) * 2 / 8 / 3.35e12
    assert expected == pytest.approx(565e-6, rel=1e-3)
    assert chunked == pytest.approx(expected, rel=1e-6)
    assert prefill_s(workload, replica, 1024, 1024) == pytest.approx(8 * expected, rel=1e-6)


def test_a_disaggregated_system_runs_at_its_shorter_side(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """(S8) per part of P + D parts: min(D r_d, P r_p L_out / L_in) / (P + D). One prefill part
    for 15 decode parts at 4,096 / 256 is prefill-bound; 15 for 1 is decode-bound."""
    part, workload = catalogue["h200"], library["llama-3.1-70b"]
    eff = efficiency_for(part, stacks)
    base = ServingRequest(4096, 256, precision="fp8", parts_per_replica=1)
    decode = estimate(part, workload, replace(base, decode_only=True), eff)
    short = estimate(part, workload, replace(base, disaggregated=Disaggregation(1, 15)), eff)
    prefill_in = short.prefill_tokens_per_s_per_part
    assert short.tokens_per_s == pytest.approx(prefill_in * 256 / 4096 / 16, rel=1e-9)
    assert "prefill sets the rate" in short.parallel
    wide = estimate(part, workload, replace(base, disaggregated=Disaggregation(15, 1)), eff)
    assert wide.tokens_per_s == pytest.approx(decode.tokens_per_s / 16, rel=1e-9)
    assert "decode sets the rate" in wide.parallel


def test_without_a_concurrency_a_large_replica_is_not_capped_at_4096(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """48 x GB200 decoding DeepSeek-R1 with as many sequences as fit hold far more than 4,096
    (the cap is per device: SGLang ran 1,408 per GPU)."""
    part, workload = catalogue["gb200"], library["deepseek-r1"]
    request = ServingRequest(
        2000, 100, precision="fp8", parts_per_replica=48, parallel="ep", decode_only=True
    )
    est = estimate(part, workload, request, efficiency_for(part, stacks))
    assert est.batch > 4096 and est.concurrency is None


def test_latency_figures_are_targets_only_in_server_and_interactive_runs():
    """A single-stream row's TPOT is what it measured at batch 1, not a limit; a server row's is
    a target: the run's mean (MLPerf's summary, 143.097 ms on 8 x MI300X), not its p99 limit
    (200 ms), which the run met at p99 197.874 ms."""
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    single = rows["sglang-ascend-4x910c-qwen3-32b-bf16-c1-4096-1500"]
    assert single.tpot_ms == pytest.approx(9.46) and single.request().tpot_s is None
    server = rows["mlperf41-amd-8xmi300x-llama2-server"]
    assert server.request().tpot_s == pytest.approx(0.143097)
    assert "99.00 percentile" not in server.notes and "p99 1604.2 / 197.9 ms" in server.notes


def test_accelerator_watts_leave_out_the_server_share(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """(S6) accelerator = idle + (TDP - idle) x utilisation; the server figure adds the part's
    share of host power. H100 SXM: 700 W TDP, 70 W idle, 560 W overhead share."""
    part = catalogue["h100-sxm"]
    est = estimate(
        part, library["llama-3.1-8b"], ServingRequest(1000, 300), efficiency_for(part, stacks)
    )
    u = est.utilisation_fraction
    assert est.accelerator_watts_per_part == pytest.approx(
        part.idle_w + (part.tdp_w - part.idle_w) * u
    )
    assert est.watts_per_part - est.accelerator_watts_per_part == pytest.approx(
        part.server_overhead_w
    )
    assert est.accelerator_joules_per_output_token == pytest.approx(
        est.accelerator_watts_per_part / est.tokens_per_s
    )


def test_a_smaller_scale_up_domain_sends_expert_traffic_over_the_slower_network(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """16 x 910C in Atlas 800 A3 servers of 8 (RoCE between them) instead of one CloudMatrix384
    UB domain: the all-to-all crosses servers and the decode step is slower."""
    part, workload = catalogue["ascend-910c"], library["deepseek-r1"]
    eff = efficiency_for(part, stacks)
    request = ServingRequest(
        2048, 256, precision="int8", parts_per_replica=16, parallel="ep", max_batch=1024
    )
    supernode = estimate(part, workload, request, eff)
    servers = estimate(part, workload, replace(request, scale_up_domain_parts=8), eff)
    assert "across scale-up domains" in servers.parallel
    assert "across" not in supernode.parallel
    assert servers.step_terms_s["interconnect"] > supernode.step_terms_s["interconnect"]


def test_new_measurement_columns_are_checked(tmp_path: Path):
    """prefill_parts must leave decode parts; parallel is tp or ep."""
    from planner.serving.measurements import COLUMNS

    values = dict.fromkeys(COLUMNS, "")
    values.update(
        id="x", part="h100-sxm", workload="qwen3-8b", scenario="offline", precision="fp8",
        accelerators="8", input_tokens="100", output_tokens="100", output_tokens_per_s="1000",
        source_url="https://x", parallel="zz", prefill_parts="8",
    )  # fmt: skip
    path = tmp_path / "m.csv"
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(values[c] for c in COLUMNS) + "\n")
    with pytest.raises(InputError) as info:
        load_measurements(path)
    text = str(info.value)
    assert "line 2, parallel: 'zz' is not a parallel layout" in text
    assert "line 2, prefill_parts: 8 prefill parts leave none of the 8 accelerators" in text


def test_out_of_scope_rows_are_kept_and_say_why():
    rows = {m.id: m for m in load_measurements(shipped_measurements())}
    moreh = rows["moreh-40xmi300x-dsr1-fp8-pd-512-512-sharegpt"]
    assert moreh.unmodelled is not None and "--enforce-eager" in moreh.unmodelled
    assert moreh.split == Disaggregation(16, 24) and moreh.parallel == "ep"


def test_an_expert_parallel_replica_may_span_servers_but_not_the_system(
    catalogue: Catalogue, library: WorkloadLibrary, stacks
):
    """DeepSeek-R1 fp8 fills 8 x H20 (671 of 768 GB): the best replica spans servers (EP16 or
    more, as Ant Group deploys it) for KV room; a row measured on 8 parts caps it at 8."""
    part, workload = catalogue["h20"], library["deepseek-r1"]
    eff = efficiency_for(part, stacks)
    free = estimate(part, workload, ServingRequest(1000, 300, precision="fp8"), eff)
    assert free.parts_per_replica >= 16 and "across scale-up domains" in free.parallel
    capped = estimate(
        part, workload, ServingRequest(1000, 300, precision="fp8", system_parts=8), eff
    )
    assert capped.parts_per_replica == 8 and capped.tokens_per_s < free.tokens_per_s
