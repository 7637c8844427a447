"""The analytic serving model: tokens per second, watts and cost per part for one LLM workload.

Equations and their numbers are in docs/serving.md. For a replica of n parts at a batch of B
sequences (context c = input + output / 2 on average while decoding):

- (S1) memory: n x M x (1 - reserve) >= weights + B x kv(L_in + L_out) (x KV copies under TP);
- (S2) decode step: launch floor + roofline (memory or compute) + collectives (`step.py`);
- (S3) prefill of one prompt: compute-bound, never faster than one read of the weights;
- (S4) continuous batching: busy(B) = B t_pf + (L_out / a) t_cycle(B); output tokens/s per
  replica = B L_out / busy(B); TPOT = busy / L_out; TTFT = t_pf + t_cycle. A disaggregated decode
  instance (`decode_only`) drops the B t_pf term (prefill runs on other parts);
- (S5) batch: the largest B meeting memory, TTFT and TPOT; without targets, the memory limit;
  at its fullest rounds under data-parallel attention (`batching.py`, with S4 and S7);
- (S6) power and cost per part (`power.py`);
- (S7) speculative decoding: each cycle verifies 1 + k tokens per sequence and drafts k, and
  emits a = 1 + p + ... + p^k tokens: t_cycle = t_step(q = 1 + k) + k ((t_step(q = 1) - t_head)
  / l + t_head), each draft one layer and the target's output head.

`estimate(part, workload, request, efficiency)` is the pure function the capacity plan calls; it
tries the replica sizes and parallel layouts that fit and keeps the most output tokens/s per part.
"""

from __future__ import annotations

import math
from dataclasses import replace

from planner.catalogue.parts import Part
from planner.errors import InputError, Problem
from planner.serving.batching import Operating, choose_batch, operate
from planner.serving.disaggregation import disaggregated_estimate
from planner.serving.efficiency import Efficiency
from planner.serving.power import (
    accelerator_power_w,
    cost_per_million_output_tokens,
    power_w,
    require,
)
from planner.serving.precision import Chosen, choose_precision
from planner.serving.request import (
    BYTES_PER_ELEMENT,
    MAX_BATCH,
    SERVING_PRECISIONS,
    Bound,
    Disaggregation,
    Economics,
    Parallel,
    ServingEstimate,
    ServingRequest,
    Speculative,
    WorkloadLike,
)
from planner.serving.step import (
    HEAD_BYTES_PER_PARAM,
    Replica,
    attention_params,
    experts_touched_fraction,
    head_params,
    kv_replication,
    looked_up_params,
    moe_layers,
    weights_touched_bytes,
)

__all__ = [
    "BYTES_PER_ELEMENT",
    "MAX_BATCH",
    "SERVING_PRECISIONS",
    "Disaggregation",
    "Economics",
    "ServingEstimate",
    "ServingRequest",
    "Speculative",
    "WorkloadLike",
    "estimate",
    "experts_touched_fraction",
    "weights_touched_bytes",
]
MAX_REPLICA_PARTS = 1024
EP_DOMAINS = 4  # an expert-parallel replica may span up to this many scale-up domains


