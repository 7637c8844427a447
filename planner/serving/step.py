"""One decode step and one prefill on a replica: the step-time model with fixed costs.

Equations (S2, S3, S7) and their notation are in docs/serving.md. Per part of a replica of n parts
at a batch of B sequences, each verifying q tokens per step (q = 1 without speculative decoding),
at mean context c:

    t_step = l tau + l_moe X tau_x
             + sum over kernels of max(bytes / (BW e_bw e), flops / (F e_f e)) + t_comm

- l tau: the launch and synchronisation floor, tau per layer (kernel launches, norms, routing:
  the small kernels that never reach a roofline);
- l_moe X tau_x: expert loading. X = E (1 - (1 - k/E)^(B q)) / (parts holding distinct experts)
  experts are read by one part in each MoE layer, each costing tau_x beyond its bytes (a grouped
  GEMM's per-expert tile ramp): it grows with the batch until every expert is touched;
- kernels: the dense matrices (always read; e = 1), the routed experts (the touched share of
  them; e = e_x, the share of the dense kernels' efficiency grouped expert GEMMs reach) and
  attention (the KV cache read, QK and AV products; e = 1). Each runs at its own roofline: a
  memory-bound attention does not hide under a compute-bound GEMM;
- t_comm: tensor-parallel all-reduces (2 per layer, each one-shot or two-shot, whichever is
  faster: one synchronisation and every peer's message, or two and a ring's bytes),
  expert-parallel all-to-alls (dispatch and combine per MoE layer) and pipeline hand-offs.

Three parallel layouts: "tp" splits every matrix over t = min(n, scale-up domain) parts (pipeline
stages beyond the domain); "ep" (MoE only) keeps attention data-parallel (each part holds the
dense weights and its own B/n sequences) and spreads the routed experts over all n parts; "tep"
(MoE only, within one scale-up domain) splits attention and the dense matrices over the n parts as
"tp" does and places whole routed experts, E/n on each part, as "ep" does: vLLM's
`--enable-expert-parallel` and TensorRT-LLM's `--tp n --ep n` without attention DP. Its bytes,
FLOPs and all-reduces are those of "tp"; only the experts a part reads (and their tau_x) are
those of "ep".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.serving.request import Bound, Parallel, WorkloadLike

ACTIVATION_BYTES = 2.0  # activations exchanged between parts travel in bf16
# The output head (lm_head) and the embedding table stay in 16 bits in quantised checkpoints:
# NVIDIA ModelOpt's default configs disable '*lm_head*' (modelopt/torch/quantization/config.py,
# _default_disabled_quantizer_cfg) and quantise only linear layers; DeepSeek-V3's inference code
# builds its head at the default dtype (inference/model.py); Huawei's msModelSlim keeps the last
# layer unquantised by default (QuantConfig disable_last_layer=True).
HEAD_BYTES_PER_PARAM = 2.0
HEAD_KERNEL = 2  # the head's place in step_kernels: rest, projections, head, experts, KV
COMBINE_BYTES = 2.0  # expert outputs return in bf16 (DeepEP's combine)


@dataclass(frozen=True)
class Replica:
    """The fixed quantities of one replica of `parts` parts in one parallel layout; rates are
    per part and already multiplied by their efficiency fractions."""

    parts: int
    parallel: Parallel
    tensor_parallel: int  # t: parts sharing each dense matrix ("ep": 1, attention is data-parallel)
    pipeline_stages: int  # s
    domain_parts: int  # parts in one scale-up domain
    weight_bytes_per_param: float
    dispatch_bytes: float  # bytes per activation element sent to the experts (fp8 or bf16)
    kv_bytes_per_token: float
    kv_replication: float  # copies of each KV entry across the tensor-parallel group
    flops_per_s: float  # per part
    bandwidth_bytes_per_s: float  # per part
    link_bytes_per_s: float  # per part, one direction
    scale_out_bytes_per_s: float  # per part, one direction
    usable_memory_bytes: float  # per replica
    layer_floor_s: float  # tau
    expert_fraction: float  # e_x, grouped expert GEMMs' share of e_f and e_bw
    expert_floor_s: float  # tau_x, per expert read per MoE layer
    collective_latency_s: float  # alpha within the scale-up domain
    scale_out_latency_s: float  # alpha across domains
    all_to_all_latency_s: float = 0.0  # alpha_a2a: the stack's own dispatch/combine cost; 0 = alpha
    # delta: each further peer's synchronisation in one collective (fitted per stack); a
    # synchronisation over t parts waits alpha + delta (t - 1), a one-shot all-reduce one of
    # them, a two-shot one two.
    collective_peer_latency_s: float = 0.0
    # A full-mesh domain's peers per part (each over 1 / peers of the link); 0 = switched
    mesh_peers: int = 0
    # Peak at the weights' precision / peak at the attention's (>= 1): attention multiplies
    # queries by cached keys and values at the KV cache's format (fp8) or in 16 bits, never in
    # the 4-bit or integer formats the weights may use, so its FLOPs cost this many weight FLOPs.
    attention_flop_scale: float = 1.0
    # The fewest token rows a dense GEMM computes (the family's tensor-core tile, calibration.yaml;
    # Hopper 64): fewer tokens on a part still pay that many rows of FLOPs. Expert GEMMs are left
    # unpadded: fused-MoE kernels take 16-row blocks when tokens <= experts.
    gemm_tile_rows: int = 1
    # The attention projections' bytes per parameter where a checkpoint keeps them apart from
    # the other weights (NVIDIA's NVFP4 DeepSeek-R1: BF16); 0 = the weights'. Their FLOPs cost
    # peak at the weights' compute / peak at theirs, in weight FLOPs.
    projection_bytes_per_param: float = 0.0
    projection_flop_scale: float = 1.0
    # Peak at the weights' compute precision / the 16-bit peak the output head multiplies at.
    head_flop_scale: float = 1.0
    # "ep": parts sharing one data-parallel attention group, its projections and heads split
    # among them (SGLang's --tp n --dp-size n/a); 1 = attention wholly data-parallel.
    attention_parallel: int = 1

    def describe(self) -> str:
        """The layout as deployments name it, e.g. 'TP8', 'TP8 x PP2', 'DP16 attention + EP16',
        'TP8 attention + EP8'."""
        if self.parallel == "tep":
            return f"TP{self.tensor_parallel} attention + EP{self.parts}"
        if self.parallel == "ep":
            where = " across scale-up domains" if self.parts > self.domain_parts else ""
            a = self.attention_parallel
            group = f" (TP{a} each)" if a > 1 else ""
            return f"DP{self.parts // a} attention{group} + EP{self.parts}{where}"
        text = f"TP{self.tensor_parallel}"
        return text + (f" x PP{self.pipeline_stages}" if self.pipeline_stages > 1 else "")


@dataclass(frozen=True)
class Step:
    """Decode-step timing terms at one batch, seconds: each kernel class at its roofline, split
    into the time bound by memory and the time bound by compute."""

    memory_s: float  # kernels bound by memory bandwidth
    compute_s: float  # kernels bound by compute
    collective_s: float
    overhead_s: float

    @property
    def roofline_s(self) -> float:
        """Seconds at the roofline: memory-bound plus compute-bound kernels."""
        return self.memory_s + self.compute_s

    @property
    def total_s(self) -> float:
        """Seconds of one decode step: fixed overhead, roofline and collectives."""
        return self.overhead_s + self.roofline_s + self.collective_s

    def terms(self) -> dict[Bound, float]:
        """Each term's seconds by name (memory, compute, interconnect, overhead)."""
        return {
            "memory": self.memory_s,
            "compute": self.compute_s,
            "interconnect": self.collective_s,
            "overhead": self.overhead_s,
        }


