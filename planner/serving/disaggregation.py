"""A prefill/decode-disaggregated system: P parts prefill, D parts decode (docs/serving.md, S8).

DeepSeek's inference system, CloudMatrix-Infer and SGLang's PD mode run prefill and decode on
separate instances. Per part of the whole system of P + D parts:

    output tokens/s per part = min(D x r_d, P x r_p x L_out / L_in) / (P + D)

with r_d the decode instance's output tokens/s per part (S4 without the prefill term) and
r_p the prefill instance's prompt tokens/s per part: L_in / (t_pf x n_p), t_pf the prefill of
one prompt (S3) on the smallest tensor-parallel replica of n_p parts that holds the model inside
one scale-up domain. The side that is short sets the rate; the other idles part of the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from planner.catalogue.parts import Part
from planner.serving.efficiency import Efficiency
from planner.serving.power import accelerator_power_w, cost_per_million_output_tokens, power_w
from planner.serving.request import ServingEstimate, ServingRequest, WorkloadLike

Estimator = Callable[[Part, WorkloadLike, ServingRequest, Efficiency], ServingEstimate]


def prefill_tokens_per_s_per_part(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    eff: Efficiency,
    estimate: Estimator,
) -> float:
    """(S8) prompt tokens/s one prefill part delivers: the prefill rate of the smallest
    tensor-parallel replica that fits (its own estimate's prefill figure)."""
    asked = replace(
        request,
        disaggregated=None,
        decode_only=False,
        parallel="tp",
        parts_per_replica=None,
        ttft_s=None,
        tpot_s=None,
        max_batch=1,
        speculative=None,
    )
    return estimate(part, workload, asked, eff).prefill_tokens_per_s_per_part


def disaggregated_estimate(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    eff: Efficiency,
    estimate: Estimator,
) -> ServingEstimate:
    """(S8) the decode instance's estimate turned into the whole system's, per part."""
    split = request.disaggregated
    assert split is not None
    decode = estimate(part, workload, replace(request, disaggregated=None, decode_only=True), eff)
    prefill_in = prefill_tokens_per_s_per_part(part, workload, request, eff, estimate)
    ratio = request.input_tokens / request.output_tokens
    decode_side = split.decode_parts * decode.output_tokens_per_s_per_part
    prefill_side = split.prefill_parts * prefill_in / ratio
    out = min(decode_side, prefill_side) / split.parts
    # Decode parts run at the decode estimate's load scaled by how much of it the system uses;
    # prefill parts are busy the share of time their side is needed (compute-bound: load 1).
    decode_load = decode.utilisation_fraction * min(1.0, prefill_side / decode_side)
    prefill_load = min(1.0, decode_side / prefill_side)
    utilisation = (
        split.decode_parts * decode_load + split.prefill_parts * prefill_load
    ) / split.parts
    watts = power_w(part, utilisation)
    chip_watts = accelerator_power_w(part, utilisation)
    limited_by = "prefill" if prefill_side < decode_side else "decode"
    return replace(
        decode,
        output_tokens_per_s_per_part=out,
        input_tokens_per_s_per_part=out * ratio,
        total_tokens_per_s_per_part=out * (1 + ratio),
        prefill_tokens_per_s_per_part=prefill_in,
        utilisation_fraction=utilisation,
        watts_per_part=watts,
        joules_per_output_token=watts / out,
        cost_per_million_output_tokens=cost_per_million_output_tokens(
            part, watts, out, request.economics
        ),
        decode_only=False,
        accelerator_watts_per_part=chip_watts,
        parallel=f"{decode.parallel} decode on {split.decode_parts} parts, prefill on "
        f"{split.prefill_parts} ({limited_by} sets the rate)",
    )