def build_replica(
    part: Part, workload: WorkloadLike, request: ServingRequest, eff: Efficiency,
    layout: tuple[int, Parallel], chosen: Chosen,
) -> Replica:  # fmt: skip
    """The replica of `layout` = (n parts, "tp" | "ep"), with every rate x its efficiency.

    A part whose dies the runtime addresses as d separate devices (Ascend 910C: 2) makes a
    replica of n d devices, each with 1/d of the part's compute, bandwidth and links: tensor
    and expert parallelism, data-parallel attention and collectives all run over devices."""
    packages, parallel = layout
    d = part.devices
    parts = packages * d
    memory = require(part, part.memory_bytes, "memory_capacity", "memory capacity")
    bandwidth = require(part, part.memory_bandwidth_bytes_per_s, "memory_bandwidth", "bandwidth")
    peak = part.peak(chosen.compute_precision)
    assert peak is not None
    domain = scale_up_domain(part, request) * d
    link = part.device_link_bytes_per_s
    scale_out = (part.io_bandwidth_bytes_per_s or link * d) / d
    if parts > 1 and link <= 0:
        raise InputError.one(
            part.path,
            "scale_up_bandwidth",
            f"{workload.id} needs {parts} x {part.id} per replica, but {part.id} has no known "
            "scale-up or I/O bandwidth to link them.",
            "add scale_up_bandwidth (and scale_up_domain) or io_bandwidth with their sources.",
        )
    tensor_parallel = 1 if parallel == "ep" else min(parts, domain)
    attention = attention_group(part, workload, request, parts) if parallel == "ep" else 1
    weight_bytes = BYTES_PER_ELEMENT[chosen.weights]
    return Replica(
        parts=parts,
        parallel=parallel,
        tensor_parallel=tensor_parallel,
        pipeline_stages=math.ceil(parts / min(parts, domain)) if parallel == "tp" else 1,
        domain_parts=domain,
        weight_bytes_per_param=weight_bytes,
        dispatch_bytes=min(weight_bytes, 2.0) if weight_bytes >= 1 else 1.0,
        kv_bytes_per_token=workload.kv_bytes_per_token(BYTES_PER_ELEMENT[chosen.kv]),
        kv_replication=kv_replication(workload, max(tensor_parallel, attention)),
        flops_per_s=peak * eff.flop_fraction / d,
        bandwidth_bytes_per_s=achievable_bandwidth(bandwidth, eff) / d,
        link_bytes_per_s=link / 2.0 * eff.interconnect_fraction,
        scale_out_bytes_per_s=scale_out / 2.0 * eff.interconnect_fraction,
        usable_memory_bytes=packages * memory,
        layer_floor_s=eff.layer_floor_s,
        expert_fraction=eff.expert_fraction,
        expert_floor_s=eff.expert_floor_s,
        collective_latency_s=eff.collective_latency_s,
        scale_out_latency_s=eff.scale_out_latency_s or eff.collective_latency_s,
        all_to_all_latency_s=eff.all_to_all_latency_s,
        attention_flop_scale=peak / attention_peak(part, chosen),
        gemm_tile_rows=eff.gemm_tile_rows,
        projection_bytes_per_param=BYTES_PER_ELEMENT[chosen.attention_precision],
        projection_flop_scale=peak / projection_peak(part, chosen),
        head_flop_scale=peak / sixteen_bit_peak(part, peak, chosen.compute_precision),
        attention_parallel=attention,
        collective_peer_latency_s=eff.collective_peer_latency_s,
        mesh_peers=domain - 1 if part.scale_up_mesh else 0,  # a mesh of the request's domain
    )


def attention_groups_fit(part: Part, request: ServingRequest, devices: int) -> bool:
    """Whether the request's attention groups (devices each, "ep"; SGLang's --tp-size over
    --dp-size) divide a replica of `devices` and fit in one scale-up domain, whose link carries
    their all-reduces."""
    a = request.attention_tensor_parallel or 1
    return devices % a == 0 and a <= scale_up_domain(part, request) * part.devices


def attention_group(
    part: Part, workload: WorkloadLike, request: ServingRequest, devices: int
) -> int:
    """Devices per data-parallel attention group of an "ep" replica of `devices`: the
    request's, else 1 (`layouts` offers only replicas they fit)."""
    if not attention_groups_fit(part, request, devices):
        raise _no_layout(part, workload, replace(request, parallel="ep"))
    return request.attention_tensor_parallel or 1


def sixteen_bit_peak(part: Part, weights_peak: float, weights: str = "") -> float:
    """Dense peak a 16-bit matrix (the output head) multiplies at, op/s: the weights' own format
    where they are 16-bit, else bf16, else fp16; the weights' where the part lists neither. At
    its own peak even where the weights' is slower (the B300's int8, cut to 150 TOPS, beside its
    2,250 TFLOPS bf16), as the attention projections are (`projection_peak`)."""
    order = ("fp16", "bf16") if weights == "fp16" else ("bf16", "fp16")
    peak = part.peak(order[0]) or part.peak(order[1])
    return weights_peak if peak is None else peak


