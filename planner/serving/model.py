"""The analytic serving model: tokens per second, watts and cost per part for one LLM workload.

Equations and their numbers are in docs/serving.md. In short, for a replica of `n` parts at a
batch of `B` concurrent sequences (context c = input + output / 2 on average while decoding):

- (S1) memory: n x M x (1 - reserve) >= W + B x kv(L_in + L_out); W = total params x bytes.
- (S2) decode step: t_step(B) = max(bytes(B) / (n x BW x e_bw), flops(B) / (n x F x e_f))
  + t_collective(B), with bytes(B) = weights touched(B) + B x kv(c) and weights touched(B) =
  (dense + routed x (1 - (1 - k/E)^B)) x bytes per weight (uniform routing).
- (S3) prefill of one request: t_pf = max(flops_pf / (n x F x e_f), W / (n x BW x e_bw))
  + t_collective(L_in).
- (S4) continuous batching: per-user time per output token TPOT(B) = t_step(B) + B t_pf / L_out;
  TTFT(B) = t_pf + t_step(B); output tokens/s per replica = B L_out / (B t_pf + L_out t_step(B)).
- (S5) batch: the largest B meeting memory, TTFT and TPOT; without targets, the memory limit.
- (S6) power per part: idle + (TDP - idle) x utilisation + server overhead share; energy per
  output token = watts / output tokens/s; cost per million output tokens = (capex x CRF / h_year
  + watts x PUE x price) / output tokens/s x 1e6.

`estimate(part, workload, request, efficiency)` is the pure function the capacity plan calls.

Video generation (a diffusion transformer, `workload.kind == "video"`) is compute-bound:

- (V1) video seconds generated per second per part = F x e_video / flops per video second, with
  F the part's dense peak at the serving precision and e_video the stack's
  `video_flop_efficiency_fraction`; the part is busy the whole time (utilisation 1);
- (V2) power per part as (S6) at utilisation 1; energy per video second = watts / rate;
  cost per minute of video = (capex x CRF / h_year + watts x PUE x price) / (rate x 3,600) x 60.

`estimate_video(part, workload, efficiency, precision, economics)` gives it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, Protocol

from planner.catalogue.parts import Part
from planner.economics import capital_recovery_factor
from planner.errors import InputError
from planner.serving.efficiency import Efficiency

Bound = Literal["compute", "memory", "interconnect", "latency"]
ServingPrecision = Literal["bf16", "fp16", "fp8", "int8", "fp4", "int4"]
SERVING_PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp8", "int8", "fp4", "int4")
BYTES_PER_ELEMENT: Mapping[str, float] = MappingProxyType(
    {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5, "int4": 0.5}
)
SIXTEEN_BIT_TWIN: Mapping[str, str] = MappingProxyType({"bf16": "fp16", "fp16": "bf16"})
ACTIVATION_BYTES = 2.0  # activations exchanged between parts travel in bf16
HOURS_PER_YEAR = 8760.0
MAX_REPLICA_PARTS = 1024


class WorkloadLike(Protocol):
    """The fields of `planner.serving.workloads.Workload` the serving model reads."""

    id: str
    kind: str
    total_params: float
    active_params: float
    dense_params: float
    routed_expert_params: float
    layers: int
    hidden_size: int
    attention_heads: int
    head_dim: int
    experts: int | None
    experts_per_token: int | None
    weight_precision: str
    kv_precision: str

    def kv_bytes_per_token(self, kv_bytes_per_element: float) -> float: ...


@dataclass(frozen=True)
class Economics:
    """Assumptions that turn watts and capex into a cost per token (documented defaults).

    Defaults: 5-year life at a 0% real discount rate (straight-line; an estimate in line with the
    5-6 year server depreciation hyperscalers use), electricity at 80 per MWh in the part's price
    currency (an estimate; give your tariff), PUE 1.56 (Uptime Institute 2024 industry average),
    capacity busy every hour of the year at the estimated throughput.
    """

    lifetime_years: float = 5.0
    discount_rate_fraction: float = 0.0
    price_per_mwh: float = 80.0
    pue: float = 1.56
    utilisation_fraction: float = 1.0


MAX_BATCH = 4096  # the largest batch the model considers: in effect, no cap


@dataclass(frozen=True)
class ServingRequest:
    """What the service must deliver: request shape, latency targets and precision."""

    input_tokens: int = 1000
    output_tokens: int = 300
    ttft_s: float | None = None
    tpot_s: float | None = None
    precision: str | None = None  # weights; None = the workload's default
    kv_precision: str | None = None  # None = fp8 for 8-bit or 4-bit weights, else the weights'
    parts_per_replica: int | None = None  # None = the best of the replicas that fit
    # vLLM's default gpu_memory_utilization 0.9 leaves 10% outside weights + KV (docs/serving.md).
    memory_reserve_fraction: float = 0.10
    max_batch: int = MAX_BATCH  # requests in flight per replica; MAX_BATCH = as many as fit
    economics: Economics = field(default_factory=Economics)

    @property
    def concurrency(self) -> int | None:
        """Requests in flight per replica asked for; None = as many as memory and targets allow
        (the offline maximum without targets)."""
        return None if self.max_batch >= MAX_BATCH else self.max_batch


@dataclass(frozen=True)
class ServingEstimate:
    """Per-part serving figures for one (part, workload, request); rates are per part."""

    part: str
    workload: str
    precision: str
    kv_precision: str
    parts_per_replica: int
    batch: int
    prefill_tokens_per_s_per_part: float
    decode_tokens_per_s_per_part: float
    output_tokens_per_s_per_part: float
    input_tokens_per_s_per_part: float
    total_tokens_per_s_per_part: float
    ttft_s: float
    tpot_s: float
    decode_step_s: float
    utilisation_fraction: float
    watts_per_part: float
    joules_per_output_token: float
    cost_per_million_output_tokens: float | None
    currency: str | None
    bound: Bound
    step_bound: Bound  # the roofline binding the decode step, even when a target cut the batch
    source: Literal["model", "measured"]
    efficiency: Efficiency
    error_band_fraction: float | None = None
    error_band_basis: str = ""
    measurement_id: str | None = None
    closest_measurement: str | None = None  # with a model answer: the nearest measured row
    concurrency: int | None = None  # requests in flight per replica asked for; None = most

    @property
    def tokens_per_s(self) -> float:
        """Output tokens per second per part (the capacity plan's throughput figure)."""
        return self.output_tokens_per_s_per_part


@dataclass(frozen=True)
class _Replica:
    """The fixed quantities of one replica of `parts` parts serving one workload."""

    parts: int
    tensor_parallel: int
    pipeline_stages: int
    weight_bytes_per_param: float
    kv_bytes_per_token: float
    flops_per_s: float  # replica peak x efficiency
    bandwidth_bytes_per_s: float  # replica memory bandwidth x efficiency
    link_bytes_per_s: float  # per part, one direction, x efficiency
    scale_out_bytes_per_s: float  # per part, one direction, x efficiency
    usable_memory_bytes: float


@dataclass(frozen=True)
class _Step:
    """Decode-step timing terms at one batch."""

    memory_s: float
    compute_s: float
    collective_s: float

    @property
    def total_s(self) -> float:
        return max(self.memory_s, self.compute_s) + self.collective_s


# ---------------------------------------------------------------- workload quantities


def experts_touched_fraction(workload: WorkloadLike, batch: float) -> float:
    """Share of routed experts a batch of tokens reads under uniform routing: 1 - (1 - k/E)^B."""
    if not workload.experts or not workload.experts_per_token or workload.routed_expert_params <= 0:
        return 0.0
    miss = 1.0 - workload.experts_per_token / workload.experts
    return 1.0 - miss**batch


def weights_touched_bytes(workload: WorkloadLike, batch: float, bytes_per_param: float) -> float:
    """Weight bytes one decode step reads: dense + routed x touched fraction (S2)."""
    routed = workload.routed_expert_params * experts_touched_fraction(workload, batch)
    return (workload.dense_params + routed) * bytes_per_param


def attention_flops_per_token(workload: WorkloadLike, context_tokens: float) -> float:
    """Score and value products of one token against `context` cached tokens, all layers.

    The workload's own formula where it has one (MLA differs); else the GQA/MHA form
    4 x layers x heads x head_dim x context (QK^T and AV, 2 FLOPs per multiply-add each).
    """
    own = getattr(workload, "attention_flops_per_token", None)
    if callable(own):
        return float(own(context_tokens))
    return 4.0 * workload.layers * workload.attention_heads * workload.head_dim * context_tokens


def decode_flops_per_token(workload: WorkloadLike, context_tokens: float) -> float:
    """2 x active params + attention over the context, per generated token."""
    return 2.0 * workload.active_params + attention_flops_per_token(workload, context_tokens)


def prefill_flops(workload: WorkloadLike, input_tokens: int) -> float:
    """FLOPs to prefill one prompt: per token 2 x active + causal attention (mean context L/2)."""
    return input_tokens * decode_flops_per_token(workload, input_tokens / 2.0)


# ---------------------------------------------------------------- replica and timing


def _precisions(part: Part, workload: WorkloadLike, request: ServingRequest) -> tuple[str, str]:
    precision = request.precision or workload.weight_precision
    if request.precision is None and part.peak(precision) is None:  # type: ignore[arg-type]
        # bf16 and fp16 move the same bytes; serve at whichever 16-bit format the part has.
        twin = SIXTEEN_BIT_TWIN.get(precision)
        if twin is not None and part.peak(twin) is not None:  # type: ignore[arg-type]
            precision = twin
    if precision not in BYTES_PER_ELEMENT:
        raise InputError.one(
            "--precision",
            "precision",
            f"'{precision}' is not a serving precision.",
            f"use one of: {', '.join(SERVING_PRECISIONS)}.",
        )
    if part.peak(precision) is None:  # type: ignore[arg-type]
        have = [p for p in SERVING_PRECISIONS if part.peak(p) is not None]  # type: ignore[arg-type]
        raise InputError.one(
            part.path,
            f"peak_dense.{precision}",
            f"{part.id} has no dense {precision} throughput, so it cannot serve at {precision}.",
            f"choose --precision {' or '.join(have)}, or add the figure."
            if have
            else f"add a dense throughput figure to peak_dense in {part.path.name}.",
        )
    kv = request.kv_precision
    if kv is None:
        kv = "fp8" if BYTES_PER_ELEMENT[precision] <= 1 else precision
    if kv not in BYTES_PER_ELEMENT:
        raise InputError.one(
            "--kv-precision",
            "kv_precision",
            f"'{kv}' is not a KV-cache precision.",
            f"use one of: {', '.join(SERVING_PRECISIONS)}.",
        )
    return precision, kv


def _require(part: Part, value: float | None, field_name: str, what: str) -> float:
    if value is None or value <= 0:
        raise InputError.one(
            part.path,
            field_name,
            f"{part.id} has no known {what}, which the serving model needs.",
            f"add '{field_name}' with its source to the part profile.",
        )
    return value


def _replica(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    eff: Efficiency,
    parts: int,
    precision: str,
    kv_precision: str,
) -> _Replica:
    memory = _require(part, part.memory_bytes, "memory_capacity", "memory capacity")
    bandwidth = _require(part, part.memory_bandwidth_bytes_per_s, "memory_bandwidth", "bandwidth")
    peak = part.peak(precision)  # type: ignore[arg-type]
    assert peak is not None
    domain = part.scale_up_domain_parts or 1
    link = part.scale_up_bandwidth_bytes_per_s or part.io_bandwidth_bytes_per_s or 0.0
    scale_out = part.io_bandwidth_bytes_per_s or link
    tensor_parallel = min(parts, domain)
    if parts > 1 and link <= 0:
        raise InputError.one(
            part.path,
            "scale_up_bandwidth",
            f"{workload.id} needs {parts} x {part.id} per replica, but {part.id} has no known "
            "scale-up or I/O bandwidth to link them.",
            "add scale_up_bandwidth (and scale_up_domain) or io_bandwidth with their sources.",
        )
    return _Replica(
        parts=parts,
        tensor_parallel=tensor_parallel,
        pipeline_stages=math.ceil(parts / tensor_parallel),
        weight_bytes_per_param=BYTES_PER_ELEMENT[precision],
        kv_bytes_per_token=workload.kv_bytes_per_token(BYTES_PER_ELEMENT[kv_precision]),
        flops_per_s=parts * peak * eff.flop_fraction,
        bandwidth_bytes_per_s=parts * bandwidth * eff.bandwidth_fraction,
        link_bytes_per_s=link / 2.0 * eff.interconnect_fraction,
        scale_out_bytes_per_s=scale_out / 2.0 * eff.interconnect_fraction,
        usable_memory_bytes=parts * memory * (1.0 - request.memory_reserve_fraction),
    )


def collective_s(workload: WorkloadLike, replica: _Replica, tokens: float) -> float:
    """Tensor-parallel all-reduces (2 per layer, ring: 2 (t-1)/t of the message per part) over the
    scale-up links, plus pipeline hand-offs over scale-out links, for `tokens` tokens in flight."""
    message = tokens * workload.hidden_size * ACTIVATION_BYTES
    t = replica.tensor_parallel
    seconds = 0.0
    if t > 1:
        if replica.link_bytes_per_s <= 0:
            return math.inf
        per_layer = 2.0 * 2.0 * (t - 1) / t * message / replica.link_bytes_per_s
        seconds += workload.layers * per_layer
    if replica.pipeline_stages > 1:
        if replica.scale_out_bytes_per_s <= 0:
            return math.inf
        seconds += (replica.pipeline_stages - 1) * message / replica.scale_out_bytes_per_s
    return seconds


def decode_step(
    workload: WorkloadLike, replica: _Replica, batch: int, context_tokens: float
) -> _Step:
    """(S2) one decode step of `batch` sequences at mean context `context_tokens`."""
    moved = weights_touched_bytes(workload, batch, replica.weight_bytes_per_param)
    moved += batch * replica.kv_bytes_per_token * context_tokens
    flops = batch * decode_flops_per_token(workload, context_tokens)
    return _Step(
        memory_s=moved / replica.bandwidth_bytes_per_s,
        compute_s=flops / replica.flops_per_s,
        collective_s=collective_s(workload, replica, batch),
    )


def prefill_s(workload: WorkloadLike, replica: _Replica, input_tokens: int) -> float:
    """(S3) compute-bound prefill of one prompt, never faster than one read of the weights."""
    compute = prefill_flops(workload, input_tokens) / replica.flops_per_s
    weights = workload.total_params * replica.weight_bytes_per_param
    floor = weights / replica.bandwidth_bytes_per_s
    return max(compute, floor) + collective_s(workload, replica, input_tokens)


def memory_batch_limit(workload: WorkloadLike, replica: _Replica, request: ServingRequest) -> int:
    """(S1) the most sequences whose KV cache fits beside the weights (0: weights do not fit)."""
    free = replica.usable_memory_bytes - workload.total_params * replica.weight_bytes_per_param
    per_sequence = replica.kv_bytes_per_token * (request.input_tokens + request.output_tokens)
    if free <= 0:
        return 0
    return int(min(free // per_sequence, request.max_batch))


@dataclass(frozen=True)
class _Operating:
    batch: int
    step: _Step
    prefill_s: float
    tpot_s: float
    ttft_s: float
    output_tokens_per_s: float  # per replica
    latency_limited: bool


def _operate(
    workload: WorkloadLike, replica: _Replica, request: ServingRequest, batch: int
) -> _Operating:
    """(S4) continuous batching at `batch`: prefills interleave with decode steps."""
    context = request.input_tokens + request.output_tokens / 2.0
    step = decode_step(workload, replica, batch, context)
    pf = prefill_s(workload, replica, request.input_tokens)
    out = request.output_tokens
    busy = batch * pf + out * step.total_s
    return _Operating(
        batch=batch,
        step=step,
        prefill_s=pf,
        tpot_s=busy / out,
        ttft_s=pf + step.total_s,
        output_tokens_per_s=batch * out / busy,
        latency_limited=False,
    )


def _meets(op: _Operating, request: ServingRequest) -> bool:
    return (request.tpot_s is None or op.tpot_s <= request.tpot_s) and (
        request.ttft_s is None or op.ttft_s <= request.ttft_s
    )


def choose_batch(
    workload: WorkloadLike, replica: _Replica, request: ServingRequest
) -> _Operating | None:
    """(S5) the largest batch within memory meeting TTFT and TPOT (both rise with the batch);
    None when even a batch of 1 misses a target or the weights do not fit."""
    limit = memory_batch_limit(workload, replica, request)
    if limit < 1:
        return None
    best = _operate(workload, replica, request, limit)
    if _meets(best, request):
        return best
    if not _meets(_operate(workload, replica, request, 1), request):
        return None
    low, high = 1, limit  # low meets, high does not
    while high - low > 1:
        mid = (low + high) // 2
        if _meets(_operate(workload, replica, request, mid), request):
            low = mid
        else:
            high = mid
    return replace(_operate(workload, replica, request, low), latency_limited=True)


def replica_sizes(part: Part) -> list[int]:
    """Candidate replica sizes: powers of two within the scale-up domain, then whole domains."""
    domain = part.scale_up_domain_parts or 1
    sizes = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512) if n <= domain]
    if domain not in sizes:
        sizes.append(domain)
    multiple = 2
    while domain * multiple <= MAX_REPLICA_PARTS:
        sizes.append(domain * multiple)
        multiple *= 2
    return sorted(set(sizes))


def smallest_fitting_parts(
    part: Part, workload: WorkloadLike, request: ServingRequest, precision: str, kv: str
) -> int | None:
    """Fewest parts whose usable memory holds the weights plus one sequence's KV cache."""
    memory = _require(part, part.memory_bytes, "memory_capacity", "memory capacity")
    usable = memory * (1.0 - request.memory_reserve_fraction)
    need = workload.total_params * BYTES_PER_ELEMENT[precision] + workload.kv_bytes_per_token(
        BYTES_PER_ELEMENT[kv]
    ) * (request.input_tokens + request.output_tokens)
    parts = math.ceil(need / usable)
    return parts if parts <= MAX_REPLICA_PARTS else None


def _bound(op: _Operating) -> Bound:
    return "latency" if op.latency_limited else _step_bound(op)


def _step_bound(op: _Operating) -> Bound:
    step = op.step
    terms: dict[Bound, float] = {
        "memory": step.memory_s,
        "compute": step.compute_s,
        "interconnect": step.collective_s,
    }
    return max(terms, key=lambda k: terms[k])


def _power_w(part: Part, utilisation: float) -> float:
    """(S6) idle + (TDP - idle) x utilisation + the part's share of server overhead."""
    tdp = _require(part, part.tdp_w, "tdp", "TDP")
    idle = part.idle_w if part.idle_w is not None else 0.0
    overhead = part.server_overhead_w if part.server_overhead_w is not None else 0.0
    return idle + (tdp - idle) * utilisation + overhead


def cost_per_million_output_tokens(
    part: Part, watts: float, output_tokens_per_s: float, economics: Economics
) -> float | None:
    """(S6) (capex x CRF / busy hours + energy at the wall x price) per million output tokens.

    None when the part has no price. Energy price is per MWh; watts x PUE at the wall.
    """
    if part.unit_price is None or output_tokens_per_s <= 0:
        return None
    busy_h = HOURS_PER_YEAR * economics.utilisation_fraction
    crf = capital_recovery_factor(economics.discount_rate_fraction, economics.lifetime_years)
    capex_per_h = part.unit_price * crf / busy_h
    energy_per_h = watts * economics.pue / 1e6 * economics.price_per_mwh
    tokens_per_h = output_tokens_per_s * 3600.0
    return (capex_per_h + energy_per_h) / tokens_per_h * 1e6


def _estimate_at(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    eff: Efficiency,
    parts: int,
    precision: str,
    kv: str,
) -> ServingEstimate | None:
    replica = _replica(part, workload, request, eff, parts, precision, kv)
    op = choose_batch(workload, replica, request)
    if op is None:
        return None
    step = op.step
    busy = op.batch * op.prefill_s + request.output_tokens * step.total_s
    # Share of time a roofline (compute or memory) is busy; collectives count as idle silicon.
    roofline_s = op.batch * op.prefill_s + request.output_tokens * max(
        step.memory_s, step.compute_s
    )
    utilisation = min(1.0, roofline_s / busy) if busy > 0 else 0.0
    out = op.output_tokens_per_s / parts
    watts = _power_w(part, utilisation)
    return ServingEstimate(
        part=part.id,
        workload=workload.id,
        precision=precision,
        kv_precision=kv,
        parts_per_replica=parts,
        batch=op.batch,
        prefill_tokens_per_s_per_part=request.input_tokens / op.prefill_s / parts,
        decode_tokens_per_s_per_part=op.batch / step.total_s / parts,
        output_tokens_per_s_per_part=out,
        input_tokens_per_s_per_part=out * request.input_tokens / request.output_tokens,
        total_tokens_per_s_per_part=out * (1 + request.input_tokens / request.output_tokens),
        ttft_s=op.ttft_s,
        tpot_s=op.tpot_s,
        decode_step_s=step.total_s,
        utilisation_fraction=utilisation,
        watts_per_part=watts,
        joules_per_output_token=watts / out,
        cost_per_million_output_tokens=cost_per_million_output_tokens(
            part, watts, out, request.economics
        ),
        currency=part.price_currency,
        bound=_bound(op),
        step_bound=_step_bound(op),
        source="model",
        efficiency=eff,
        concurrency=request.concurrency,
    )


def _check_request(request: ServingRequest, workload: WorkloadLike) -> None:
    problems = []
    if request.input_tokens < 1:
        problems.append(("input_tokens", "a prompt of at least 1 token", "--input-tokens 1000"))
    if request.output_tokens < 1:
        problems.append(("output_tokens", "at least 1 output token", "--output-tokens 300"))
    if request.parts_per_replica is not None and request.parts_per_replica < 1:
        problems.append(("parts_per_replica", "at least 1 part", "--parts-per-replica 1"))
    for name, value in (("ttft_s", request.ttft_s), ("tpot_s", request.tpot_s)):
        if value is not None and not value > 0:
            problems.append((name, "a positive latency target", "a value > 0 ms"))
    if problems:
        name, want, fix = problems[0]
        raise InputError.one("request", name, f"the request needs {want}.", f"write {fix}.")
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
    the scale-up domain is tried and the one with the most output tokens/s per part is kept
    (the smaller on a tie). Raises InputError when no replica fits or no batch meets the targets.
    """
    _check_request(request, workload)
    precision, kv = _precisions(part, workload, request)
    fewest = smallest_fitting_parts(part, workload, request, precision, kv)
    if request.parts_per_replica is not None:
        sizes = [request.parts_per_replica]
    else:
        domain = part.scale_up_domain_parts or 1
        sizes = [n for n in replica_sizes(part) if fewest and n >= fewest]
        sizes = [n for n in sizes if n <= max(domain, fewest or 0)] or sizes[:1]
    best: ServingEstimate | None = None
    for parts in sizes:
        got = _estimate_at(part, workload, request, efficiency, parts, precision, kv)
        if got is not None and (
            best is None or got.output_tokens_per_s_per_part > best.output_tokens_per_s_per_part
        ):
            best = got
    if best is not None:
        return best
    raise _no_fit(part, workload, request, efficiency, sizes, fewest, precision, kv)


def _no_fit(
    part: Part,
    workload: WorkloadLike,
    request: ServingRequest,
    eff: Efficiency,
    sizes: list[int],
    fewest: int | None,
    precision: str,
    kv: str,
) -> InputError:
    """Explain why nothing fits: too little memory, or a latency target out of reach."""
    fits = [n for n in sizes if fewest is not None and n >= fewest]
    if not fits:
        need = f"more than {MAX_REPLICA_PARTS}" if fewest is None else str(fewest)
        tried = ", ".join(str(n) for n in sizes) or "none"
        return InputError.one(
            "--parts-per-replica" if request.parts_per_replica else part.path,
            "parts_per_replica" if request.parts_per_replica else "memory_capacity",
            f"{workload.id} at {precision} weights does not fit a replica of {tried} x {part.id}: "
            f"it needs at least {need} parts ({part.id} memory less a "
            f"{request.memory_reserve_fraction:.0%} reserve).",
            f"use --parts-per-replica {need}, a lower precision, or a part with more memory.",
        )
    best_tpot, best_ttft = math.inf, math.inf
    for parts in fits:
        replica = _replica(part, workload, request, eff, parts, precision, kv)
        op = _operate(workload, replica, request, 1)
        best_tpot, best_ttft = min(best_tpot, op.tpot_s), min(best_ttft, op.ttft_s)
    return InputError.one(
        "request",
        "tpot_ms/ttft_ms",
        f"no batch of {workload.id} on {part.id} meets the targets: the best achievable is "
        f"TPOT {best_tpot * 1e3:.1f} ms and TTFT {best_ttft * 1e3:.0f} ms (at batch 1).",
        "relax --tpot-ms/--ttft-ms, shorten the prompt, or add parts per replica.",
    )
