"""What the serving model is asked and what it answers (docs/serving.md, notation).

`ServingRequest` is the question: request shape, latency targets, concurrency, precision,
speculative decoding and whether only the decode phase is served (a disaggregated decode
instance). `ServingEstimate` is the answer per part. `Economics` turns watts and capex into a cost
per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeGuard

from planner.serving.efficiency import Efficiency
from planner.serving.formats import BYTES_PER_ELEMENT as BYTES_PER_ELEMENT
from planner.serving.formats import SERVING_PRECISIONS as SERVING_PRECISIONS
from planner.serving.formats import SIXTEEN_BIT_TWIN as SIXTEEN_BIT_TWIN

Bound = Literal["compute", "memory", "interconnect", "overhead", "latency"]
Parallel = Literal["tp", "ep", "tep"]


def is_parallel(name: str | None) -> TypeGuard[Parallel]:
    """Whether `name` is a parallel layout: tensor ("tp"), expert with data-parallel attention
    ("ep") or expert with tensor-parallel attention ("tep")."""
    return name in ("tp", "ep", "tep")


# The largest batch the model considers per part (device) when no concurrency is asked: in
# effect, no cap (a replica of n devices may hold n x MAX_BATCH sequences).
MAX_BATCH = 4096


class WorkloadLike(Protocol):
    """The fields of `planner.serving.workloads.Workload` the serving model reads (read-only:
    a frozen dataclass satisfies it)."""

    @property
    def id(self) -> str:
        """The workload profile id."""

    @property
    def kind(self) -> str:
        """'llm' or 'video'."""

    @property
    def total_params(self) -> float:
        """Parameters held in memory, all experts included."""

    @property
    def active_params(self) -> float:
        """Parameters one token passes through."""

    @property
    def dense_params(self) -> float:
        """Parameters outside the routed experts (attention, shared experts, embeddings)."""

    @property
    def routed_expert_params(self) -> float:
        """Parameters of all routed experts together."""

    @property
    def layers(self) -> int:
        """Transformer layers."""

    @property
    def hidden_size(self) -> int:
        """Width of the residual stream."""

    @property
    def attention_heads(self) -> int:
        """Query heads per layer."""

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""

    @property
    def experts(self) -> int | None:
        """Routed experts per MoE layer (None for a dense model)."""

    @property
    def experts_per_token(self) -> int | None:
        """Routed experts each token visits (None for a dense model)."""

    @property
    def moe_layers(self) -> int | None:
        """Layers with routed experts (None: every layer, for a MoE model)."""

    @property
    def weight_precision(self) -> str:
        """The precision the weights are served at, e.g. fp8."""

    @property
    def kv_precision(self) -> str:
        """The precision the KV cache is kept at."""

    def kv_bytes_per_token(self, kv_bytes_per_element: float) -> float:
        """Bytes of KV cache one token holds, all layers, at `kv_bytes_per_element`."""


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


@dataclass(frozen=True)
class Speculative:
    """Speculative decoding (e.g. DeepSeek's multi-token prediction, MTP): `draft_tokens` k
    proposed per step, each accepted with probability `acceptance_fraction` p given the previous
    one was. Tokens emitted per verification step: a = 1 + p + ... + p^k (S7)."""

    draft_tokens: int
    acceptance_fraction: float

    @property
    def tokens_per_step(self) -> float:
        """Mean tokens emitted per verification step, the bonus token included."""
        return sum(self.acceptance_fraction**i for i in range(self.draft_tokens + 1))


@dataclass(frozen=True)
class Disaggregation:
    """A prefill/decode-disaggregated system: parts given to prefill and to decode (S8)."""

    prefill_parts: int
    decode_parts: int

    @property
    def parts(self) -> int:
        """Parts of one disaggregated system: prefill plus decode."""
        return self.prefill_parts + self.decode_parts


@dataclass(frozen=True)
class ServingRequest:
    """What the service must deliver: request shape, latency targets, load and precision."""

    input_tokens: int = 1000
    output_tokens: int = 300
    ttft_s: float | None = None
    tpot_s: float | None = None
    precision: str | None = None  # weights; None = the best the part and the workload allow
    kv_precision: str | None = None  # None = fp8 for 8-bit or 4-bit weights, else the weights'
    # The attention projections' weights; None = as the workload's published checkpoint at the
    # weights' precision keeps them (its attention_precision), else the weights'.
    attention_precision: str | None = None
    parts_per_replica: int | None = None  # None = the best of the replicas that fit
    system_parts: int | None = None  # parts the whole system has (caps a replica); None = any
    # Share of the memory the weights leave that is kept out of the KV cache (activations, runtime
    # buffers): TensorRT-LLM's default KV cache free_gpu_memory_fraction 0.9 (docs/serving.md).
    memory_reserve_fraction: float = 0.10
    max_batch: int | None = None  # requests in flight per replica; None = as many as fit
    # Prompt tokens prefilled per forward pass (one weight read per chunk): TensorRT-LLM's default
    # max_num_tokens, 8,192 (NVIDIA NeMo Export-Deploy, TensorRTLLMAPIDeployable, max_num_tokens
    # = 8192; docs/serving.md S3). An estimate for other engines (same order).
    prefill_chunk_tokens: int = 8192
    speculative: Speculative | None = None  # None = one token per step
    decode_only: bool = False  # a disaggregated decode instance: prefill runs elsewhere
    # A whole disaggregated system (prefill and decode parts); None = prefill and decode share
    # the replica (or decode_only). Rates are then per part of the whole system (S8).
    disaggregated: Disaggregation | None = None
    parallel: Parallel | None = None  # None = the better of tensor and expert parallel
    # "ep": devices per data-parallel attention group, its attention split among them by head
    # (SGLang's --tp-size / --dp-size); None = 1, attention wholly data-parallel.
    attention_tensor_parallel: int | None = None
    # Parts in one scale-up domain of the serving system; None = the part's (its profile).
    scale_up_domain_parts: int | None = None
    economics: Economics = field(default_factory=Economics)

    @property
    def concurrency(self) -> int | None:
        """Requests in flight per replica asked for; None = as many as memory and targets allow
        (the offline maximum without targets)."""
        return self.max_batch


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
    step_bound: Bound  # the term binding the decode step, even when a target cut the batch
    source: Literal["model", "measured"]
    efficiency: Efficiency
    error_band_fraction: float | None = None
    error_band_basis: str = ""
    measurement_id: str | None = None
    closest_measurement: str | None = None  # with a model answer: the nearest measured row
    concurrency: int | None = None  # requests in flight per replica asked for; None = most
    parallel: str = ""  # the configuration chosen, e.g. "TP8" or "DP16 attention + EP16"
    precision_basis: str = ""  # why this precision (asked, or the best both allow)
    step_terms_s: Mapping[Bound, float] = field(default_factory=dict, compare=False)
    decode_only: bool = False
    speculative_tokens_per_step: float = 1.0
    # The accelerator alone (its own power sensor), W; watts_per_part adds the server's share.
    accelerator_watts_per_part: float = 0.0
    attention_precision: str = ""  # the attention projections' weights ("" = precision's)
    # With a measured answer, the model's own output rate at the asked conditions: the batch,
    # phase rates, latencies and step terms beside it stay the model's. None = the model answered.
    replaced_model_tokens_per_s_per_part: float | None = None

    @property
    def model_output_tokens_per_s_per_part(self) -> float:
        """The model's output tokens/s per part, whether or not a measured row answered."""
        replaced = self.replaced_model_tokens_per_s_per_part
        return self.output_tokens_per_s_per_part if replaced is None else replaced

    @property
    def accelerator_joules_per_output_token(self) -> float:
        """J per output token at the accelerator alone (as ML.ENERGY measures it)."""
        return self.accelerator_watts_per_part / self.output_tokens_per_s_per_part

    @property
    def tokens_per_s(self) -> float:
        """Output tokens per second per part (the capacity plan's throughput figure)."""
        return self.output_tokens_per_s_per_part