def projection_peak(part: Part, chosen: Chosen) -> float:
    """Dense peak the attention projections multiply at, op/s (the weights' where they share
    the weights' precision)."""
    peak = part.peak(chosen.attention_compute_precision)
    assert peak is not None  # choose_precision checked it
    return peak


def attention_peak(part: Part, chosen: Chosen) -> float:
    """Dense peak the attention products run at, op/s: the KV cache's format where it is fp8
    and the part multiplies fp8 (FP8 attention kernels), else 16 bits (bf16, else fp16); the
    weights' compute peak where the part has neither, or where that is slower."""
    weights = part.peak(chosen.compute_precision)
    assert weights is not None
    formats = ("fp8", "bf16", "fp16") if chosen.kv == "fp8" else ("bf16", "fp16")
    for precision in formats:
        peak = part.peak(precision)
        if peak is not None:
            return min(peak, weights)
    return weights


def achievable_bandwidth(bandwidth_bytes_per_s: float, eff: Efficiency) -> float:
    """(S2) memory bandwidth one part reaches: BW x e_bw, capped at units x per-unit bandwidth
    where the part's compute units are known (a part with few SMs cannot pull its HBM's peak)."""
    reach = bandwidth_bytes_per_s * eff.bandwidth_fraction
    if eff.compute_units > 0 and eff.unit_bandwidth_bytes_per_s > 0:
        reach = min(reach, eff.compute_units * eff.unit_bandwidth_bytes_per_s)
    return reach


def bytes_beyond_weights(workload: WorkloadLike, b_w: float, b_p: float) -> float:
    """Bytes one copy of the model holds beyond total params x b_w: the attention projections
    at their own b_p, the output head and the input embedding table at 16 bits."""
    sixteen = head_params(workload) + looked_up_params(workload)
    return attention_params(workload) * (b_p - b_w) + sixteen * (HEAD_BYTES_PER_PARAM - b_w)


def weights_held_bytes(workload: WorkloadLike, replica: Replica) -> float:
    """Weight bytes the replica stores: one copy under "tp" and "tep"; under "ep" the dense
    weights on every part (attention is data-parallel) and the routed experts once. The
    attention projections at their own bytes per parameter, the output head and the embedding
    table at 16 bits."""
    b_w = replica.weight_bytes_per_param
    extra = bytes_beyond_weights(workload, b_w, replica.projection_bytes_per_param or b_w)
    if replica.parallel != "ep":
        return workload.total_params * b_w + extra
    dense = workload.total_params - workload.routed_expert_params
    held = (replica.parts * dense + workload.routed_expert_params) * b_w + replica.parts * extra
    # attention groups of a parts hold one copy of the projections between them
    split = 1.0 - 1.0 / replica.attention_parallel
    b_p = replica.projection_bytes_per_param or b_w
    return held - replica.parts * attention_params(workload) * b_p * split


def memory_batch_limit(workload: WorkloadLike, replica: Replica, request: ServingRequest) -> int:
    """(S1) the most sequences whose KV cache fits in (1 - r) of the memory the weights leave
    (0: the weights do not fit)."""
    left = replica.usable_memory_bytes - weights_held_bytes(workload, replica)
    free = left * (1.0 - request.memory_reserve_fraction)
    per_sequence = (
        replica.kv_bytes_per_token
        * replica.kv_replication
        * (request.input_tokens + request.output_tokens)
    )
    if free <= 0 or free < per_sequence:
        return 0
    cap = request.max_batch if request.max_batch is not None else MAX_BATCH * replica.parts
    return int(min(free // per_sequence, cap))


def scale_up_domain(part: Part, request: ServingRequest) -> int:
    """Parts in one scale-up domain of the serving system: the request's (e.g. 8 for Ascend
    910C in Atlas 800 A3 servers outside a SuperPoD), else the part's."""
    return request.scale_up_domain_parts or part.scale_up_domain_parts or 1


def replica_sizes(part: Part, request: ServingRequest | None = None) -> list[int]:
    """Candidate replica sizes: powers of two within the scale-up domain, then whole domains."""
    domain = scale_up_domain(part, request or ServingRequest())
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) if n <= domain]
    if domain not in sizes:
        sizes.append(domain)
    multiple = 2
    while domain * multiple <= MAX_REPLICA_PARTS:
        sizes.append(domain * multiple)
        multiple *= 2
    return sorted(set(sizes))


