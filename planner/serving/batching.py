"""Continuous batching and the batch a replica runs at (docs/serving.md, S4, S5 and S7).

At a batch of B sequences a replica interleaves prefills with decode cycles:
busy(B) = B t_pf + (L_out / a) t_cycle(B), output tokens/s = B L_out / busy(B),
TPOT = busy / L_out, TTFT = t_pf + t_cycle. The batch is the largest B within memory that
meets the latency targets, or that B cut to whole rounds of the data-parallel attention groups
or of the parts when that serves more (a step costs its fullest group's and fullest part's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.serving.request import ServingRequest, WorkloadLike
from planner.serving.step import Replica, Step, batch_rounds, decode_step, head_s, prefill_s


@dataclass(frozen=True)
class Operating:
    """One operating point: batch, decode cycle and the latencies and throughput it gives."""

    batch: int
    step: Step  # the verification step (q = 1 + k tokens per sequence)
    cycle_s: float  # one decode cycle: verification plus drafting (= step without drafts)
    tokens_per_cycle: float  # a: tokens emitted per sequence per cycle
    prefill_s: float
    busy_s: float  # replica time to serve B requests end to end
    tpot_s: float
    ttft_s: float
    output_tokens_per_s: float  # per replica
    latency_limited: bool


def decode_cycle(
    workload: WorkloadLike, replica: Replica, request: ServingRequest, batch: int
) -> tuple[Step, float, float]:
    """(S7) one decode cycle at `batch`: (verification step, cycle seconds, tokens emitted per
    sequence). Without speculative decoding: (step, step time, 1)."""
    context = request.input_tokens + request.output_tokens / 2.0
    spec = request.speculative
    if spec is None or spec.draft_tokens == 0:
        step = decode_step(workload, replica, batch, context)
        return step, step.total_s, 1.0
    step = decode_step(workload, replica, batch, context, 1.0 + spec.draft_tokens)
    head = head_s(workload, replica, batch)
    body_s = decode_step(workload, replica, batch, context).total_s - head
    draft_s = body_s / workload.layers + head  # one layer, then the shared head's logits
    return step, step.total_s + spec.draft_tokens * draft_s, spec.tokens_per_step


def operate(
    workload: WorkloadLike,
    replica: Replica,
    request: ServingRequest,
    batch: int,
    prefill: float | None = None,
) -> Operating:
    """(S4) continuous batching at `batch`: prefills interleave with decode cycles. `prefill`:
    one prompt's prefill seconds when the caller has them (they do not depend on the batch)."""
    step, cycle, emitted = decode_cycle(workload, replica, request, batch)
    pf = prefill
    if pf is None:
        pf = prefill_s(workload, replica, request.input_tokens, request.prefill_chunk_tokens)
    out = request.output_tokens
    decode = out / emitted * cycle
    busy = decode if request.decode_only else batch * pf + decode
    return Operating(
        batch=batch,
        step=step,
        cycle_s=cycle,
        tokens_per_cycle=emitted,
        prefill_s=pf,
        busy_s=busy,
        tpot_s=busy / out,
        ttft_s=pf + cycle,
        output_tokens_per_s=batch * out / busy,
        latency_limited=False,
    )


def meets_targets(op: Operating, request: ServingRequest) -> bool:
    """TTFT (not a disaggregated decode instance's: its prefill runs elsewhere) and TPOT."""
    ttft_ok = request.ttft_s is None or request.decode_only or op.ttft_s <= request.ttft_s
    return ttft_ok and (request.tpot_s is None or op.tpot_s <= request.tpot_s)


def fullest_rounds(
    workload: WorkloadLike, replica: Replica, request: ServingRequest, batch: int, pf: float
) -> Operating:
    """`batch`, or `batch` cut to whole rounds of the attention groups or of the parts, whichever
    serves the most output tokens/s (ties keep `batch`). Between those cuts the step time is
    constant, so no other smaller batch serves more; a smaller batch meets any target `batch`
    meets (the step never shortens as the batch grows)."""
    sizes = dict.fromkeys([batch, *(batch - batch % r for r in batch_rounds(replica))])
    ops = [operate(workload, replica, request, b, pf) for b in sizes if b > 0]
    return max(ops, key=lambda op: op.output_tokens_per_s)


def choose_batch(
    workload: WorkloadLike, replica: Replica, request: ServingRequest, limit: int
) -> Operating | None:
    """(S5) the largest batch within the memory limit meeting TTFT and TPOT (both rise with the
    batch), at its fullest rounds; None when even a batch of 1 misses a target or no sequence
    fits. A limit set by the request's concurrency (a measured run's) is kept as it is."""
    if limit < 1:
        return None
    pf = prefill_s(workload, replica, request.input_tokens, request.prefill_chunk_tokens)
    best = operate(workload, replica, request, limit, pf)
    if meets_targets(best, request):
        if request.max_batch is not None and limit >= request.max_batch:
            return best
        return fullest_rounds(workload, replica, request, limit, pf)
    if not meets_targets(operate(workload, replica, request, 1, pf), request):
        return None
    low, high = 1, limit  # low meets, high does not
    while high - low > 1:
        mid = (low + high) // 2
        if meets_targets(operate(workload, replica, request, mid, pf), request):
            low = mid
        else:
            high = mid
    return replace(fullest_rounds(workload, replica, request, low, pf), latency_limited=True)