@dataclass(frozen=True)
class Kernel:
    """One class of kernels in a forward pass, per part: bytes moved and FLOPs done."""

    bytes: float
    flops: float
    efficiency: float = 1.0  # x the part's e_f and e_bw (e_x for expert GEMMs)


def rooflines(replica: Replica, kernels: list[Kernel]) -> tuple[float, float]:
    """(seconds bound by memory, seconds bound by compute) of kernels run one after another."""
    memory = compute = 0.0
    for k in kernels:
        t_mem = k.bytes / (replica.bandwidth_bytes_per_s * k.efficiency)
        t_flop = k.flops / (replica.flops_per_s * k.efficiency)
        if t_mem >= t_flop:
            memory += t_mem
        else:
            compute += t_flop
    return memory, compute


# ---------------------------------------------------------------- workload quantities


def experts_touched_fraction(workload: WorkloadLike, tokens: float) -> float:
    """Share of routed experts `tokens` tokens read under uniform routing: 1 - (1 - k/E)^tokens.

    Expected distinct experts touched = E (1 - (1 - k/E)^tokens): one token reads k of E, a large
    batch reads nearly all of them."""
    if not workload.experts or not workload.experts_per_token or workload.routed_expert_params <= 0:
        return 0.0
    miss = 1.0 - workload.experts_per_token / workload.experts
    return 1.0 - miss**tokens