def smallest_fitting_parts(
    part: Part, workload: WorkloadLike, request: ServingRequest, chosen: Chosen
) -> int | None:
    """Fewest parts whose memory holds the weights plus one sequence's KV cache in (1 - r) of
    what the weights leave."""
    memory = require(part, part.memory_bytes, "memory_capacity", "memory capacity")
    b_w, b_p = BYTES_PER_ELEMENT[chosen.weights], BYTES_PER_ELEMENT[chosen.attention_precision]
    weights = workload.total_params * b_w + bytes_beyond_weights(workload, b_w, b_p)
    kv = workload.kv_bytes_per_token(BYTES_PER_ELEMENT[chosen.kv])
    sequence = kv * (request.input_tokens + request.output_tokens)
    parts = math.ceil((weights + sequence / (1.0 - request.memory_reserve_fraction)) / memory)
    return parts if parts <= MAX_REPLICA_PARTS else None


def layouts(
    part: Part, workload: WorkloadLike, request: ServingRequest, fewest: int | None
) -> list[tuple[int, Parallel]]:
    """Replica sizes and parallel layouts to try: the asked size, else every size from the
    smallest that fits up to the scale-up domain; "ep" and "tep" too for a mixture of experts
    ("tep" within one domain, its all-reduces need the scale-up link). "ep" replicas may also
    span up to EP_DOMAINS domains (expert parallel across servers, as DeepSeek, SGLang and Ant
    Group deploy it: the KV cache gains the memory the experts free)."""
    moe = moe_layers(workload) > 0
    if request.parts_per_replica is not None:
        sizes = [request.parts_per_replica]
    else:
        domain = scale_up_domain(part, request)
        largest = max(domain, fewest or 0) * (EP_DOMAINS if moe else 1)
        sizes = [n for n in replica_sizes(part, request) if fewest and n >= fewest]
        sizes = [n for n in sizes if n <= largest] or sizes[:1]
        if request.system_parts is not None:
            sizes = [n for n in sizes if n <= request.system_parts] or sizes[:1]
    kinds: list[Parallel] = ["tp", "ep", "tep"] if moe else ["tp"]
    if request.parallel is not None:  # expert parallelism without experts: no layout
        kinds = [request.parallel] if moe or request.parallel == "tp" else []
    domain = scale_up_domain(part, request)
    return [
        (n, kind)
        for n in sizes
        for kind in kinds
        if kind == "tp"
        or (kind == "tep" and 1 < n <= domain)
        or (kind == "ep" and n > 1 and attention_groups_fit(part, request, n * part.devices))
    ]


def _step_bound(op: Operating) -> Bound:
    terms = op.step.terms()
    return max(terms, key=lambda k: terms[k])


