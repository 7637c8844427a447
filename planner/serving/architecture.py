"""Parameter counts of a decoder-only LLM from its architecture (docs/workloads.md).

`decoder_params(shape)` splits a model's parameters into always-read (dense) and routed-expert
ones, from the figures of its config.json; the workload loader checks them against the
publisher's totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Ffn = Literal["swiglu", "gelu"]


@dataclass(frozen=True)
class ParamCounts:
    """Parameter counts of one model (counts, not billions)."""

    total: float
    active: float
    dense: float
    routed_experts: float
    attention: float = 0.0  # the attention projections of every layer (within dense)
    head: float = 0.0  # the output head, vocab x hidden (within dense; the table itself if tied)
    input_embedding: float = 0.0  # an untied input table (within dense): looked up, not read


def ffn_params(hidden_size: int, ffn_size: int, ffn: Ffn = "swiglu") -> int:
    """One feed-forward block: SwiGLU has gate, up and down matrices (3 d f, no biases);
    a GELU MLP has two matrices with biases (2 d f + f + d)."""
    if ffn == "swiglu":
        return 3 * hidden_size * ffn_size
    return 2 * hidden_size * ffn_size + ffn_size + hidden_size


def gqa_attention_params(
    hidden_size: int, heads: int, kv_heads: int, head_dim: int, *, qkv_bias: bool, qk_norm: bool
) -> int:
    """Grouped-query attention: W_q (d x H h), W_k and W_v (d x G h), W_o (H h x d).

    Optional q/k/v biases (H h + 2 G h) and per-head RMSNorm on q and k (2 h).
    """
    q, kv = heads * head_dim, kv_heads * head_dim
    params = hidden_size * q + 2 * hidden_size * kv + q * hidden_size
    if qkv_bias:
        params += q + 2 * kv
    if qk_norm:
        params += 2 * head_dim
    return params


def mla_attention_params(
    hidden_size: int,
    heads: int,
    q_lora_rank: int | None,
    kv_lora_rank: int,
    qk_nope_head_dim: int,
    qk_rope_head_dim: int,
    v_head_dim: int,
) -> int:
    """Multi-head latent attention (DeepSeek-V2/V3).

    Queries: d x r_q down, RMSNorm r_q, r_q x H (h_nope + h_rope) up (or d x H (..) if no r_q).
    Keys/values: d x (r_kv + h_rope) down (latent plus shared RoPE key), RMSNorm r_kv,
    r_kv x H (h_nope + h_v) up. Output: H h_v x d.
    """
    qk_head = qk_nope_head_dim + qk_rope_head_dim
    if q_lora_rank:
        q = hidden_size * q_lora_rank + q_lora_rank + q_lora_rank * heads * qk_head
    else:
        q = hidden_size * heads * qk_head
    kv = (
        hidden_size * (kv_lora_rank + qk_rope_head_dim)
        + kv_lora_rank
        + kv_lora_rank * heads * (qk_nope_head_dim + v_head_dim)
    )
    return q + kv + heads * v_head_dim * hidden_size


@dataclass(frozen=True)
class DecoderShape:
    """The figures a decoder-only LLM's parameter count needs (all dimensionless)."""

    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    dense_ffn_size: int | None = None
    tied_embeddings: bool = False
    qkv_bias: bool = False
    qk_norm: bool = False
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_nope_head_dim: int | None = None
    qk_rope_head_dim: int | None = None
    v_head_dim: int | None = None
    experts: int | None = None
    experts_per_token: int | None = None
    shared_experts: int = 0
    expert_ffn_size: int | None = None
    moe_layers: int = 0


def decoder_params(s: DecoderShape) -> ParamCounts:
    """Parameters of a decoder-only transformer, split into always-read and routed-expert ones.

    total  = embeddings + head + layers x (attention + 2 norms) + final norm
             + dense layers x FFN + MoE layers x (router + shared experts + E routed experts)
    active = total - MoE layers x (E - k) x expert FFN
    """
    if s.kv_lora_rank is not None:
        attention = mla_attention_params(
            s.hidden_size,
            s.attention_heads,
            s.q_lora_rank,
            s.kv_lora_rank,
            s.qk_nope_head_dim or 0,
            s.qk_rope_head_dim or 0,
            s.v_head_dim or 0,
        )
    else:
        attention = gqa_attention_params(
            s.hidden_size,
            s.attention_heads,
            s.kv_heads,
            s.head_dim,
            qkv_bias=s.qkv_bias,
            qk_norm=s.qk_norm,
        )
    embeddings = s.vocab_size * s.hidden_size * (1 if s.tied_embeddings else 2)
    dense = embeddings + s.layers * (attention + 2 * s.hidden_size) + s.hidden_size
    dense_layers = s.layers - s.moe_layers
    if dense_layers:
        dense += dense_layers * ffn_params(s.hidden_size, s.dense_ffn_size or 0)
    routed = active_routed = 0
    if s.moe_layers:
        expert = ffn_params(s.hidden_size, s.expert_ffn_size or 0)
        router = s.hidden_size * (s.experts or 0)
        dense += s.moe_layers * (router + s.shared_experts * expert)
        routed = s.moe_layers * (s.experts or 0) * expert
        active_routed = s.moe_layers * (s.experts_per_token or 0) * expert
    return ParamCounts(
        total=float(dense + routed),
        active=float(dense + active_routed),
        dense=float(dense),
        routed_experts=float(routed),
        attention=float(s.layers * attention),
        head=float(s.vocab_size * s.hidden_size),
        input_embedding=float(0 if s.tied_embeddings else s.vocab_size * s.hidden_size),
    )