def weights_touched_bytes(workload: WorkloadLike, tokens: float, bytes_per_param: float) -> float:
    """Weight bytes one decode step of `tokens` tokens reads, every weight at `bytes_per_param`:
    dense + routed x touched (S2; the step itself reads each module at its own precision)."""
    routed = workload.routed_expert_params * experts_touched_fraction(workload, tokens)
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


def moe_layers(workload: WorkloadLike) -> int:
    """Layers with routed experts (0 for a dense model)."""
    if not workload.experts or workload.routed_expert_params <= 0:
        return 0
    return workload.moe_layers or workload.layers


def is_moe(workload: WorkloadLike) -> bool:
    """True for a mixture-of-experts model (routed experts in some layers)."""
    return moe_layers(workload) > 0


def experts_read_per_part(workload: WorkloadLike, replica: Replica, tokens: float) -> float:
    """A part's share of the experts one MoE layer touches, E (1 - (1 - k/E)^tokens), in whole
    experts' worth of tiles: over the n parts under "ep" and "tep" (each holds E / n whole
    experts), over the t of the tensor-parallel group under "tp" (each holds a t-th slice of
    every expert, so a t-th of its tiles)."""
    touched = (workload.experts or 0) * experts_touched_fraction(workload, tokens)
    return touched / (replica.tensor_parallel if replica.parallel == "tp" else replica.parts)


def kv_replication(workload: WorkloadLike, tensor_parallel: int) -> float:
    """Copies of each cached token across a tensor-parallel group: heads split over t parts, so
    a model with fewer KV heads than t (MLA has one shared latent) stores each entry t / heads
    times."""
    heads = 1 if getattr(workload, "attention", "gqa") == "mla" else workload_kv_heads(workload)
    return max(1.0, tensor_parallel / heads)


def workload_kv_heads(workload: WorkloadLike) -> int:
    """KV heads of the workload; its attention heads when it has no grouped-query count."""
    return int(getattr(workload, "kv_heads", 0) or workload.attention_heads)


# ---------------------------------------------------------------- per-part loads


def sequences_per_part(replica: Replica, batch: int) -> float:
    """Sequences one part carries: all B under "tp" and "tep" (attention split by head),
    ceil(B / n) under "ep" (attention data-parallel)."""
    return math.ceil(batch / replica.parts) if replica.parallel == "ep" else batch


def sequences_per_group(replica: Replica, batch: int) -> float:
    """Sequences one attention group of a parts carries under "ep": ceil(B / (n / a)); each of
    its parts attends over all of them with 1/a of the heads."""
    return math.ceil(batch * replica.attention_parallel / replica.parts)