def _estimate_at(
    part: Part, workload: WorkloadLike, request: ServingRequest, eff: Efficiency,
    layout: tuple[int, Parallel], chosen: Chosen,
) -> ServingEstimate | None:  # fmt: skip
    replica = build_replica(part, workload, request, eff, layout, chosen)
    op = choose_batch(workload, replica, request, memory_batch_limit(workload, replica, request))
    if op is None or not op.output_tokens_per_s > 0:
        return None
    parts = replica.parts // part.devices  # per part (package), not per device
    prefill_busy = 0.0 if request.decode_only else op.batch * op.prefill_s
    cycles = request.output_tokens / op.tokens_per_cycle
    # Share of time a roofline (compute or memory) is busy; floors and collectives count as idle.
    roofline_s = prefill_busy + cycles * op.step.roofline_s
    utilisation = min(1.0, roofline_s / op.busy_s) if op.busy_s > 0 else 0.0
    out = op.output_tokens_per_s / parts
    watts = power_w(part, utilisation)
    chip_watts = accelerator_power_w(part, utilisation)
    ratio = request.input_tokens / request.output_tokens
    return ServingEstimate(
        part=part.id,
        workload=workload.id,
        precision=chosen.weights,
        kv_precision=chosen.kv,
        attention_precision=chosen.attention_precision,
        parts_per_replica=parts,
        batch=op.batch,
        prefill_tokens_per_s_per_part=request.input_tokens / op.prefill_s / parts,
        decode_tokens_per_s_per_part=op.batch * op.tokens_per_cycle / op.cycle_s / parts,
        output_tokens_per_s_per_part=out,
        input_tokens_per_s_per_part=out * ratio,
        total_tokens_per_s_per_part=out * (1 + ratio),
        ttft_s=op.ttft_s,
        tpot_s=op.tpot_s,
        decode_step_s=op.cycle_s,
        utilisation_fraction=utilisation,
        watts_per_part=watts,
        joules_per_output_token=watts / out,
        cost_per_million_output_tokens=cost_per_million_output_tokens(
            part, watts, out, request.economics
        ),
        currency=part.price_currency,
        bound="latency" if op.latency_limited else _step_bound(op),
        step_bound=_step_bound(op),
        source="model",
        efficiency=eff,
        concurrency=request.concurrency,
        parallel=replica.describe(),
        precision_basis=chosen.basis,
        step_terms_s=op.step.terms(),
        decode_only=request.decode_only,
        speculative_tokens_per_step=op.tokens_per_cycle,
        accelerator_watts_per_part=chip_watts,
    )


def _check_request(request: ServingRequest, workload: WorkloadLike) -> None:
    problems = []
    if request.input_tokens < 1:
        problems.append(("input_tokens", "a prompt of at least 1 token", "1000"))
    if request.output_tokens < 1:
        problems.append(("output_tokens", "at least 1 output token", "300"))
    if request.parts_per_replica is not None and request.parts_per_replica < 1:
        problems.append(("parts_per_replica", "at least 1 part", "1"))
    for name, value in (("ttft_s", request.ttft_s), ("tpot_s", request.tpot_s)):
        if value is not None and not value > 0:
            problems.append((name, "a positive latency target", "a value > 0 ms"))
    spec = request.speculative
    if spec is not None and (spec.draft_tokens < 0 or not 0 <= spec.acceptance_fraction <= 1):
        problems.append(("speculative", "draft tokens >= 0 and acceptance in [0, 1]", "0.8"))
    split = request.disaggregated
    if split is not None and (split.prefill_parts < 1 or split.decode_parts < 1):
        problems.append(("disaggregated", "at least 1 prefill and 1 decode part", "1 and 1"))
    if problems:
        name, want, fix = problems[0]
        raise InputError.option(name, f"the request needs {want}.", f"write {fix}.")
    if workload.kind != "llm":
        raise InputError.one(
            "workload",
            "kind",
            f"'{workload.id}' is a {workload.kind} workload; the token serving model covers LLMs.",
            "choose an LLM workload, or use estimate_video for a video generator.",
        )


def estimate(
    part: Part, workload: WorkloadLike, request: ServingRequest, efficiency: Efficiency
) -> ServingEstimate:
    """Per-part throughput, power and cost of serving `workload` on `part` under `request`.

    With `request.parts_per_replica` unset, every replica size from the smallest that fits up to
    the scale-up domain is tried, in each parallel layout, and the one with the most output
    tokens/s per part is kept (the first on a tie). Raises InputError when no replica fits or no
    batch meets the targets.
    """
    _check_request(request, workload)
    if request.disaggregated is not None:
        return disaggregated_estimate(part, workload, request, efficiency, estimate)
    chosen = choose_precision(part, workload, request, efficiency)
    fewest = smallest_fitting_parts(part, workload, request, chosen)
    tried = layouts(part, workload, request, fewest)
    if not tried and request.parallel in ("ep", "tep"):
        raise _no_layout(part, workload, request)
    best: ServingEstimate | None = None
    for layout in tried:
        got = _estimate_at(part, workload, request, efficiency, layout, chosen)
        if got is not None and (
            best is None or got.output_tokens_per_s_per_part > best.output_tokens_per_s_per_part
        ):
            best = got
    if best is not None:
        return best
    raise _no_fit(part, workload, request, efficiency, tried, fewest, chosen)