def batch_rounds(replica: Replica) -> tuple[int, ...]:
    """Under "ep" the batch is dealt to n / a attention groups (`sequences_per_group`) and to n
    parts (`sequences_per_part`), and a step costs the fullest's: a batch just past a whole
    multiple of either pays a round for its last few sequences. () under "tp" and "tep"."""
    if replica.parallel != "ep":
        return ()
    return (replica.parts // replica.attention_parallel, replica.parts)


def attention_params(workload: WorkloadLike) -> float:
    """The attention projections of every layer (within the dense parameters; 0 when unknown)."""
    return float(getattr(workload, "attention_params", 0.0) or 0.0)


def head_params(workload: WorkloadLike) -> float:
    """The output head, vocab x hidden (within the dense parameters; 0 when unknown)."""
    return float(getattr(workload, "head_params", 0.0) or 0.0)


def looked_up_params(workload: WorkloadLike) -> float:
    """An untied input embedding table (within the dense parameters): a step gathers one row
    per token from it and never reads it whole (0 when tied or unknown)."""
    return float(getattr(workload, "input_embedding_params", 0.0) or 0.0)


def dense_kernels(
    workload: WorkloadLike, replica: Replica, rows: float, share: float,
    reads: float = 1.0, head_rows: float | None = None,
) -> list[Kernel]:  # fmt: skip
    """The dense GEMMs of `rows` token rows (the head's of `head_rows`, default the same) on
    `share` of each dense matrix, the weights read `reads` times: the attention projections at
    their own precision, the output head at 16 bits (quantised checkpoints keep it so), both
    with FLOPs at their own peak; the other dense weights at the weights' precision. The input
    embedding is a lookup: neither read nor multiplied."""
    projections, head = attention_params(workload), head_params(workload)
    rest = workload.dense_params - projections - head - looked_up_params(workload)
    b_w = replica.weight_bytes_per_param
    b_p = replica.projection_bytes_per_param or b_w
    at_head = rows if head_rows is None else head_rows
    return [
        Kernel(rest * b_w * share * reads, 2.0 * rows * rest * share),
        Kernel(
            projections * b_p * share * reads,
            2.0 * rows * projections * share * replica.projection_flop_scale,
        ),
        Kernel(
            head * HEAD_BYTES_PER_PARAM * share * reads,
            2.0 * at_head * head * share * replica.head_flop_scale,
        ),
    ]


def step_kernels(
    workload: WorkloadLike, replica: Replica, batch: int, per_sequence: float, context: float
) -> list[Kernel]:
    """The dense GEMMs, expert GEMMs and attention of one step on one part, for `batch`
    sequences each verifying `per_sequence` tokens at mean context `context`; the dense GEMMs
    compute at least the family's tile of token rows."""
    b_w = replica.weight_bytes_per_param
    tokens = batch * per_sequence
    touched = experts_touched_fraction(workload, tokens)
    routed_active = workload.active_params - workload.dense_params
    kv = replica.kv_bytes_per_token * context * replica.kv_replication
    attention = attention_flops_per_token(workload, context) * replica.attention_flop_scale
    if replica.parallel != "ep":  # "tp", "tep": 1/n of each matrix (or of the experts), all tokens
        n, mine = replica.parts, tokens
        expert_bytes = workload.routed_expert_params * touched * b_w / n
        kv_bytes, attention_flops = batch * kv / n, tokens * attention / n
        share = 1.0 / n
    else:  # "ep": its own sequences through the MLPs and head; its group's through attention
        mine = sequences_per_part(replica, batch) * per_sequence
        a = replica.attention_parallel
        group = sequences_per_group(replica, batch)
        expert_bytes = workload.routed_expert_params * touched * b_w / replica.parts
        kv_bytes, attention_flops = group * kv / a, group * per_sequence * attention / a
        share = 1.0
    rows = max(mine, replica.gemm_tile_rows)  # a GEMM computes at least one tile of rows
    dense = dense_kernels(workload, replica, rows, share)
    if replica.parallel == "ep" and replica.attention_parallel > 1:
        group_rows = max(group * per_sequence, replica.gemm_tile_rows)
        dense[1] = dense_kernels(workload, replica, group_rows, 1.0 / a)[1]
    return [
        *dense,
        Kernel(expert_bytes, 2.0 * mine * routed_active * share, replica.expert_fraction),
        Kernel(kv_bytes, attention_flops),
    ]


def head_s(workload: WorkloadLike, replica: Replica, batch: int) -> float:
    """Seconds of one part's output-head GEMM for `batch` sequences, one token each, at its
    roofline: the logits of a step, and of each token a draft module drafts with the target's
    head (DeepSeek's MTP module shares it; S7)."""
    head = step_kernels(workload, replica, batch, 1.0, 0.0)[HEAD_KERNEL]
    memory, compute = rooflines(replica, [head])
    return memory + compute


def all_reduce_s(replica: Replica, tokens: float, group: int | None = None) -> float:
    """One all-reduce of `tokens` bf16 activations over the tensor-parallel group (or a `group`
    of that many parts): `all_reduce_time_s` at the replica's latencies and link."""
    t = replica.tensor_parallel if group is None else group
    return all_reduce_time_s(
        t,
        tokens * ACTIVATION_BYTES,
        replica.collective_latency_s,
        replica.collective_peer_latency_s,
        group_link_bytes_per_s(replica.link_bytes_per_s, t, replica.mesh_peers),
    )


def group_link_bytes_per_s(link_bytes_per_s: float, group: int, mesh_peers: int) -> float:
    """The link a collective over `group` parts reaches on each: the whole link behind a
    switch (`mesh_peers` 0), the group - 1 of its `mesh_peers` peer links in a full mesh."""
    if mesh_peers <= 0:
        return link_bytes_per_s
    return link_bytes_per_s * min(group - 1, mesh_peers) / mesh_peers


def all_reduce_time_s(
    parts: int, message_bytes: float, alpha_s: float, delta_s: float, link_bytes_per_s: float
) -> float:
    """One all-reduce of a `message_bytes` message on each of `parts` parts, by the faster of
    the two exchanges custom all-reduce kernels choose between by size: one-shot, each part
    reading every peer's whole message (one synchronisation, (t - 1) x message), and two-shot,
    a reduce-scatter then an all-gather (two synchronisations, a ring's 2 (t - 1) / t x
    message). A synchronisation waits alpha + delta (t - 1): each further peer adds its delta;
    the link is one part's, one direction."""
    t = parts
    if t <= 1:
        return 0.0
    sync = alpha_s + delta_s * (t - 1)
    one_shot = sync + (t - 1) * message_bytes / link_bytes_per_s
    two_shot = 2.0 * sync + 2.0 * (t - 1) / t * message_bytes / link_bytes_per_s
    return min(one_shot, two_shot)


def exchange_time_s(
    parts: int, sent_bytes: float, latency_s: float, link_bytes_per_s: float
) -> float:
    """One expert-parallel dispatch or combine inside a scale-up domain: each of `parts` parts
    sends `sent_bytes` (its tokens x k routes x hidden x bytes), a share (n - 1) / n of it to
    other parts, over its link (one direction) after a fixed `latency_s`."""
    if parts <= 1:
        return latency_s
    return latency_s + sent_bytes * (parts - 1) / parts / link_bytes_per_s


def all_to_all_s(workload: WorkloadLike, replica: Replica, tokens_per_part: float) -> float:
    """Dispatch and combine of one MoE layer under "ep": each token goes to k experts, a share
    (n - 1) / n of them on other parts; the part beyond the scale-up domain crosses scale-out."""
    n = replica.parts
    k = workload.experts_per_token or 0
    routes = tokens_per_part * k * workload.hidden_size  # elements each part sends
    inside = min(n, replica.domain_parts)
    link = group_link_bytes_per_s(replica.link_bytes_per_s, inside, replica.mesh_peers)
    far = 0.0
    latency = replica.collective_latency_s
    if n > replica.domain_parts:
        far_bytes = routes * (replica.dispatch_bytes + COMBINE_BYTES) * (n - inside) / n
        far = far_bytes / replica.scale_out_bytes_per_s
        latency = replica.scale_out_latency_s
    latency = max(latency, replica.all_to_all_latency_s)
    # inside the domain: the inside / n of the routes that land there, exchanged among `inside`
    share = inside / n
    dispatch = exchange_time_s(inside, routes * replica.dispatch_bytes * share, latency, link)
    combine = exchange_time_s(inside, routes * COMBINE_BYTES * share, latency, link)
    return dispatch + combine + far


def collective_s(workload: WorkloadLike, replica: Replica, tokens: float) -> float:
    """All communication of one forward pass over `tokens` tokens of the replica (S2):
    2 all-reduces per layer ("tp" and "tep", message tokens x H: after attention and after the
    experts, whose partial outputs every part sums), 2 all-to-alls per MoE layer ("ep") and,
    with attention groups of a > 1 parts, one all-reduce per layer of the group's tokens within
    each (its heads' outputs summed), and (s - 1) pipeline hand-offs over the scale-out link."""
    h = workload.hidden_size
    if replica.parallel == "ep":
        moe = moe_layers(workload)
        seconds = moe * all_to_all_s(workload, replica, tokens / replica.parts) if moe else 0.0
        a = replica.attention_parallel  # each layer's attention output summed in its group
        group_tokens = tokens * a / replica.parts
        return seconds + workload.layers * all_reduce_s(replica, group_tokens * h, a)
    if replica.tensor_parallel > 1 and replica.link_bytes_per_s <= 0:
        return math.inf
    if replica.pipeline_stages > 1 and replica.scale_out_bytes_per_s <= 0:
        return math.inf
    seconds = 2.0 * workload.layers * all_reduce_s(replica, tokens * h)
    if replica.pipeline_stages > 1:
        hand_off = tokens * h * ACTIVATION_BYTES / replica.scale_out_bytes_per_s
        seconds += (replica.pipeline_stages - 1) * (replica.scale_out_latency_s + hand_off)
    return seconds


# ---------------------------------------------------------------- step and prefill


def decode_step(
    workload: WorkloadLike,
    replica: Replica,
    batch: int,
    context_tokens: float,
    tokens_per_sequence: float = 1.0,
) -> Step:
    """(S2) one decode step of `batch` sequences at mean context `context_tokens`, each verifying
    `tokens_per_sequence` tokens (1 + draft tokens under speculative decoding, S7)."""
    kernels = step_kernels(workload, replica, batch, tokens_per_sequence, context_tokens)
    memory, compute = rooflines(replica, kernels)
    floor = workload.layers * replica.layer_floor_s
    experts = experts_read_per_part(workload, replica, batch * tokens_per_sequence)
    floor += moe_layers(workload) * experts * replica.expert_floor_s
    return Step(
        memory_s=memory,
        compute_s=compute,
        collective_s=collective_s(workload, replica, batch * tokens_per_sequence),
        overhead_s=floor,
    )


def prefill_s(
    workload: WorkloadLike, replica: Replica, input_tokens: int, chunk_tokens: float
) -> float:
    """(S3) prefill of one prompt, in replica time, over all n parts: each kernel class at its
    roofline plus its collectives. Prompts are prefilled in chunks of `chunk_tokens` tokens
    (several prompts, or pieces of one, per forward pass), each chunk reading the weights once:
    a prompt of L tokens reads them L / chunk times. Chunks ride inside the decode steps'
    forward passes, so they add no launch floor of their own."""
    n = replica.parts
    routed_active = workload.active_params - workload.dense_params
    tokens, b_w = input_tokens, replica.weight_bytes_per_param
    reads = tokens / chunk_tokens  # weight reads this prompt's share of the chunks costs
    kernels = [
        # logits for each prompt's last token only
        *dense_kernels(workload, replica, tokens, 1.0 / n, reads, head_rows=1.0),
        Kernel(
            workload.routed_expert_params * b_w * reads / n,
            2.0 * tokens * routed_active / n,
            replica.expert_fraction,
        ),
        Kernel(
            0.0,
            tokens
            * attention_flops_per_token(workload, tokens / 2.0)
            * replica.attention_flop_scale
            / n,
        ),
    ]
    memory, compute = rooflines(replica, kernels)
    return memory + compute + collective_s(workload, replica, input_tokens)