def _no_layout(part: Part, workload: WorkloadLike, request: ServingRequest) -> InputError:
    """The asked layout cannot be built at the asked size: "ep" and "tep" need a mixture of
    experts over more than one part, "tep" a replica inside one scale-up domain."""
    domain = scale_up_domain(part, request)
    size = request.parts_per_replica
    where = f"{size} x {part.id}" if size is not None else part.id
    if moe_layers(workload) == 0:
        why, fix = f"{workload.id} is dense: expert parallelism needs experts", "use tp."
    elif size is not None and size < 2:
        why, fix = "expert parallelism needs 2 or more parts", "ask for 2 or more parts."
    elif request.parallel == "ep" and (request.attention_tensor_parallel or 1) > 1:
        why = (
            f"attention groups of {request.attention_tensor_parallel} devices must divide the "
            f"replica's devices ({part.devices} a part) and fit in one scale-up domain"
        )
        fix = "give a power of two that divides the replica (e.g. 2 or 4), or another size."
    else:
        why = f"tep's all-reduces stay inside one scale-up domain ({domain} x {part.id})"
        fix = "use ep across scale-up domains, or fewer parts per replica."
    return InputError.option(
        "parallel",
        f"{request.parallel} cannot serve {workload.id} on {where}: {why}.",
        fix,
        options=("parallel", "parts_per_replica", "attention_tensor_parallel"),
    )


def _no_fit(
    part: Part, workload: WorkloadLike, request: ServingRequest, eff: Efficiency,
    tried: list[tuple[int, Parallel]], fewest: int | None, chosen: Chosen,
) -> InputError:  # fmt: skip
    """Explain why nothing fits: too little memory, or a latency target out of reach."""
    sizes = sorted({n for n, _ in tried})
    fits = [
        layout
        for layout in tried
        if memory_batch_limit(
            workload, build_replica(part, workload, request, eff, layout, chosen), request
        )
        >= 1
    ]
    if not fits:
        need = f"more than {MAX_REPLICA_PARTS}" if fewest is None else str(fewest)
        shown = ", ".join(str(n) for n in sizes) or "none"
        return InputError(
            Problem(
                "" if request.parts_per_replica else str(part.path),
                "parts_per_replica" if request.parts_per_replica else "memory_capacity",
                f"{workload.id} at {chosen.weights} weights does not fit a replica of {shown} x "
                f"{part.id}: it needs at least {need} parts ({part.id} memory, a "
                f"{request.memory_reserve_fraction:.0%} reserve kept out of what the weights "
                "leave).",
                f"serve it on {need} parts per replica, at a lower precision, or on a part with "
                "more memory.",
                option=bool(request.parts_per_replica),
                options=("parts_per_replica", "precision"),
            )
        )
    best_tpot, best_ttft = math.inf, math.inf
    for layout in fits:
        replica = build_replica(part, workload, request, eff, layout, chosen)
        op = operate(workload, replica, request, 1)
        best_tpot, best_ttft = min(best_tpot, op.tpot_s), min(best_ttft, op.ttft_s)
    return InputError(
        Problem(
            "",
            "tpot_ms",
            f"no batch of {workload.id} on {part.id} meets the targets: the best achievable is "
            f"TPOT {best_tpot * 1e3:.1f} ms and TTFT {best_ttft * 1e3:.0f} ms (at batch 1).",
            "relax the latency targets, shorten the prompt, or add parts per replica.",
            option=True,
            options=("tpot_ms", "ttft_ms", "input_tokens", "parts_per_replica"),
        )
    )
